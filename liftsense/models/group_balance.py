"""Training weights by group: a recording session must not stand in for the verdict.

On real squats split by date, sessions whose clips are all faulty let a model learn "this camera and lifter means
faulty", which fails on a new date. Leaving such sessions out (or balancing verdicts within each session) removes
that shortcut and raises clip F1 by date (benchmarks/RESULTS.md). It only makes sense where a group is a session
with many clips of both verdicts (squat_3d's dates), not where a group is one scene with a clip or two (push-ups).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUP_BALANCES = ("none", "drop", "weight")


def check_group_balance(policy: str) -> str:
    if policy not in GROUP_BALANCES:
        raise ValueError(f"unknown group_balance {policy!r}; expected one of {GROUP_BALANCES}")
    return policy


def group_weights(meta: pd.DataFrame, policy: str) -> np.ndarray:
    """Training weight per clip so that a group (a recording session) cannot stand in for the verdict.

    - `none`: every clip weighs 1.
    - `drop`: clips of groups whose clips all share one verdict (all correct or all faulty) weigh 0: such a
      group teaches its camera and lifter, not form.
    - `weight`: as `drop`, and each remaining group counts once, half for its correct and half for its faulty
      clips.
    Weights average 1 over the clips that keep any.
    """
    check_group_balance(policy)
    n = len(meta)
    if policy == "none":
        return np.ones(n)
    groups = meta["group"].astype(str).to_numpy()
    correct = meta["correct"].astype(bool).to_numpy()
    weights = np.zeros(n)
    for group in dict.fromkeys(groups):
        members = groups == group
        n_correct, n_faulty = int((members & correct).sum()), int((members & ~correct).sum())
        if not n_correct or not n_faulty:
            continue
        if policy == "drop":
            weights[members] = 1.0
        else:
            weights[members & correct] = 0.5 / n_correct
            weights[members & ~correct] = 0.5 / n_faulty
    kept = weights > 0
    if kept.any():
        weights[kept] /= weights[kept].mean()
    return weights


def require_some_kept(weights: np.ndarray, policy: str) -> None:
    """A balancing policy that leaves nothing to fit on is a data/config mismatch: say which."""
    if policy != "none" and not (weights > 0).any():
        raise ValueError(
            f"group_balance={policy!r} leaves no training clip: no group holds both correct and faulty clips "
            "(a group of one scene or one clip cannot be balanced); use group_balance='none'"
        )
