"""Coordinate normalisation of the 17 kept landmarks.

- `raw`: coordinates as given (image-normalised for BlazePose, the paper's choice). They move with where the
  user stands and how far the camera is.
- `body`: centred on the hip midpoint of each frame and divided by the clip's median torso length
  (hip midpoint to shoulder midpoint), so position and camera distance drop out.
- `canonical`: `body`, then rotated about the vertical axis so that the hip line points along +x
  (mean direction over the clip), so the camera's yaw around the lifter drops out as well.
- `floor`: for standing exercises, the floor frame of `pose.rep_features` (up, hip line and toe direction from the
  lifter's standing pose, in standing leg lengths; y down like the others), so the camera's tilt drops out too.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from liftsense.pose.landmarks import KEPT

Normalization = Literal["raw", "body", "canonical", "floor"]
NORMALIZATIONS: tuple[str, ...] = ("raw", "body", "canonical", "floor")


def hip_centre(xyz: np.ndarray) -> np.ndarray:
    return 0.5 * (xyz[..., KEPT["left_hip"], :] + xyz[..., KEPT["right_hip"], :])


def shoulder_centre(xyz: np.ndarray) -> np.ndarray:
    return 0.5 * (xyz[..., KEPT["left_shoulder"], :] + xyz[..., KEPT["right_shoulder"], :])


def torso_length(xyz: np.ndarray) -> np.ndarray:
    """Per-frame hip-midpoint to shoulder-midpoint distance, (T, 17, 3) -> (T,)."""
    return np.linalg.norm(shoulder_centre(xyz) - hip_centre(xyz), axis=-1)


def normalize_clip(xyz: np.ndarray, mode: str) -> np.ndarray:
    """Normalise one clip of kept landmarks, shape (T, 17, 3); NaN frames stay NaN."""
    if mode == "raw":
        return xyz.copy()
    if mode not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {mode!r}; expected one of {NORMALIZATIONS}")
    if mode == "floor":
        from liftsense.pose.rep_features import floor_frame

        try:
            return floor_frame(xyz) * np.array([1.0, -1.0, 1.0])  # y down, as in every other mode
        except ValueError:  # no standing pose to align to: no coordinates rather than made-up ones
            return np.full_like(xyz, np.nan)
    centred = xyz - hip_centre(xyz)[:, None, :]
    scale = np.nanmedian(torso_length(xyz)) if np.isfinite(xyz).any() else np.nan
    if not np.isfinite(scale) or scale <= 0:
        return np.full_like(xyz, np.nan)
    out = centred / scale
    if mode == "canonical":
        hip_axis = out[:, KEPT["left_hip"], :] - out[:, KEPT["right_hip"], :]
        mean_axis = np.nanmean(hip_axis, axis=0)  # the mean vector, not a mean angle: no wrap-around
        yaw = np.arctan2(mean_axis[2], mean_axis[0])
        if np.isfinite(yaw):
            c, s = np.cos(yaw), np.sin(yaw)
            # rotation about y that sends the hip axis (cos yaw, ., sin yaw) to (+1, ., 0)
            rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
            out = out @ rot.T
    return out
