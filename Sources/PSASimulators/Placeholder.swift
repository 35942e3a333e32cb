enum PlaceholderPSASimulators {}
