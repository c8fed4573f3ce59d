"""Rep-level form features that survive a new camera, room and lifter.

The percentile features in `evaluation.baselines` read absolute positions in a camera-derived frame, so a
date's set-up leaks into them. These features instead:

- put the clip in a *floor frame* estimated from the lifter's own standing pose (up = ankle midpoint to hip
  midpoint while standing, lateral = the hip line, forward = towards the toes), origin at the standing ankle
  midpoint, unit = standing leg length. Camera tilt, yaw, distance and the lifter's height drop out;
- compare the bottom of the rep with the lifter's own standing pose in the same clip (heel lift = heel height at
  the bottom minus heel height standing), so a fault is a change, not an absolute value that varies by person.

`standing_rep_features` is for exercises done standing (squat, deadlift, lunge...), `plank_features` for
push-ups, where the body line (hip sag or pike) and elbow depth decide. Both return one flat dict per clip.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from liftsense.pose.angles import joint_angles
from liftsense.pose.landmarks import ANGLE_NAMES, KEPT
from liftsense.pose.series_stats import finite_median, finite_percentiles, nan_percentiles

#: fraction of frames (by hip height) taken as the bottom of the rep, and as standing
BOTTOM_QUANTILE = 10.0
STANDING_QUANTILE = 80.0
MIN_FRAMES = 5


def _at(xyz: np.ndarray, name: str) -> np.ndarray:
    return xyz[:, KEPT[name]]


def _mid(xyz: np.ndarray, part: str) -> np.ndarray:
    return 0.5 * (_at(xyz, f"left_{part}") + _at(xyz, f"right_{part}"))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def floor_frame(xyz: np.ndarray) -> np.ndarray:
    """Express a standing clip (T, 17, 3) in (lateral, up, forward) coordinates, in standing leg lengths.

    Works whatever the camera's axes (image y down, triangulated cm, any tilt): "up" is measured from the
    body, not assumed. Raises ValueError when no standing pose can be found (too few finite frames).
    """
    hip, ankle = _mid(xyz, "hip"), _mid(xyz, "ankle")
    leg = np.linalg.norm(hip - ankle, axis=1)
    measured = int(np.isfinite(leg).sum())
    if measured < MIN_FRAMES:
        raise ValueError(f"need at least {MIN_FRAMES} frames with hips and ankles, got {measured}")
    # a clip without gaps (every judged rep) takes numpy's plain reductions: the same values, a third of the time
    finite = measured == len(leg) and bool(np.isfinite(xyz).all())
    mean, median = (np.mean, finite_median) if finite else (np.nanmean, np.nanmedian)
    if finite:
        (tall,) = finite_percentiles(leg, [STANDING_QUANTILE])
    else:
        tall = nan_percentiles(leg[:, None], [STANDING_QUANTILE])[0, 0]
    standing = leg >= tall
    up = _unit(mean(hip[standing] - ankle[standing], axis=0))
    hip_line = mean((_at(xyz, "left_hip") - _at(xyz, "right_hip"))[standing], axis=0)
    lateral = _unit(hip_line - up * (hip_line @ up))
    forward = _cross(lateral, up)
    foot = _mid(xyz, "foot_index") - _mid(xyz, "heel")
    if mean(foot[standing] @ forward) < 0:  # forward is where the toes point
        forward = -forward
    rotation = np.stack([lateral, up, forward])
    origin = mean(ankle[standing], axis=0)
    return (xyz - origin) @ rotation.T / median(leg[standing])


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a × b of two 3-vectors, as np.cross computes it (its set-up took longer than the product)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _ratio(num: np.ndarray, den: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """num/den, NaN where den is about zero (a side view where the ankles overlap), bounded to ±5."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.where(np.abs(den) < floor, np.nan, num / den), -5.0, 5.0)


