"""One table per exercise: the signal that drives its reps, which way a rep goes, and how it must look.

Next to the landmark and angle tables in `liftsense.pose.landmarks`: every rep the coach counts is defined
here, for the paper's 9 exercises plus push-ups. A driving signal is a joint angle (degrees) built from the
angle table, or the bend of the trunk against the legs for side crunches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from liftsense.pose.angles import angle_at
from liftsense.pose.landmarks import BP

Far = Literal["low", "high"]
Posture = Literal["upright", "horizontal", "any"]


@dataclass(frozen=True)
class RepSignal:
    """How one exercise's reps are found.

    `signal`: a key of `SIGNALS`. `far`: whether the signal falls (`low`) or rises (`high`) from the start
    position to the far point of the rep. `combine`: how the two sides merge (`mean` for two-sided moves, `far`
    for alternating ones: the side that moves most). `min_range_deg`: the smallest movement that counts as a rep.
    `posture`: how the trunk lies while it is done (used to refuse a clip of another exercise).
    """

    exercise: str
    signal: str
    far: Far
    combine: Literal["mean", "far"] = "mean"
    min_range_deg: float = 20.0
    min_rep_s: float = 0.6
    posture: Posture = "upright"
    #: a second signal (same direction) for when the first one's landmarks are out of view in most frames
    fallback: str | None = None


#: the driving angle of each signal: (proximal, vertex, distal) per side, by BlazePose name without the side
_ANGLE_SIGNALS: dict[str, tuple[str, str, str]] = {
    "knee_angle": ("hip", "knee", "ankle"),
    "hip_angle": ("shoulder", "hip", "knee"),
    "elbow_angle": ("shoulder", "elbow", "wrist"),
    "shoulder_angle": ("elbow", "shoulder", "hip"),
}
SIGNALS: tuple[str, ...] = (*_ANGLE_SIGNALS, "trunk_bend")

EXERCISE_REPS: dict[str, RepSignal] = {
    s.exercise: s
    for s in (
        RepSignal("squat", "knee_angle", "low", fallback="hip_angle"),
        RepSignal("deadlift", "hip_angle", "low", min_range_deg=20.0),
        RepSignal("barbell_curl", "elbow_angle", "low", min_range_deg=30.0),
        RepSignal("knee_up", "hip_angle", "low", combine="far", min_range_deg=20.0),
        RepSignal("leg_raise", "hip_angle", "low", posture="horizontal"),
        RepSignal("overhead_press", "elbow_angle", "high", min_range_deg=15.0, fallback="shoulder_angle"),
        RepSignal("side_crunch", "trunk_bend", "high", min_range_deg=5.0),
        RepSignal("side_lunge", "knee_angle", "low", combine="far", min_range_deg=15.0, fallback="hip_angle"),
        RepSignal("side_raise", "shoulder_angle", "high", min_range_deg=30.0),
        RepSignal("pushup", "elbow_angle", "low", min_range_deg=25.0, posture="horizontal"),
    )
}
#: everyday names a user may type for an exercise
ALIASES: dict[str, str] = {
    "push-up": "pushup",
    "push_up": "pushup",
    "curl": "barbell_curl",
    "bicep_curl": "barbell_curl",
    "press": "overhead_press",
    "shoulder_press": "overhead_press",
    "lunge": "side_lunge",
    "lateral_raise": "side_raise",
}


def rep_signal_of(exercise: str) -> RepSignal:
    """The table row of an exercise (by name or alias); a clear error listing the known ones otherwise."""
    key = exercise.strip().lower().replace(" ", "_")
    key = ALIASES.get(key, key)
    if key not in EXERCISE_REPS:
        raise ValueError(f"unknown exercise {exercise!r}; known: {', '.join(sorted(EXERCISE_REPS))}")
    return EXERCISE_REPS[key]


def driving_landmarks(signal: str, side: str) -> tuple[int, ...]:
    """BlazePose indices whose visibility gates one side's signal."""
    if signal == "trunk_bend":
        return tuple(BP[f"{s}_{p}"] for s in ("left", "right") for p in ("shoulder", "hip", "ankle"))
    return tuple(BP[f"{side}_{p}"] for p in _ANGLE_SIGNALS[signal])


def _side_signal(xyz: np.ndarray, signal: str, side: str) -> np.ndarray:
    if signal == "trunk_bend":
        # the trunk against the legs (ankle midpoint -> hip midpoint): 0 upright, rising with a bend to either
        # side; the hip line is too short in the image to measure a side bend against it
        mid = {
            p: 0.5 * (xyz[:, BP[f"left_{p}"]] + xyz[:, BP[f"right_{p}"]])
            for p in ("shoulder", "hip", "ankle")
        }
        return 180.0 - angle_at(mid["shoulder"], mid["hip"], mid["ankle"])
    p, v, d = (xyz[:, BP[f"{side}_{name}"]] for name in _ANGLE_SIGNALS[signal])
    return angle_at(p, v, d)


def driving_signal(
    landmarks: np.ndarray, spec: RepSignal, min_visibility: float = 0.5, world: np.ndarray | None = None
) -> np.ndarray:
    """(T, 33, 4) landmarks -> (T,) driving signal in degrees; NaN where its landmarks are not visible.

    Angles come from the world landmarks (metres) when given, else from the image landmarks. A side whose
    landmarks are not visible in a frame drops out; the other side carries the frame alone. A frame where
    neither side is visible is NaN: it neither starts nor ends a rep. When a fifth of the frames cannot be
    measured and the exercise has a fallback signal, that one is used. Returns the signal and its name.
    """
    signal = _signal(landmarks, spec.signal, spec, min_visibility, world)
    if spec.fallback and np.isfinite(signal).mean() < 0.8:
        other = _signal(landmarks, spec.fallback, spec, min_visibility, world)
        if np.isfinite(other).mean() > np.isfinite(signal).mean():
            return other, spec.fallback
    return signal, spec.signal


def _signal(
    landmarks: np.ndarray, name: str, spec: RepSignal, min_visibility: float, world: np.ndarray | None
) -> np.ndarray:
    xyz = (world if world is not None else landmarks[..., :3]).astype(np.float64)
    vis = landmarks[..., 3]
    sides = []
    for side in ("left", "right"):
        s = _side_signal(xyz, name, side)
        v = vis[:, list(driving_landmarks(name, side))]
        seen = np.where(np.isnan(v), True, v >= min_visibility).all(axis=1)  # NaN visibility: 3-D data
        sides.append(np.where(seen, s, np.nan))
        if name == "trunk_bend":
            break  # one signal for both sides
    stack = np.stack(sides)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if spec.combine == "mean" or len(sides) == 1:
                return np.nanmean(stack, axis=0)
            return np.nanmin(stack, axis=0) if spec.far == "low" else np.nanmax(stack, axis=0)
