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

import warnings
from typing import Literal

import numpy as np

from liftsense.pose.landmarks import BP, KEPT

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
    """Normalise clips of kept landmarks, shape (..., T, 17, 3): one clip, or a batch of clips of the same length,
    each normalised on its own; NaN frames stay NaN."""
    if mode == "raw":
        return xyz.copy()
    if mode not in NORMALIZATIONS:
        raise ValueError(f"unknown normalization {mode!r}; expected one of {NORMALIZATIONS}")
    if mode == "floor":
        if xyz.ndim > 3:
            return np.stack([normalize_clip(c, mode) for c in xyz.reshape(-1, *xyz.shape[-3:])]).reshape(
                xyz.shape
            )
        from liftsense.pose.rep_features import floor_frame

        try:
            return floor_frame(xyz) * np.array([1.0, -1.0, 1.0])  # y down, as in every other mode
        except ValueError:  # no standing pose to align to: no coordinates rather than made-up ones
            return np.full_like(xyz, np.nan)
    centred = xyz - hip_centre(xyz)[..., None, :]
    torso = torso_length(xyz)
    if np.isnan(torso).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a clip without a frame: NaN, handled below
            scale = np.nanmedian(torso, axis=-1)[..., None, None, None]
    else:  # the same value, without nanmedian's masked-array detour (a third of the service's featurising)
        scale = np.median(torso, axis=-1)[..., None, None, None]
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, np.nan)
    out = centred / scale
    if mode == "canonical":
        hip_axis = out[..., KEPT["left_hip"], :] - out[..., KEPT["right_hip"], :]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean_axis = np.nanmean(hip_axis, axis=-2)  # the mean vector, not a mean angle: no wrap-around
        yaw = np.arctan2(mean_axis[..., 2], mean_axis[..., 0])
        yaw = np.where(np.isfinite(yaw), yaw, 0.0)  # no hip line to align to: left as it is
        c, s = np.cos(yaw), np.sin(yaw)
        zero, one = np.zeros_like(c), np.ones_like(c)
        # rotation about y that sends the hip axis (cos yaw, ., sin yaw) to (+1, ., 0)
        rot = np.stack(
            [np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1), np.stack([-s, zero, c], -1)], -2
        )
        out = np.einsum("...tkj,...ij->...tki", out, rot)
    return out


#: BlazePose indices of the points that stand on the floor
_FOOT_POINTS: tuple[str, ...] = ("left_heel", "right_heel", "left_foot_index", "right_foot_index")


def anchor_on_feet(world: np.ndarray) -> np.ndarray:
    """(T, 33, 3) world landmarks, y down -> the same with the feet held still, as a fixed camera sees them.

    BlazePose's world landmarks are centred on the hips in every frame, so a squat's descent (the hips going
    down, the very thing depth is judged on) is gone from them, while 3-D capture from fixed cameras keeps it.
    A lifter's feet stand on the floor: each frame is moved so that the middle of the feet stays at the origin
    across the floor and the lowest foot point (heel or toe, whichever is down) at floor height. Frames without
    a foot point take the nearest frame's shift; a clip without any foot point is returned as it is.
    """

    feet = world[:, [BP[name] for name in _FOOT_POINTS], :].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with no foot point
        shift = np.stack(
            [np.nanmean(feet[..., 0], 1), np.nanmax(feet[..., 1], 1), np.nanmean(feet[..., 2], 1)], 1
        )
    ok = np.isfinite(shift).all(axis=1)
    if not ok.any():
        return world.copy()
    idx = np.arange(len(shift))
    nearest = idx[ok][np.clip(np.searchsorted(idx[ok], idx), 0, ok.sum() - 1)]
    shift = np.where(ok[:, None], shift, shift[nearest])
    return (world - shift[:, None, :]).astype(world.dtype)


#: world landmarks are averaged over this long: BlazePose's depth jitters by centimetres from frame to frame,
#: as much as a lifted heel, while a rep takes seconds (bench_coach: 0.3 s restores 3-D accuracy)
WORLD_SMOOTH_S = 0.3


def smooth_over_time(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average along the first axis over finite values (shorter at the ends); NaN stays NaN."""
    half = width // 2
    if half < 1 or len(x) < 2:
        return x.copy()
    ok = np.isfinite(x)

    def window_sums(a: np.ndarray) -> np.ndarray:
        c = np.concatenate([np.zeros((1, *a.shape[1:])), np.cumsum(a, axis=0)])
        idx = np.arange(len(a))
        return c[np.minimum(idx + half + 1, len(a))] - c[np.maximum(idx - half, 0)]

    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, window_sums(np.where(ok, x, 0.0)) / window_sums(ok.astype(np.float64)), np.nan)


def world_clip(world: np.ndarray, landmarks: np.ndarray, fps: float) -> np.ndarray:
    """(T, 33, 4) clip of world landmarks, feet held still and averaged over WORLD_SMOOTH_S, with the image
    landmarks' visibility: the input a model trained on 3-D joints gets from a single video."""
    width = max(int(np.rint(WORLD_SMOOTH_S * fps)), 1) | 1
    xyz = smooth_over_time(anchor_on_feet(world).astype(np.float64), width)
    return np.concatenate([xyz, landmarks[..., 3:4]], axis=-1).astype(np.float32)
