"""Per-lifter calibration: judge each clip against a few of the same lifter's own reps of correct form.

A new user records k good reps when setting up (a product step). Every later clip's features are then expressed
relative to the mean of those reference reps, so what stays is how this rep differs from the lifter's own good
form, not how the lifter's body, camera and room differ from other people's. On real squats split by date this
raises clip F1 (benchmarks/RESULTS.md). In labelled data, a group (lifter, session or scene) stands for one user.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ReferenceDraw:
    """Which clips serve as references, per group, and which clips can then be judged."""

    references: dict[str, np.ndarray]  # group -> clip positions of its k reference clips
    judged: np.ndarray  # bool per clip: in a calibrated group and not a reference itself
    uncalibrated: np.ndarray  # bool per clip: its group has fewer than k usable clips of correct form

    @property
    def is_reference(self) -> np.ndarray:
        out = np.zeros(len(self.judged), dtype=bool)
        for refs in self.references.values():
            out[refs] = True
        return out


def draw_references(
    meta: pd.DataFrame, k: int, seed: int = 0, usable: np.ndarray | None = None
) -> ReferenceDraw:
    """Per group, k clips of correct form drawn at random (seeded) from the usable ones."""
    if k < 1:
        raise ValueError(f"calibration needs at least 1 reference clip, got k={k}")
    rng = np.random.default_rng(seed)
    groups = meta["group"].astype(str).to_numpy()
    correct = meta["correct"].astype(bool).to_numpy()
    usable = np.ones(len(meta), dtype=bool) if usable is None else np.asarray(usable, dtype=bool)
    references: dict[str, np.ndarray] = {}
    judged = np.zeros(len(meta), dtype=bool)
    for group in dict.fromkeys(groups):
        members = np.flatnonzero(groups == group)
        pool = members[correct[members] & usable[members]]
        if len(pool) < k:
            continue
        refs = np.sort(rng.choice(pool, k, replace=False))
        references[group] = refs
        judged[np.setdiff1d(members, refs)] = True
    in_calibrated = np.isin(groups, list(references))
    return ReferenceDraw(references, judged, ~in_calibrated)


def relative_to_references(features: np.ndarray, reference_features: np.ndarray) -> np.ndarray:
    """Features minus the mean of the lifter's reference clips."""
    if reference_features.ndim != 2 or not len(reference_features):
        raise ValueError("at least one reference clip is needed to calibrate")
    return features - reference_features.mean(axis=0, keepdims=True)
