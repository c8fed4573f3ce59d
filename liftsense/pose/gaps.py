"""Frames with no detection or low visibility: find them, interpolate short gaps, count everything."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from liftsense.pose.landmarks import KEPT_LANDMARKS

GAP_POLICIES: tuple[str, ...] = ("interpolate", "mask", "drop")


@dataclass
class GapCounts:
    """What the gap handling did; logged with every training run."""

    frames: int = 0
    frames_missing: int = 0  # no detection, or a kept landmark below the visibility threshold
    frames_interpolated: int = 0
    frames_masked: int = 0
    windows: int = 0
    windows_dropped: int = 0
    clips_without_window: int = 0
    per_clip_dropped: dict[str, int] = field(default_factory=dict)

    def add(self, other: GapCounts) -> None:
        for name in (
            "frames",
            "frames_missing",
            "frames_interpolated",
            "frames_masked",
            "windows",
            "windows_dropped",
            "clips_without_window",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


def valid_frames(
    landmarks: np.ndarray, min_visibility: float, min_visible_fraction: float = 0.5
) -> np.ndarray:
    """(..., T, 33, 4) -> (..., T) bool: all 17 kept landmarks present, and enough of them visible.

    BlazePose still estimates occluded landmarks (the far side in a side view), with low visibility; on the
    real push-up videos fewer than 2% of frames have all 17 above 0.5. So a frame counts as missing when
    fewer than `min_visible_fraction` of the kept landmarks reach `min_visibility`.
    A NaN visibility (3-D datasets carry none) counts as visible; NaN coordinates never do.
    """
    return kept_valid_frames(landmarks[..., KEPT_LANDMARKS, :], min_visibility, min_visible_fraction)


def kept_valid_frames(
    kept: np.ndarray, min_visibility: float, min_visible_fraction: float = 0.5
) -> np.ndarray:
    """`valid_frames` of landmarks already cut to the 17 kept ones, (..., T, 17, 4)."""
    present = np.isfinite(kept[..., :3]).reshape(*kept.shape[:-2], -1).all(axis=-1)
    vis = kept[..., 3]
    visible = (np.isnan(vis) | (vis >= min_visibility)).mean(axis=-1) >= min_visible_fraction
    return present & visible


def interpolate_short_gaps(
    values: np.ndarray, valid: np.ndarray, max_gap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly fill runs of invalid frames of length <= max_gap that have valid frames on both sides.

    Returns the filled copy and the new validity. Edge gaps are never extrapolated.
    """
    out = values.copy()
    valid_out = valid.copy()
    if max_gap <= 0 or valid.all() or not valid.any():
        return out, valid_out
    idx = np.flatnonzero(~valid)
    # split invalid indices into runs
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    for run in runs:
        start, stop = run[0] - 1, run[-1] + 1
        if len(run) > max_gap or start < 0 or stop >= len(valid):
            continue
        w = ((run - start) / (stop - start))[:, None, None]
        out[run] = (1 - w) * values[start] + w * values[stop]
        valid_out[run] = True
    return out, valid_out
