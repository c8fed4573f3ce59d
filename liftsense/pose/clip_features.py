"""Clip-level form features: percentiles of the joint angles and kinematic cues, plus rep-level sets.

The product's clip model (`liftsense.models.clip_model`) and the baselines are both built on these.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from liftsense.pose.angles import joint_angles
from liftsense.pose.gaps import valid_frames
from liftsense.pose.kinematics import kinematic_cues
from liftsense.pose.landmarks import ANGLE_NAMES, KEPT_LANDMARKS
from liftsense.pose.normalize import normalize_clip
from liftsense.pose.rep_features import REP_FEATURE_SETS
from liftsense.pose.sequences import PoseSequences
from liftsense.pose.series_stats import nan_percentiles


def clip_features(
    seqs: PoseSequences,
    normalization: str = "canonical",
    min_visibility: float = 0.5,
    rep_sets: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per clip: percentiles of the 10 angles and of the kinematic cues over the clip's valid frames,
    plus the named rep-level sets (`standing_rep`, `plank`; see `pose.rep_features`)."""
    return _table(clip_feature_rows(seqs, normalization, min_visibility, rep_sets))


def clip_feature_rows(
    seqs: PoseSequences,
    normalization: str = "canonical",
    min_visibility: float = 0.5,
    rep_sets: tuple[str, ...] = (),
) -> list[dict[str, float]]:
    """`clip_features` as one dict per clip, before the table: a clip too short to measure has no entries, and
    a cue it cannot measure may be NaN."""
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
            cues = kinematic_cues(normalize_clip(xyz, normalization))
            names = [*ANGLE_NAMES, *cues]
            angles = joint_angles(xyz)
            series = np.column_stack([angles, *cues.values()])
            # every series' percentiles in one call: the service judges a set in a few milliseconds
            p5, p50, p95 = nan_percentiles(series, [5, 50, 95])
            summary = np.column_stack([p5, p50, p95, p95 - p5]).ravel().tolist()
            row = dict(zip(_percentile_names(tuple(names)), summary, strict=True))
            for rep_set in rep_sets:
                row |= REP_FEATURE_SETS[rep_set](xyz, angles)
        rows.append(row)
    return rows


#: how the rep-level sets' columns begin (`pose.rep_features`); every other column is a clip percentile
REP_FEATURE_PREFIXES: tuple[str, ...] = ("rep_", "plank_")


def is_rep_feature(column: str) -> bool:
    """Whether a clip-feature column comes from a rep-level set (measured against the lifter's own standing or
    plank pose) rather than from the clip percentiles (read in the camera-derived frame)."""
    return column.startswith(REP_FEATURE_PREFIXES)


#: how a left/right pair of columns is named once pooled (`pool_sides`): left_knee_p5 -> both_knee_p5
POOLED_SIDES = "both_"


def pool_sides(x: pd.DataFrame) -> pd.DataFrame:
    """Each pair of columns that differ only in `left_`/`right_` as one column, their mean, where the left one was.

    For sources whose left and right are not known to be the lifter's (squat_3d's README: "left and right were
    not verified"): the mean halves the triangulation noise of a cue and the number of weights that a dozen
    sessions must pin down. Columns without a counterpart are kept as they are."""
    columns = set(x.columns)
    out: dict[str, pd.Series] = {}
    for column in x.columns:
        right = column.replace("left_", "right_", 1)
        if "left_" in column and right in columns:
            out[column.replace("left_", POOLED_SIDES, 1)] = 0.5 * (x[column] + x[right])
        elif not ("right_" in column and column.replace("right_", "left_", 1) in columns):
            out[column] = x[column]
    return pd.DataFrame(out, index=x.index)


def side_sources(columns: list[str]) -> tuple[list[str], list[str]]:
    """For each column of a `pool_sides` table, the two unpooled columns it is the mean of (the column itself
    twice when it was not pooled): how a fitted model reads its columns straight from the feature rows."""
    first = [c.replace(POOLED_SIDES, "left_", 1) if POOLED_SIDES in c else c for c in columns]
    second = [c.replace(POOLED_SIDES, "right_", 1) if POOLED_SIDES in c else c for c in columns]
    return first, second


@functools.lru_cache(maxsize=32)
def _percentile_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """`clip_feature_rows`' percentile keys, name by name, formatted once."""
    return tuple(f"{name}_{kind}" for name in names for kind in ("p5", "p50", "p95", "range"))


def _table(rows: list[dict[str, float]]) -> pd.DataFrame:
    """The rows as one float table, columns in order of first appearance, a missing value 0.

    A cue that cannot be measured in a clip (ankles overlapping in a side view) counts as "no signal": 0.
    Built from one array: pandas' list-of-dicts constructor took longer than the features themselves."""
    columns = list(dict.fromkeys(name for row in rows for name in row))
    values = np.array([[row.get(c, np.nan) for c in columns] for row in rows], dtype=np.float64)
    values = values.reshape(len(rows), len(columns))
    return pd.DataFrame(np.where(np.isfinite(values), values, 0.0), columns=columns)
