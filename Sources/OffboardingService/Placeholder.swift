enum PlaceholderOffboardingService {}
