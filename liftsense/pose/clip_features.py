"""Clip-level form features: percentiles of the joint angles and kinematic cues, plus rep-level sets.

The product's clip model (`liftsense.models.clip_model`) and the baselines are both built on these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from liftsense.pose.angles import joint_angles
from liftsense.pose.gaps import valid_frames
from liftsense.pose.kinematics import kinematic_cues
from liftsense.pose.landmarks import ANGLE_NAMES, KEPT_LANDMARKS
from liftsense.pose.normalize import normalize_clip
from liftsense.pose.rep_features import REP_FEATURE_SETS
from liftsense.pose.sequences import PoseSequences


def clip_features(
    seqs: PoseSequences,
    normalization: str = "canonical",
    min_visibility: float = 0.5,
    rep_sets: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per clip: percentiles of the 10 angles and of the kinematic cues over the clip's valid frames,
    plus the named rep-level sets (`standing_rep`, `plank`; see `pose.rep_features`)."""
    unknown = set(rep_sets) - set(REP_FEATURE_SETS)
    if unknown:
        raise ValueError(
            f"unknown rep feature sets {sorted(unknown)}; expected some of {sorted(REP_FEATURE_SETS)}"
        )
    rows = []
    for i in range(len(seqs)):
        lm = seqs.clip(i)
        ok = valid_frames(lm, min_visibility)
        xyz = lm[ok][:, KEPT_LANDMARKS, :3].astype(np.float64)
        row: dict[str, float] = {}
        if len(xyz) >= 3:
            series = dict(zip(ANGLE_NAMES, joint_angles(xyz).T, strict=True))
            series |= kinematic_cues(normalize_clip(xyz, normalization))
            for name, s in series.items():
                p5, p50, p95 = np.nanpercentile(s, [5, 50, 95])
                row |= {f"{name}_p5": p5, f"{name}_p50": p50, f"{name}_p95": p95, f"{name}_range": p95 - p5}
            for rep_set in rep_sets:
                row |= REP_FEATURE_SETS[rep_set](xyz)
        rows.append(row)
    # a cue that cannot be measured in a clip (ankles overlapping in a side view) counts as "no signal": 0
    return pd.DataFrame(rows).replace([np.inf, -np.inf], np.nan).fillna(0.0)
