"""Pose: landmarks, joint angles, normalisation, windows, motion synthesis and extraction.

Public API: `PoseEstimator` (one BlazePose graph: a BGR frame in, image and world landmarks out) and
`ExtractionError`; the rest is reached through its modules.
"""

from liftsense.pose.extract import ExtractionError, PoseEstimator

__all__ = ["ExtractionError", "PoseEstimator"]
