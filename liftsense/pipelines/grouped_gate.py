"""Promotion's grouped gate for clip models: score a model's settings on groups it never saw, every group in turn.

A split's validation groups are few where the data holds few sessions (squats: 2 recording dates), so a gate
read from them says more about those dates than about the model, and cannot judge at all when they hold one
class. A clip model refits in about a second, so promotion can do better: refit the logged model's settings
with each fold of groups left out (one group per fold up to `MAX_FOLDS`), pool the out-of-group predictions of
every training and validation clip, and score them and the task's baseline on the same clips. The test groups
are never read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from liftsense.evaluation.metrics import clip_targets, evaluate
from liftsense.pose.sequences import PoseSequences

log = logging.getLogger(__name__)

#: the most refits the gate makes; with fewer groups than this, each group is a fold of its own
MAX_FOLDS = 10


@dataclass(frozen=True)
class GroupedScore:
    """Pooled out-of-group metrics (`evaluation.metrics.evaluate`, baselines included) and how they were made."""

    metrics: dict[str, float]
    clips: PoseSequences  # the clips scored: those of the training and validation groups with a known label
    folds: int
    groups: int
    unfitted: tuple[str, ...]  # "held-out group(s): why" for folds whose other groups could not be fitted

    def describe(self) -> str:
        how = "one group per fold" if self.folds == self.groups else f"{self.folds} folds of whole groups"
        text = (
            f"{self.groups} training and validation groups, {len(self.clips)} clips, each scored by the model's "
            f"settings refitted without its group ({how})"
        )
        if self.unfitted:
            text += f"; {len(self.unfitted)} fold(s) could not be fitted, their clips unscored: " + "; ".join(
                self.unfitted
            )
        return text


def gate_clips(cfg: dict[str, Any], seqs: PoseSequences) -> PoseSequences:
    """The clips the gate scores: the training and validation groups of `cfg`'s split, never its test groups."""
    from liftsense.pipelines.posture import split_clips

    train, val, _ = split_clips(cfg, seqs, warn_one_class=False)
    return seqs.subset(np.sort(np.concatenate([train, val])))


def out_of_group_proba(
    model, seqs: PoseSequences, y: np.ndarray, max_folds: int = MAX_FOLDS
) -> tuple[np.ndarray, int, tuple[str, ...]]:
    """Each clip's class probabilities from `model`'s settings fitted on the other folds' groups (NaN rows: no
    reading), the number of folds, and the folds that could not be fitted, with why."""
    from sklearn.model_selection import GroupKFold

    from liftsense.pipelines.posture import clip_model_proba

    groups = seqs.meta["group"].astype(str).to_numpy()
    n_folds = min(len(np.unique(groups)), max_folds)
    if n_folds < 2:
        raise ValueError(f"the grouped gate needs at least 2 groups, got {n_folds}")
    proba = np.full((len(seqs), len(model.classes)), np.nan)
    unfitted: list[str] = []
    settings = model.settings()
    new_model = _with_features_once(seqs, settings)
    for fit_idx, held_idx in GroupKFold(n_splits=n_folds).split(np.zeros(len(groups)), groups=groups):
        held_groups = ", ".join(sorted(set(groups[held_idx])))
        try:
            fold_model = new_model(**settings).fit(seqs.subset(fit_idx), y[fit_idx])
        except ValueError as exc:  # e.g. the other groups hold one class, or no reference clips to calibrate
            unfitted.append(f"{held_groups}: {exc}")
            log.warning("grouped gate: the fold holding out %s cannot be fitted: %s", held_groups, exc)
            continue
        proba[held_idx] = clip_model_proba(fold_model, seqs.subset(held_idx))[0]
    return proba, n_folds, tuple(unfitted)


def _with_features_once(seqs: PoseSequences, settings: dict[str, Any]) -> type:
    """The model class to refit: one that computes every clip's features once for all folds (a fold refits on
    nine tenths of the same clips), unless clip ids repeat and cannot key a table."""
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.models.feature_cache import cached_feature_model

    if seqs.meta["sequence_id"].astype(str).duplicated().any():
        return ClipFormModel
    keys = ("feature_set", "rep_curves", "normalization", "rep_features")
    return cached_feature_model(seqs, **{key: settings[key] for key in keys})


def grouped_score(model, seqs: PoseSequences, task: str, max_folds: int = MAX_FOLDS) -> GroupedScore:
    """`model`'s settings scored out of group on `seqs` (clips whose label the model does not know are left out)."""
    y = clip_targets(task, seqs.meta, model.classes)
    clips = seqs.subset(np.flatnonzero(y >= 0))
    y = y[y >= 0]
    proba, folds, unfitted = out_of_group_proba(model, clips, y, max_folds)
    judged = np.flatnonzero(np.isfinite(proba).all(axis=1))
    if not len(judged):
        raise ValueError(
            "the grouped gate scored no clip: " + "; ".join(unfitted or ("no fold gave a reading",))
        )
    metrics = evaluate(proba[judged], judged, clips.meta, list(model.classes), task)
    groups = int(clips.meta["group"].nunique())
    return GroupedScore(metrics, clips, folds, groups, unfitted)
