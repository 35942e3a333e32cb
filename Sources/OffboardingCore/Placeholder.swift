enum PlaceholderOffboardingCore {}
