enum PlaceholderPSAConnectWise {}
