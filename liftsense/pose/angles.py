"""Joint angles in 3-D, from the table in `landmarks`."""

from __future__ import annotations

import numpy as np

from liftsense.pose.landmarks import JOINT_ANGLES, KEPT


def angle_at(proximal: np.ndarray, vertex: np.ndarray, distal: np.ndarray) -> np.ndarray:
    """Angle in degrees at `vertex` between the rays to `proximal` and `distal` (arrays of (..., 2 or 3)).

    NaN where either segment has zero length or any point is missing, never a made-up value.
    """
    return _degrees_between(np.moveaxis(proximal - vertex, -1, 0), np.moveaxis(distal - vertex, -1, 0))


def _degrees_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle in degrees between vectors given component first, (coords, ...); NaN for a zero-length vector."""
    nu = np.sqrt(sum(c * c for c in u))
    nv = np.sqrt(sum(c * c for c in v))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = sum(a * b for a, b in zip(u, v, strict=True)) / (nu * nv)
    cos = np.where((nu > 0) & (nv > 0), cos, np.nan)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


#: the proximal, vertex and distal landmark of each joint angle, as indices into the 17-landmark layout
_PROXIMAL, _VERTEX, _DISTAL = (
    np.array([KEPT[getattr(a, part)] for a in JOINT_ANGLES]) for part in ("proximal", "vertex", "distal")
)


def joint_angles(kept_xyz: np.ndarray) -> np.ndarray:
    """The 10 joint angles (degrees) for landmarks in the 17-landmark layout, shape (..., 17, 3) -> (..., 10).

    All ten at once, with the frames along the last axis so that every step runs over long rows: the service
    featurises thousands of frames a request, and the (frames, 10, 3) layout spent most of its time on 3-long rows."""
    if kept_xyz.shape[-2:] != (len(KEPT), 3):
        raise ValueError(f"expected (..., {len(KEPT)}, 3) landmarks, got {kept_xyz.shape}")
    lead = kept_xyz.shape[:-2]
    coords = np.ascontiguousarray(kept_xyz.reshape(-1, len(KEPT), 3).transpose(2, 1, 0))  # (3, 17, frames)
    u = coords[:, _PROXIMAL] - coords[:, _VERTEX]
    v = coords[:, _DISTAL] - coords[:, _VERTEX]
    return _degrees_between(u, v).T.reshape(*lead, len(JOINT_ANGLES))
