"""Leakage-free splits: whole groups (subject, date, near-duplicate group) go to one side only."""

from __future__ import annotations

import numpy as np
import pandas as pd


class LeakageError(AssertionError):
    """A group appears on both sides of a split."""


def assert_disjoint(meta: pd.DataFrame, *index_sets: np.ndarray) -> None:
    """Raise LeakageError if any group (or clip) is shared between the given clip-index sets."""
    seen: dict[str, int] = {}
    for k, idx in enumerate(index_sets):
        for g in set(meta["group"].iloc[np.asarray(idx, dtype=int)]):
            if g in seen and seen[g] != k:
                raise LeakageError(f"group {g!r} is in split {seen[g]} and split {k}")
            seen[g] = k


def group_kfold(meta: pd.DataFrame, n_splits: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified (by label) group k-fold over clips; each clip is tested exactly once."""
    from sklearn.model_selection import StratifiedGroupKFold

    groups = meta["group"].astype(str).to_numpy()
    n_groups = len(set(groups))
    if n_groups < n_splits:
        raise ValueError(f"{n_splits} folds need at least {n_splits} groups, the data has {n_groups}")
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    folds = [(tr, te) for tr, te in cv.split(np.zeros(len(meta)), meta["label"].astype(str), groups)]
    for tr, te in folds:
        assert_disjoint(meta, tr, te)
    return folds


def fitting_n_splits(meta: pd.DataFrame, requested: int) -> int:
    """The requested number of group folds, lowered to the number of groups when the data has fewer (a few
    recorded sessions: each session is one test fold). Fewer than 3 groups cannot hold train, validation and
    test apart: a clear error."""
    groups = int(meta["group"].astype(str).nunique())
    if groups < 3:
        raise ValueError(
            f"the data has {groups} group(s) (people or sessions); train, validation and test need 3 at least"
        )
    return min(requested, groups)


def train_val_test(
    meta: pd.DataFrame, n_splits: int = 5, fold: int = 0, val_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test = fold `fold` of a group k-fold; validation = whole groups of the rest (for early stopping)."""
    from sklearn.model_selection import GroupShuffleSplit

    folds = group_kfold(meta, n_splits, seed)
    if not 0 <= fold < n_splits:
        raise ValueError(f"fold must be in [0, {n_splits}), got {fold}")
    rest, test = folds[fold]
    left = meta["group"].iloc[rest].astype(str).nunique()
    if left < 2:
        raise ValueError(
            f"split: fold {fold} of {n_splits} leaves {left} group(s) outside its test groups, and training and "
            "validation need one each: choose fewer split.n_splits, or data with more groups"
        )
    gss = GroupShuffleSplit(n_splits=1, test_size=val_fraction, random_state=seed)
    tr, va = next(gss.split(rest, groups=meta["group"].iloc[rest].astype(str)))
    train, val = rest[tr], rest[va]
    assert_disjoint(meta, train, val, test)
    return np.sort(train), np.sort(val), np.sort(test)
