"""LiftSense domain library."""
