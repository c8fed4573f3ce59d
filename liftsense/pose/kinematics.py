"""Kinematic fault cues per frame, from normalised kept landmarks (y pointing down, as in images and squat_3d).

These are what coaches look at: squat depth, knees caving relative to the feet, heels or toes lifting, trunk lean.
Used as clip-level baseline features and, optionally (`features.kinematic`), as extra per-frame model inputs.
"""

from __future__ import annotations

import numpy as np

from liftsense.pose.landmarks import KEPT

KINEMATIC_NAMES: tuple[str, ...] = (
    "depth",
    "knee_ankle_width_ratio",
    "heel_minus_toe_height",
    "trunk_lean",
    "hip_height",
)


def kinematic_cues(xyz: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame fault cues on canonical coordinates (y down, torso = 1): depth, knee/ankle width, foot tilt, lean."""
    k = lambda name: xyz[:, KEPT[name]]  # noqa: E731
    hip_y = 0.5 * (k("left_hip")[:, 1] + k("right_hip")[:, 1])
    knee_y = 0.5 * (k("left_knee")[:, 1] + k("right_knee")[:, 1])
    ankle_w = np.linalg.norm(k("left_ankle")[:, [0, 2]] - k("right_ankle")[:, [0, 2]], axis=1)
    knee_w = np.linalg.norm(k("left_knee")[:, [0, 2]] - k("right_knee")[:, [0, 2]], axis=1)
    heel_y = 0.5 * (k("left_heel")[:, 1] + k("right_heel")[:, 1])
    toe_y = 0.5 * (k("left_foot_index")[:, 1] + k("right_foot_index")[:, 1])
    trunk = 0.5 * (k("left_shoulder") + k("right_shoulder")) - 0.5 * (k("left_hip") + k("right_hip"))
    lean = np.degrees(np.arctan2(np.linalg.norm(trunk[:, [0, 2]], axis=1), -trunk[:, 1]))
    return {
        "depth": knee_y - hip_y,  # y down: small or negative when the hips sink to the knees
        # bounded: in a pure side view the ankles overlap and the ratio would explode
        "knee_ankle_width_ratio": np.clip(knee_w / np.maximum(ankle_w, 1e-6), 0.0, 5.0),
        "heel_minus_toe_height": toe_y - heel_y,  # > 0 when the heel is higher than the toe
        "trunk_lean": lean,
        "hip_height": -hip_y,
    }
