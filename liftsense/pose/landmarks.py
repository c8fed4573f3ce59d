"""The one table of landmarks and joint angles that every feature in LiftSense is built from.

BlazePose gives 33 landmarks; the paper keeps 17 of them (x, y, z: 51 values) and adds 10 joint angles.
Everything else (feature names, angle computation, dataset mapping) is derived from these tables.
"""

from __future__ import annotations

from typing import NamedTuple

BLAZEPOSE_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
N_BLAZEPOSE = len(BLAZEPOSE_NAMES)
BP = {name: i for i, name in enumerate(BLAZEPOSE_NAMES)}

#: The paper's 17 landmarks: nose, shoulders, elbows, wrists, hips, knees, ankles, heels, foot index.
KEPT_LANDMARKS: tuple[int, ...] = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32)
KEPT_NAMES: tuple[str, ...] = tuple(BLAZEPOSE_NAMES[i] for i in KEPT_LANDMARKS)
#: Position of a BlazePose landmark inside the 17-landmark layout.
KEPT = {name: i for i, name in enumerate(KEPT_NAMES)}


class JointAngle(NamedTuple):
    """The angle at `vertex` between the segments to `proximal` and `distal` (degrees, 0-180)."""

    name: str
    proximal: str
    vertex: str
    distal: str


def _both_sides(joint: str, proximal: str, vertex: str, distal: str) -> list[JointAngle]:
    return [
        JointAngle(f"{side}_{joint}", f"{side}_{proximal}", f"{side}_{vertex}", f"{side}_{distal}")
        for side in ("left", "right")
    ]


#: The paper's 10 joint angles, left and right.
JOINT_ANGLES: tuple[JointAngle, ...] = tuple(
    _both_sides("elbow", "shoulder", "elbow", "wrist")
    + _both_sides("shoulder", "elbow", "shoulder", "hip")
    + _both_sides("hip", "shoulder", "hip", "knee")
    + _both_sides("knee", "hip", "knee", "ankle")
    + _both_sides("ankle", "knee", "ankle", "foot_index")
)
ANGLE_NAMES: tuple[str, ...] = tuple(a.name for a in JOINT_ANGLES)

COORD_FEATURE_NAMES: tuple[str, ...] = tuple(f"{n}_{c}" for n in KEPT_NAMES for c in "xyz")
#: The paper's per-frame feature vector: 51 coordinates then 10 angles.
FEATURE_NAMES: tuple[str, ...] = COORD_FEATURE_NAMES + tuple(f"{n}_angle" for n in ANGLE_NAMES)
N_COORD_FEATURES = len(COORD_FEATURE_NAMES)
N_FEATURES = len(FEATURE_NAMES)

assert N_COORD_FEATURES == 51 and len(JOINT_ANGLES) == 10 and N_FEATURES == 61
