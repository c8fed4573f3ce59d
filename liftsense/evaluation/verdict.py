"""The end of a training run in plain words: does the model beat the simple baselines on held-out clips?

A user should not have to read 90 metrics to learn that a model is no better than always answering "correct".
"""

from __future__ import annotations

import math


def _pairs(metrics: dict[str, float], task: str) -> list[tuple[str, float, float, str]]:
    """(score name, model, baseline, what the baseline does) for the task's headline scores."""
    if task == "fault":
        scores = [
            ("clip macro-F1", "clip_macro_f1", "baseline_majority_clip_macro_f1", "the most frequent label")
        ]
    else:
        scores = [("clip F1", "clip_f1", "baseline_always_correct_clip_f1", 'always "correct"')]
    scores.append(
        ("clip accuracy", "clip_accuracy", "baseline_majority_clip_accuracy", "the most frequent label")
    )
    return [
        (name, metrics[model], metrics[base], does)
        for name, model, base, does in scores
        if model in metrics and base in metrics
    ]


def baseline_verdict(metrics: dict[str, float], task: str) -> str:
    """One sentence: whether the model beats every baseline it is shown beside, with the numbers."""
    pairs = [p for p in _pairs(metrics, task) if not (math.isnan(p[1]) or math.isnan(p[2]))]
    clips = int(metrics.get("n_clips_scored", 0))
    if not pairs:
        return f"verdict: no baseline could be scored on the {clips} held-out clips"
    detail = "; ".join(
        f"{name} {model:.3f} against {base:.3f} for {does}" for name, model, base, does in pairs
    )
    losing = [name for name, model, base, _ in pairs if model <= base]
    where = f"on {clips} clips of held-out groups"
    if not losing:
        return f"verdict: the model beats the simple baselines {where} ({detail})."
    return (
        f"verdict: the model is NO better than a simple baseline in {' and '.join(losing)} {where} ({detail}). "
        "promote.py serves a model only if it beats its baseline on validation data; more or cleaner data, or "
        "another model, is needed."
    )
