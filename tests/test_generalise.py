"""Scores for new sessions: per group, at a fixed false-alarm rate, abstaining; and the coach's "not sure"."""

from __future__ import annotations

import numpy as np
import pytest

from liftsense.evaluation.generalise import (
    abstaining,
    describe_group_verdicts,
    per_group_f1,
    recall_at_false_alarm,
    summary_row,
)


def test_per_group_f1_skips_one_sided_groups_and_the_spread_shows_the_worst():
    y = np.array([1, 0, 1, 0, 1, 1, 0, 0])
    pred = np.array([1, 0, 0, 1, 1, 1, 1, 1])
    groups = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    f1 = per_group_f1(y, pred, groups)
    assert f1 == {"a": 1.0, "b": 0.0}  # c is all correct, d all faulty: F1 there says nothing
    proba = np.stack([1 - pred, pred], axis=1).astype(float)
    row = summary_row("m", y, proba, groups, "binary")
    assert row["group_f1_min"] == 0.0 and row["group_f1_mean"] == 0.5 and row["groups_scored"] == 2


def test_recall_at_false_alarm_sets_the_bar_on_correct_clips():
    p_correct = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.2, 0.1, 0.3, 0.65, np.nan])
    correct = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    labels = np.array(["ok"] * 5 + ["depth", "depth", "lean", "lean", "lean", "lean"])
    out = recall_at_false_alarm(p_correct, labels, correct, false_alarm=0.2)
    assert out["false_alarm"] == pytest.approx(0.2)  # one of five correct clips flagged
    assert out["depth"] == 1.0 and out["lean"] == pytest.approx(2 / 3)  # the NaN clip is ignored
    with pytest.raises(ValueError, match="no correct clip"):
        recall_at_false_alarm(p_correct, labels, np.zeros(11, bool))


def test_abstaining_sets_each_groups_bar_on_the_other_groups():
    top = np.array([0.95, 0.6, 0.7, 0.55, 0.9, 0.8, 0.65, 0.75])
    proba = np.stack([top, 1 - top], axis=1)
    y = np.array([0, 1, 0, 0, 0, 0, 1, 0])
    groups = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    out = abstaining(proba, y, groups, judge_share=0.5)
    # a's bar: the median of b's (0.775) judges 0.95 only; b's bar: the median of a's (0.65) judges 0.9, 0.8,
    # 0.65 and 0.75, and 0.65 (class 0 for a clip of class 1) is wrong
    assert out["judged_share"] == pytest.approx(5 / 8) and out["judged_accuracy"] == pytest.approx(4 / 5)
    assert out["accuracy_all"] == pytest.approx(6 / 8)


def test_describe_group_verdicts_names_one_sided_groups():
    import pandas as pd

    meta = pd.DataFrame({"group": ["a", "a", "b", "c", "c"], "correct": [True, False, True, False, False]})
    kinds = describe_group_verdicts(meta)["kind"].to_dict()
    assert kinds == {"a": "mixed", "b": "all correct", "c": "no correct clip"}


def test_the_not_sure_bar_leaves_the_chosen_share_of_validation_clips_judged():
    from liftsense.models.clip_model import ClipFormModel

    model = ClipFormModel(["incorrect", "correct"])
    top = np.linspace(0.5, 1.0, 11)
    validation = np.stack([top, 1 - top], axis=1)
    bar = model.learn_when_unsure(validation, 0.8)
    assert (validation.max(axis=1) >= bar).mean() == pytest.approx(9 / 11)  # 80% of 11 clips, rounded up
    assert model.learn_when_unsure(validation, None) == 0.0
    with pytest.raises(ValueError, match="judge_share"):
        model.learn_when_unsure(validation, 1.5)
