"""Pose: landmarks, joint angles, normalisation, windows, motion synthesis and extraction."""
