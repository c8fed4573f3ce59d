"""Dataset loaders (built-in synthetic, real squat and push-up data, user landmark tables) and group splits."""
