"""The plain-words verdict a training run ends with."""

import math

from liftsense.evaluation.verdict import baseline_verdict


def test_a_model_beating_both_baselines_is_told_so_with_its_numbers():
    m = {
        "clip_f1": 0.75,
        "baseline_always_correct_clip_f1": 0.41,
        "clip_accuracy": 0.84,
        "baseline_majority_clip_accuracy": 0.74,
        "n_clips_scored": 690,
    }
    said = baseline_verdict(m, "binary")
    assert said.startswith("verdict: the model beats the simple baselines on 690 clips")
    assert 'clip F1 0.750 against 0.410 for always "correct"' in said
    assert "clip accuracy 0.840 against 0.740" in said


def test_losing_to_one_baseline_is_named_and_a_tie_is_a_loss():
    m = {
        "clip_f1": 0.44,
        "baseline_always_correct_clip_f1": 0.42,
        "clip_accuracy": 0.59,
        "baseline_majority_clip_accuracy": 0.73,
        "n_clips_scored": 171,
    }
    said = baseline_verdict(m, "binary")
    assert "NO better than a simple baseline in clip accuracy on 171" in said
    assert "clip F1 and" not in said
    tie = baseline_verdict(m | {"clip_accuracy": 0.73}, "binary")
    assert "NO better" in tie


def test_fault_models_are_judged_on_macro_f1_and_missing_scores_say_so():
    m = {
        "clip_macro_f1": 0.3,
        "baseline_majority_clip_macro_f1": 0.05,
        "clip_accuracy": 0.5,
        "baseline_majority_clip_accuracy": 0.25,
        "n_clips_scored": 40,
    }
    assert "clip macro-F1 0.300 against 0.050 for the most frequent label" in baseline_verdict(m, "fault")
    assert "no baseline could be scored" in baseline_verdict({"clip_f1": math.nan}, "binary")