def standing_series(f: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame cues in the floor frame (lateral 0, up 1, forward 2)."""
    lat, up, fwd = 0, 1, 2
    hip, knee, shoulder = _mid(f, "hip"), _mid(f, "knee"), _mid(f, "shoulder")
    s: dict[str, np.ndarray] = {
        "hip_height": hip[:, up],
        "hip_above_knee": hip[:, up] - knee[:, up],  # depth: <= 0 once the hips sink to the knees
    }
    for side in ("left", "right"):
        heel, toe = _at(f, f"{side}_heel"), _at(f, f"{side}_foot_index")
        s[f"{side}_heel_height"] = heel[:, up]
        s[f"{side}_toe_height"] = toe[:, up]
        foot = toe - heel
        s[f"{side}_foot_pitch"] = np.degrees(
            np.arctan2(foot[:, up], np.linalg.norm(foot[:, [lat, fwd]], axis=1))
        )
        shin = _at(f, f"{side}_knee") - _at(f, f"{side}_ankle")
        s[f"{side}_shin_lean"] = np.degrees(np.arctan2(shin[:, fwd], shin[:, up]))
        s[f"{side}_knee_past_toe"] = _at(f, f"{side}_knee")[:, fwd] - toe[:, fwd]
    width = {p: _at(f, f"left_{p}")[:, lat] - _at(f, f"right_{p}")[:, lat] for p in ("knee", "ankle", "hip")}
    s["knee_width"] = width["knee"]
    s["knee_over_ankle_width"] = _ratio(width["knee"], width["ankle"])  # < 1: knees caving in
    s["knee_over_hip_width"] = _ratio(width["knee"], width["hip"])
    trunk = shoulder - hip
    s["trunk_lean"] = np.degrees(np.arctan2(trunk[:, fwd], trunk[:, up]))
    s["hip_forward"] = hip[:, fwd]
    s["shoulder_forward"] = shoulder[:, fwd]
    s["wrist_forward"] = _mid(f, "wrist")[:, fwd] - shoulder[:, fwd]
    return s


def _summaries(
    series: dict[str, np.ndarray], bottom: np.ndarray, top: np.ndarray, prefix: str
) -> dict[str, float]:
    """Each cue at the bottom, at the top, their difference, and its extremes relative to the top.

    All cues as the columns of one array, each step one call: a judged set's features in about a millisecond."""
    values = np.column_stack(list(series.values()))
    at_bottom, at_top = np.nanmean(values[bottom], axis=0), np.nanmean(values[top], axis=0)
    lo, hi = nan_percentiles(values, [5, 95])
    summary = np.column_stack([at_bottom, at_top, at_bottom - at_top, lo - at_top, hi - at_top])
    return dict(zip(_summary_names(tuple(series), prefix), summary.ravel().tolist(), strict=True))


@functools.lru_cache(maxsize=32)
def _summary_names(names: tuple[str, ...], prefix: str) -> tuple[str, ...]:
    """`_summaries`' keys, name by name: formatting 150 of them took a fifth of the summaries' time."""
    kinds = ("bottom", "top", "change", "p5_from_top", "p95_from_top")
    return tuple(f"{prefix}{name}_{kind}" for name in names for kind in kinds)


def _angle_series(xyz: np.ndarray, angles: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The joint angles as named series; `angles`: `joint_angles(xyz)`, when the caller has it already."""
    angles = joint_angles(xyz) if angles is None else angles
    return {f"{k}_angle": v for k, v in zip(ANGLE_NAMES, angles.T, strict=True)}


def standing_rep_features(xyz: np.ndarray, angles: np.ndarray | None = None) -> dict[str, float]:
    """Rep features of a standing exercise: bottom (lowest hips) against standing, in the floor frame.

    Empty dict when the clip has too few usable frames (the caller decides: no reading, or fill). `angles`:
    `joint_angles(xyz)` if the caller computed them (the clip features do), so they are not computed twice.
    """
    return _standing_rep(xyz, angles, curve=False)


def standing_rep_and_curve_features(xyz: np.ndarray, angles: np.ndarray | None = None) -> dict[str, float]:
    """`standing_rep_features` and the rep as a curve: every cue of `standing_series` and every joint angle
    against its standing value, at `CURVE_POINTS` moments evenly spread over the clip (`rep_curve_<cue>_<k>`).

    The summaries read the bottom and the extremes; a fault also shows in *when* a cue moves (heels rising
    on the way down, the trunk tipping late). With pooled sides, the squat fault model's macro-F1 leaving one
    date out goes 0.58 -> 0.64, but not on every split, so it is an option (`data.rep_curves`; RESULTS.md)."""
    return _standing_rep(xyz, angles, curve=True)


#: moments of the rep curve, evenly spread from the first to the last tracked frame
CURVE_POINTS = 16
#: how the rep curve's columns begin
CURVE_PREFIX = "rep_curve_"


def _standing_rep(xyz: np.ndarray, angles: np.ndarray | None, curve: bool) -> dict[str, float]:
    xyz, angles = _finite_frames(xyz, angles)
    if len(xyz) < MIN_FRAMES:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN ratios in a pure side view
        f = floor_frame(xyz)
        series = standing_series(f) | _angle_series(xyz, angles)
        hip = series["hip_height"]
        quantiles = [BOTTOM_QUANTILE, STANDING_QUANTILE]
        finite = bool(np.isfinite(hip).all())  # a leg of length 0 would leave none
        low, high = finite_percentiles(hip, quantiles) if finite else np.percentile(hip, quantiles)
        bottom, top = hip <= low, hip >= high
        out = _summaries(series, bottom, top, "rep_")
        if curve:
            out |= _curve(series, top)
    out["rep_range_of_motion"] = float(np.mean(hip[top]) - np.mean(hip[bottom]))
    return out


def _curve(series: dict[str, np.ndarray], top: np.ndarray) -> dict[str, float]:
    """Each series minus its mean over the standing frames, linearly interpolated at `CURVE_POINTS` moments;
    a series with fewer than 2 finite frames is NaN throughout (no reading, never a made-up shape)."""
    values = np.column_stack(list(series.values()))
    values = values - np.nanmean(values[top], axis=0)
    frames = len(values)
    at = np.linspace(0.0, frames - 1, CURVE_POINTS)
    if np.isfinite(values).all():  # every judged rep, nearly: all series interpolated at once
        before = np.minimum(at.astype(np.intp), frames - 2)
        weight = (at - before)[:, None]
        curves = values[before] * (1.0 - weight) + values[before + 1] * weight
    else:
        curves = np.full((CURVE_POINTS, values.shape[1]), np.nan)
        index = np.arange(frames)
        for j in range(values.shape[1]):
            finite = np.isfinite(values[:, j])
            if finite.sum() >= 2:
                curves[:, j] = np.interp(at, index[finite], values[finite, j])
    return dict(zip(_curve_names(tuple(series)), curves.T.ravel().tolist(), strict=True))


@functools.lru_cache(maxsize=32)
def _curve_names(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{CURVE_PREFIX}{name}_{k:02d}" for name in names for k in range(CURVE_POINTS))


def _finite_frames(xyz: np.ndarray, angles: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The frames of a (T, 17, 3) clip with every coordinate finite, and their rows of `angles` (T, 10) if given;
    the clip itself when all are."""
    finite = np.isfinite(xyz.reshape(len(xyz), xyz.shape[1] * xyz.shape[2])).all(axis=1)
    if finite.all():
        return xyz, angles
    return xyz[finite], None if angles is None else angles[finite]


def _offset_from_line(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Offset of p from the image-plane line a->b in units of |ab|; positive = below the line (image y down)."""
    ab, ap = (b - a)[:, :2], (p - a)[:, :2]
    length2 = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12)
    cross = ab[:, 0] * ap[:, 1] - ab[:, 1] * ap[:, 0]
    # the normal (-ab_y, ab_x) points down when ab_x > 0; flip so that + is always "lower"
    return cross / length2 * np.where(ab[:, 0] >= 0, 1.0, -1.0)


def plank_series(xyz: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame push-up cues in image coordinates (x right, y down): body line, depth, hand placement."""
    shoulder, hip, ankle, knee = (_mid(xyz, p) for p in ("shoulder", "hip", "ankle", "knee"))
    wrist = _mid(xyz, "wrist")
    body = np.linalg.norm((ankle - shoulder)[:, :2], axis=1)
    scale = np.nanmedian(body)
    facing = np.sign(np.nanmedian(shoulder[:, 0] - ankle[:, 0])) or 1.0
    a, b = (shoulder - hip)[:, :2], (ankle - hip)[:, :2]
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {
        "hip_sag": _offset_from_line(hip, shoulder, ankle),  # + sagging, - piking
        "knee_sag": _offset_from_line(knee, shoulder, ankle),
        "head_drop": _offset_from_line(_at(xyz, "nose"), hip, shoulder),
        "body_line_angle": np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))),
        "shoulder_above_wrist": (wrist[:, 1] - shoulder[:, 1]) / scale,
        "hip_above_wrist": (wrist[:, 1] - hip[:, 1]) / scale,
        "incline": np.degrees(np.arctan2(-(shoulder - ankle)[:, 1], np.abs((shoulder - ankle)[:, 0]))),
        "hands_ahead": (wrist[:, 0] - shoulder[:, 0]) * facing / scale,
    }


