"""Scores for a form model that must hold up on a new session: per group, at a fixed false-alarm rate, abstaining.

A pooled F1 hides a session where the coach fails; a coach that nags on good reps is abandoned; and a coach that
says "not sure" when it is unsure is only useful if it still judges most reps. These are the three views.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def leave_one_group_out(
    fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], groups: np.ndarray, n_classes: int
) -> np.ndarray:
    """Out-of-group probabilities: `fit_predict(train_idx, test_idx)` -> (len(test), n_classes) for each held-out
    group in turn; a NaN row where the model gave no reading."""
    groups = np.asarray(groups).astype(str)
    out = np.full((len(groups), n_classes), np.nan)
    for group in dict.fromkeys(groups):
        test = np.flatnonzero(groups == group)
        out[test] = fit_predict(np.flatnonzero(groups != group), test)
    return out


def per_group_f1(
    y: np.ndarray, pred: np.ndarray, groups: np.ndarray, average: str = "binary"
) -> dict[str, float]:
    """F1 per group, for groups holding more than one true class (elsewhere F1 says nothing about errors)."""
    from sklearn.metrics import f1_score

    groups = np.asarray(groups).astype(str)
    return {
        g: float(f1_score(y[groups == g], pred[groups == g], average=average, zero_division=0.0))
        for g in dict.fromkeys(groups)
        if len(np.unique(y[groups == g])) > 1
    }


def spread(values: dict[str, float]) -> dict[str, float]:
    """Mean, sd, min and max over groups (NaN without groups)."""
    v = np.array(list(values.values()), dtype=float)
    if not len(v):
        return {"mean": float("nan"), "sd": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {
        "mean": float(v.mean()),
        "sd": float(v.std()),
        "min": float(v.min()),
        "max": float(v.max()),
        "n": len(v),
    }


def recall_at_false_alarm(
    p_correct: np.ndarray, labels: np.ndarray, correct: np.ndarray, false_alarm: float = 0.1
) -> dict[str, float]:
    """Per fault, the share of its clips flagged when the flag threshold on P(correct) is set so that
    `false_alarm` of the correct clips are flagged (the operating point a coach would ship).

    Returns {"threshold": t, "false_alarm": achieved, <fault>: recall, ...}; clips without a reading are ignored.
    """
    p = np.asarray(p_correct, dtype=float)
    ok = np.isfinite(p)
    correct = np.asarray(correct, dtype=bool)
    if not (ok & correct).any():
        raise ValueError("no correct clip with a reading: the false-alarm rate is undefined")
    threshold = float(np.quantile(p[ok & correct], false_alarm))
    flagged = p < threshold
    out = {"threshold": threshold, "false_alarm": float(flagged[ok & correct].mean())}
    labels = np.asarray(labels).astype(str)
    for fault in sorted(set(labels[~correct])):
        members = ok & ~correct & (labels == fault)
        out[fault] = float(flagged[members].mean()) if members.any() else float("nan")
    return out


def abstaining(proba: np.ndarray, y: np.ndarray, groups: np.ndarray, judge_share: float) -> dict[str, float]:
    """ "Not sure" as training sets it (`ClipFormModel.learn_when_unsure`), leave one group out: each group's bar
    is the top-class probability that leaves `judge_share` of the other groups' clips judged. Returns the share
    of clips with a reading that is judged and the accuracy on it, beside the accuracy on all of them."""
    ok = np.isfinite(proba).all(axis=1)
    top = np.where(ok, np.nan_to_num(proba).max(axis=1), np.nan)
    pred = np.nan_to_num(proba, nan=-1.0).argmax(axis=1)
    groups = np.asarray(groups).astype(str)
    sure = np.zeros(len(y), dtype=bool)
    for group in dict.fromkeys(groups):
        others = (groups != group) & ok
        if others.any():
            sure |= (groups == group) & ok & (top >= np.quantile(top[others], 1.0 - judge_share))
    return {
        "judged_share": float(sure.sum() / max(ok.sum(), 1)),
        "judged_accuracy": float((pred[sure] == y[sure]).mean()) if sure.any() else float("nan"),
        "accuracy_all": float((pred[ok] == y[ok]).mean()) if ok.any() else float("nan"),
    }


def summary_row(method: str, y: np.ndarray, proba: np.ndarray, groups: np.ndarray, task: str) -> dict:
    """Pooled F1 and accuracy over the clips with a reading, and the spread of per-group F1."""
    from sklearn.metrics import accuracy_score, f1_score

    ok = np.isfinite(proba).all(axis=1)
    pred = np.nan_to_num(proba, nan=-1.0).argmax(axis=1)
    average = "binary" if task == "binary" else "macro"
    groups_f1 = per_group_f1(y[ok], pred[ok], np.asarray(groups)[ok], average)
    s = spread(groups_f1)
    return {
        "method": method,
        "clips": int(ok.sum()),
        "pooled_f1": float(f1_score(y[ok], pred[ok], average=average, zero_division=0.0)),
        "pooled_accuracy": float(accuracy_score(y[ok], pred[ok])),
        "group_f1_mean": s["mean"],
        "group_f1_sd": s["sd"],
        "group_f1_min": s["min"],
        "groups_scored": s["n"],
        "per_group_f1": {g: round(v, 3) for g, v in groups_f1.items()},
    }


def describe_group_verdicts(meta: pd.DataFrame) -> pd.DataFrame:
    """Per group: clips, share correct, and whether it is one-sided (all correct, or no correct clip)."""
    by = meta.groupby(meta["group"].astype(str))["correct"]
    out = pd.DataFrame({"clips": by.size(), "correct_share": by.mean()})
    out["kind"] = np.select(
        [out["correct_share"] == 0, out["correct_share"] == 1], ["no correct clip", "all correct"], "mixed"
    )
    return out
