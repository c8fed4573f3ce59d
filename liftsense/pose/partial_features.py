"""Image-plane form features from whichever joints a clip has: for sources that record only part of the body.

The paper's 61 features and the rep features need all 17 kept landmarks in 3-D. The small real datasets
(`liftsense.datasets.extra_pose`) save only some joints, or only 2-D OpenPose points without depth, and their
side views often lose the far arm. These features read x and y only, take each joint angle from the side seen in
more frames (so a mirrored video changes nothing), measure distances in the clip's own torso lengths, and leave a
cue NaN (not 0) when its joints are not in the clip. The clip model imputes such NaN from the training clips'
medians and counts it (`liftsense.models.clip_model`).
"""

from __future__ import annotations

import warnings

import numpy as np

from liftsense.pose.angles import angle_at
from liftsense.pose.landmarks import BP
from liftsense.pose.rep_features import MIN_FRAMES

#: image-plane joint angles (proximal, vertex, distal), each measured on the side seen in more frames
SIDE_ANGLES: dict[str, tuple[str, str, str]] = {
    "elbow": ("shoulder", "elbow", "wrist"),
    "shoulder": ("elbow", "shoulder", "hip"),
    "hip": ("shoulder", "hip", "knee"),
    "knee": ("hip", "knee", "ankle"),
    "body_line": ("shoulder", "hip", "ankle"),
}
PERCENTILES = (5, 50, 95)


def _xy(lm: np.ndarray, min_visibility: float) -> np.ndarray:
    """(T, 33, 2) image-plane points; NaN where missing or seen with low confidence (NaN visibility = seen)."""
    xy = lm[:, :, :2].astype(np.float64).copy()
    vis = lm[:, :, 3]
    xy[~np.isnan(vis) & (vis < min_visibility)] = np.nan
    return xy


def _near_side(xy: np.ndarray, parts: tuple[str, ...]) -> str:
    """The side whose `parts` are all seen in more frames (the near side of a side view)."""
    seen = {
        side: int(np.isfinite(xy[:, [BP[f"{side}_{p}"] for p in parts], 0]).all(axis=1).sum())
        for side in ("left", "right")
    }
    return max(seen, key=lambda s: (seen[s], s == "left"))


def _mid(xy: np.ndarray, part: str) -> np.ndarray:
    """Midpoint of both sides, or the one side seen."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack([xy[:, BP[f"left_{part}"]], xy[:, BP[f"right_{part}"]]]), axis=0)


def torso_frames(lm: np.ndarray, min_visibility: float = 0.5) -> np.ndarray:
    """Per frame: a shoulder and a hip are seen, so the torso (the unit of every distance) is measurable."""
    xy = _xy(lm, min_visibility)
    return np.isfinite(_mid(xy, "shoulder")).all(axis=1) & np.isfinite(_mid(xy, "hip")).all(axis=1)


def partial_series(lm: np.ndarray, min_visibility: float = 0.5) -> dict[str, np.ndarray]:
    """Per-frame cues (degrees, or torso lengths with + meaning up or forward); NaN where a joint is missing."""
    xy = _xy(lm, min_visibility)
    shoulder, hip, ankle = _mid(xy, "shoulder"), _mid(xy, "hip"), _mid(xy, "ankle")
    trunk = shoulder - hip
    torso = np.nanmedian(np.linalg.norm(trunk, axis=1)) if np.isfinite(trunk).any() else np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # which way the lifter faces in the picture: the nose, else the toes, ahead of the shoulders / heels
        nose_ahead = np.nanmedian(xy[:, BP["nose"], 0] - shoulder[:, 0])
        toes_ahead = np.nanmedian(_mid(xy, "foot_index")[:, 0] - _mid(xy, "heel")[:, 0])
    facing = np.sign(nose_ahead if np.isfinite(nose_ahead) else toes_ahead)
    facing = facing if np.isfinite(facing) and facing != 0 else 1.0
    s: dict[str, np.ndarray] = {}
    for name, (a, b, c) in SIDE_ANGLES.items():
        side = _near_side(xy, (a, b, c))
        s[f"{name}_angle"] = angle_at(*(xy[:, BP[f"{side}_{p}"]] for p in (a, b, c)))
    # trunk from vertical, signed: + leaning back (shoulders behind the hips), whichever way the lifter faces
    s["trunk_lean_back"] = np.degrees(np.arctan2(-trunk[:, 0] * facing, -trunk[:, 1]))
    arm = _near_side(xy, ("shoulder", "elbow", "wrist"))
    arm_shoulder = xy[:, BP[f"{arm}_shoulder"]]
    for part in ("elbow", "wrist"):
        joint = xy[:, BP[f"{arm}_{part}"]]
        s[f"{part}_above_shoulder"] = (arm_shoulder[:, 1] - joint[:, 1]) / torso
        s[f"{part}_ahead_of_shoulder"] = (joint[:, 0] - arm_shoulder[:, 0]) * facing / torso
    s["nose_above_shoulders"] = (shoulder[:, 1] - xy[:, BP["nose"], 1]) / torso
    s["hip_above_body_line"] = _off_line(hip, shoulder, ankle, facing) / torso
    leg = _near_side(xy, ("knee", "foot_index"))
    knee_x, toe_x = (xy[:, BP[f"{leg}_{p}"], 0] for p in ("knee", "foot_index"))
    s["knee_past_toe"] = (knee_x - toe_x) * facing / torso
    s["hip_height"] = (ankle[:, 1] - hip[:, 1]) / torso
    return s


def _off_line(p: np.ndarray, a: np.ndarray, b: np.ndarray, facing: float) -> np.ndarray:
    """Perpendicular offset of p from the line a->b, + towards the top of the picture (image y down); for an
    upright line, + forward (towards `facing`). In the units of the points."""
    ab, ap = b - a, p - a
    with np.errstate(invalid="ignore", divide="ignore"):
        normal = np.stack([-ab[:, 1], ab[:, 0]], axis=1) / np.linalg.norm(ab, axis=1, keepdims=True)
    upright = np.abs(normal[:, 1]) < 0.1
    flip = np.where(upright, np.sign(normal[:, 0] * facing) < 0, normal[:, 1] > 0)
    normal[flip] *= -1.0
    return np.einsum("ij,ij->i", ap, normal)


def partial_clip_features(lm: np.ndarray, min_visibility: float = 0.5) -> dict[str, float]:
    """One clip: 5th, 50th and 95th percentile and range of each cue over its frames with a torso.

    Empty when fewer than `MIN_FRAMES` frames show a torso (no reading); a cue whose joints the clip never
    shows is NaN.
    """
    ok = torso_frames(lm, min_visibility)
    if ok.sum() < MIN_FRAMES:
        return {}
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN cue: the joints are not in this clip
        for name, v in partial_series(lm[ok], min_visibility).items():
            p5, p50, p95 = np.nanpercentile(v, PERCENTILES)
            out |= {f"{name}_p5": p5, f"{name}_p50": p50, f"{name}_p95": p95, f"{name}_range": p95 - p5}
    return {k: float(v) for k, v in out.items()}