def plank_features(xyz: np.ndarray, angles: np.ndarray | None = None) -> dict[str, float]:
    """Rep features of a push-up: bottom (most bent elbows) against top, plus rep count and percentiles."""
    xyz, angles = _finite_frames(xyz, angles)
    if len(xyz) < MIN_FRAMES:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        series = plank_series(xyz) | _angle_series(xyz, angles)
        elbow = 0.5 * (series["left_elbow_angle"] + series["right_elbow_angle"])
        series["elbow_angle"] = elbow
        bottom = elbow <= np.nanpercentile(elbow, 15)
        top = elbow >= np.nanpercentile(elbow, 85)
        out = _summaries(series, bottom, top, "plank_")
        for name in ("hip_sag", "knee_sag", "body_line_angle", "elbow_angle", "incline"):
            p5, p50, p95 = np.nanpercentile(series[name], [5, 50, 95])
            out |= {f"plank_{name}_p5": p5, f"plank_{name}_p50": p50, f"plank_{name}_p95": p95}
        half = 0.5 * (np.nanpercentile(elbow, 10) + np.nanpercentile(elbow, 90))
    out["plank_reps"] = float((np.diff((elbow > half).astype(int)) == 1).sum())
    return {k: float(v) for k, v in out.items()}


REP_FEATURE_SETS = {
    "standing_rep": standing_rep_features,
    "standing_rep_curve": standing_rep_and_curve_features,
    "plank": plank_features,
}
