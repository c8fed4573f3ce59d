"""Summaries of many per-frame series at once: the clip and rep features take dozens per clip."""

from __future__ import annotations

import warnings

import numpy as np


def nan_percentiles(series: np.ndarray, q: list[float]) -> np.ndarray:
    """`np.nanpercentile(series, q, axis=0)` of a (frames, n) array, the same values, faster: the columns without
    NaN in one call (nanpercentile over an axis goes column by column when any value is NaN)."""
    out = np.empty((len(q), series.shape[1]))
    clean = ~np.isnan(series).any(axis=0)
    out[:, clean] = np.percentile(series[:, clean], q, axis=0)
    for j in np.flatnonzero(~clean):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN cue: NaN, as nanpercentile gives
            out[:, j] = np.nanpercentile(series[:, j], q)
    return out
