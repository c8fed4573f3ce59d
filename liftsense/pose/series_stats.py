"""Summaries of many per-frame series at once: the clip and rep features take dozens per clip."""

from __future__ import annotations

import math

import numpy as np


def nan_percentiles(series: np.ndarray, q: list[float]) -> np.ndarray:
    """`np.nanpercentile(series, q, axis=0)` of a (frames, n) array: the same values to the bit (numpy's "linear"
    method, its interpolation formula included), from one sort of every column at once. nanpercentile goes column
    by column when any value is NaN, and its set-up cost more than the sorting: 3.6x slower here. An all-NaN
    column gives NaN, without nanpercentile's warning."""
    values = np.sort(np.asarray(series, dtype=np.float64), axis=0)  # NaN sorts last
    counts = values.shape[0] - np.isnan(values).sum(axis=0)
    quantiles = np.true_divide(np.asarray(q, dtype=np.float64), 100)
    virtual = (counts - 1)[None, :] * quantiles[:, None]  # where the percentile falls among the sorted values
    previous = np.floor(virtual)
    gamma = virtual - previous
    last = np.maximum(counts - 1, 0)[None, :]
    lo = np.minimum(previous.astype(np.intp), last)
    hi = np.minimum(lo + 1, last)
    columns = np.arange(values.shape[1])
    a, b = values[lo, columns], values[hi, columns]
    diff = b - a
    out = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)  # numpy's _lerp, for the same rounding
    out[:, counts == 0] = np.nan
    return out


def finite_percentiles(values: np.ndarray, q: list[float]) -> list[float]:
    """`np.percentile(values, q)` of a 1-D array without NaN, to the bit, as Python floats: one sort and a few
    scalar steps. The coach takes several per judged set, and numpy's set-up cost 25 µs each, the sort 2."""
    ordered = np.sort(values).tolist()
    last = len(ordered) - 1
    out = []
    for percent in q:
        virtual = last * (percent / 100)  # numpy's "linear" method and its _lerp, step by step
        lo = min(math.floor(virtual), last)
        gamma = virtual - math.floor(virtual)
        a, b = ordered[lo], ordered[min(lo + 1, last)]
        out.append(b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma)
    return out


def finite_median(values: np.ndarray) -> float:
    """`np.median(values)` of a 1-D array without NaN, to the bit (the mean of the middle two when even)."""
    ordered = np.sort(values).tolist()
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
