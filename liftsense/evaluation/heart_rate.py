"""Scoring heart-rate tracks against an ECG reference, the way the literature does, plus what a rest timer needs.

- `aae_all`: mean absolute error over every scored window, using the candidate value even where the tracker said
  "no reading" (the literature's protocol, comparable with published figures).
- `aae_reported`, `coverage`: error over the windows actually reported, and their share.
- `confident_wrong`: share of *reported* windows off by more than `wrong_bpm`: the readings that would end a rest
  on a wrong number. Windows whose reference is NaN (no usable ECG) are not scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WRONG_BPM = 10.0


def track_arrays(estimates: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(candidate, reported) BPM per window, NaN where absent."""
    candidate = np.array([np.nan if e.candidate_bpm is None else e.candidate_bpm for e in estimates])
    reported = np.array([np.nan if e.bpm is None else e.bpm for e in estimates])
    return candidate, reported


def score_heart_rate(estimates: Sequence, truth: np.ndarray, wrong_bpm: float = WRONG_BPM) -> dict:
    candidate, reported = track_arrays(estimates)
    truth = np.asarray(truth, dtype=np.float64)[: len(candidate)]
    candidate, reported = candidate[: len(truth)], reported[: len(truth)]
    scored = np.isfinite(truth)
    has_candidate = scored & np.isfinite(candidate)
    ok = scored & np.isfinite(reported)
    err_reported = np.abs(reported - truth)[ok]
    return {
        "windows": int(scored.sum()),
        "aae_all": float(np.mean(np.abs(candidate - truth)[has_candidate])) if has_candidate.any() else None,
        "aae_reported": float(err_reported.mean()) if ok.any() else None,
        "coverage": float(ok.sum() / max(1, scored.sum())),
        "reported": int(ok.sum()),
        "confident_wrong": int((err_reported > wrong_bpm).sum()),
        "confident_wrong_rate": float((err_reported > wrong_bpm).mean()) if ok.any() else 0.0,
    }


def pool_scores(per_recording: Sequence[dict]) -> dict:
    """A set's figures: mean of per-recording AAE (as published), windows pooled for coverage and wrong rate."""
    valid_all = [p["aae_all"] for p in per_recording if p["aae_all"] is not None]
    valid_rep = [p["aae_reported"] for p in per_recording if p["aae_reported"] is not None]
    reported = sum(p["reported"] for p in per_recording)
    return {
        "recordings": len(per_recording),
        "mean_aae_all": float(np.mean(valid_all)) if valid_all else None,
        "mean_aae_reported": float(np.mean(valid_rep)) if valid_rep else None,
        "coverage": reported / max(1, sum(p["windows"] for p in per_recording)),
        "confident_wrong_rate": sum(p["confident_wrong"] for p in per_recording) / max(1, reported),
    }
