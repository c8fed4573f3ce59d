"""One table per exercise: the signal that drives its reps, which way a rep goes, and how it must look.

Next to the landmark and angle tables in `liftsense.pose.landmarks`: every rep the coach counts is defined
here, for the paper's 9 exercises plus push-ups and forward lunges. A driving signal is a joint angle (degrees) built from the
angle table, or the bend of the trunk against the legs for side crunches.
"""

from __future__ import annotations

import warnings
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
        RepSignal("side_crunch", "trunk_bend", "high", min_range_deg=4.0, min_rep_s=1.0),
        RepSignal("side_lunge", "knee_angle", "low", combine="far", min_range_deg=15.0, fallback="hip_angle"),
        # not one of the paper's 9: both knees bend in a forward lunge, so both drive it (checked against human
        # phase labels in benchmarks/bench_form_phases.py: "far" found 7 of 16 labelled bottoms, "mean" 14)
        RepSignal("forward_lunge", "knee_angle", "low", min_range_deg=15.0, fallback="hip_angle"),
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
        return tuple(BP[f"{side}_{p}"] for p in ("shoulder", "hip", "knee"))
    return tuple(BP[f"{side}_{p}"] for p in _ANGLE_SIGNALS[signal])


def _hip_line(xyz: np.ndarray) -> np.ndarray:
    """The lifter's left-to-right direction over the clip (median hip line, unit length).

    A lifter does not turn during a side crunch, so one direction for the clip is far steadier than the short,
    noisy hip line of each frame. Without any hip seen, the picture's x axis.
    """
    line = xyz[:, BP["right_hip"]] - xyz[:, BP["left_hip"]]
    line = line[np.isfinite(line).all(axis=1)]
    if not len(line):
        return np.array([1.0, 0.0, 0.0])
    mid = np.median(line, axis=0)
    norm = np.linalg.norm(mid)
    return mid / norm if norm > 0 else np.array([1.0, 0.0, 0.0])


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _side_signal(xyz: np.ndarray, signal: str, side: str) -> np.ndarray:
    if signal == "trunk_bend":
        # the side bend: how far the trunk (hip -> shoulder) leans along the lifter's left-right line beyond the
        # thigh (knee -> hip), signed. A forward fold does not move it, whichever way the camera looks. The
        # thigh rather than the whole leg, because the ankles leave the frame first. The legs stay straight, so
        # the thigh's tilt over the clip (its median) is the upright reference: taken frame by frame, the short
        # thigh's jitter doubled the signal's noise and small bends drowned in it.
        across = _hip_line(xyz)
        trunk = _unit(xyz[:, BP[f"{side}_shoulder"]] - xyz[:, BP[f"{side}_hip"]])
        thigh = _unit(xyz[:, BP[f"{side}_hip"]] - xyz[:, BP[f"{side}_knee"]])
        thigh_tilt = np.arcsin(np.clip(thigh @ across, -1, 1))
        upright = np.nanmedian(thigh_tilt) if np.isfinite(thigh_tilt).any() else 0.0
        return np.degrees(np.arcsin(np.clip(trunk @ across, -1, 1)) - upright)
    p, v, d = (xyz[:, BP[f"{side}_{name}"]] for name in _ANGLE_SIGNALS[signal])
    return angle_at(p, v, d)


def _sides_as_one(stack: np.ndarray) -> np.ndarray:
    """The mean of the two sides' side bends, also where only one side is seen.

    Each side line leans by its own constant (shoulders are wider than hips, knees narrower), opposite on the
    two sides, so one side alone is offset from the mean. The offset is measured where both are seen.
    """
    both = np.isfinite(stack).all(axis=0)
    if both.any():
        mean = stack[:, both].mean(axis=0)
        stack = stack - np.median(stack[:, both] - mean, axis=1, keepdims=True)
    return np.nanmean(stack, axis=0)


def driving_signal(
    landmarks: np.ndarray, spec: RepSignal, min_visibility: float = 0.5, world: np.ndarray | None = None
) -> tuple[np.ndarray, str]:
    """(T, 33, 4) landmarks -> (T,) driving signal in degrees, NaN where it cannot be measured, and its name.

    Angles come from the world landmarks (metres) when given, else from the image landmarks. For a two-sided
    movement a side whose landmarks are not visible drops out and the other carries the frame; for an
    alternating one (`combine="far"`) both sides must be seen, since the one left may be the resting limb. A
    frame that cannot be measured is NaN: it neither starts nor ends a rep. When a fifth of the frames cannot be
    measured and the exercise's fallback signal covers more of them, the fallback is used.
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
    stack = np.stack(sides)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames stay NaN
        if name == "trunk_bend":
            return np.abs(_sides_as_one(stack))  # a bend to either side is a rep
        if spec.combine == "mean":
            return np.nanmean(stack, axis=0)
        far = np.min(stack, axis=0) if spec.far == "low" else np.max(stack, axis=0)
        return far  # NaN unless both sides are seen
