"""Per-window input checks: the reasons a window gives "no reading" before any spectrum is computed."""

from __future__ import annotations

import numpy as np

#: share of a channel's samples pinned at its window extreme above which the channel counts as clipped
CLIPPED_SHARE = 0.15


def nonfinite_reason(window: np.ndarray) -> str:
    bad = int(np.count_nonzero(~np.isfinite(window).all(axis=0)))
    return (
        f"{bad} of {window.shape[1]} samples missing or non-finite (lost packets, NaN or inf)" if bad else ""
    )


def clipped_share(channel: np.ndarray) -> float:
    """Share of samples sitting exactly at the channel's max or min: a saturated or stuck ADC repeats one value."""
    top, bottom = channel.max(), channel.min()
    if top == bottom:
        return 1.0
    at_rail = np.count_nonzero(channel == top) + np.count_nonzero(channel == bottom)
    return (at_rail - 2) / len(channel)  # one sample at each extreme is normal


def is_flat(channel: np.ndarray) -> bool:
    """A flat line (sensor off the skin, or a stuck ADC): no variation beyond rounding of its level."""
    return float(np.ptp(channel)) <= 1e-9 * max(1.0, float(np.abs(channel).max()))


def usable_ppg_channels(ppg: np.ndarray) -> tuple[list[int], str]:
    """Indices of PPG channels fit to use, and if none is, the reason (flat or clipped)."""
    flat = [is_flat(ch) for ch in ppg]
    clipped = [not f and clipped_share(ch) > CLIPPED_SHARE for f, ch in zip(flat, ppg, strict=True)]
    keep = [i for i in range(len(ppg)) if not flat[i] and not clipped[i]]
    if keep:
        return keep, ""
    if all(flat):
        return [], "the PPG is a flat line (sensor off the skin?)"
    worst = max(clipped_share(ch) for ch in ppg)
    return [], f"the PPG is clipped or stuck at one level for {worst:.0%} of the window"
