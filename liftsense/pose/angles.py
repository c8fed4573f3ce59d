"""Joint angles in 3-D, from the table in `landmarks`."""

from __future__ import annotations

import numpy as np

from liftsense.pose.landmarks import JOINT_ANGLES, KEPT


def angle_at(proximal: np.ndarray, vertex: np.ndarray, distal: np.ndarray) -> np.ndarray:
    """Angle in degrees at `vertex` between the rays to `proximal` and `distal` (arrays of (..., 3)).

    NaN where either segment has zero length or any point is missing, never a made-up value.
    """
    u = proximal - vertex
    v = distal - vertex
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.einsum("...i,...i->...", u, v) / (nu * nv)
    cos = np.where((nu > 0) & (nv > 0), cos, np.nan)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def joint_angles(kept_xyz: np.ndarray) -> np.ndarray:
    """The 10 joint angles (degrees) for landmarks in the 17-landmark layout, shape (..., 17, 3) -> (..., 10)."""
    if kept_xyz.shape[-2:] != (len(KEPT), 3):
        raise ValueError(f"expected (..., {len(KEPT)}, 3) landmarks, got {kept_xyz.shape}")
    out = [
        angle_at(
            kept_xyz[..., KEPT[a.proximal], :],
            kept_xyz[..., KEPT[a.vertex], :],
            kept_xyz[..., KEPT[a.distal], :],
        )
        for a in JOINT_ANGLES
    ]
    return np.stack(out, axis=-1)
