"""The coach: per-rep feedback (count, range of motion, tempo, verdict and named fault) from landmarks.

Public API: `coach_clip(LandmarkClip(...), exercise, model)` -> `CoachReport`; `load_form_model` (the registry
champion for an exercise); `load_window_model` and `classify_windows` (the paper's window networks); `EXERCISE_REPS` (one row per
exercise: its driving signal and thresholds); `segment_reps`; `LiveCoach` for frame-by-frame use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: where each public name lives; imported on first use, so that importing a name (the service's schemas import
#: `CoachReport`) does not import pandas, scipy and the models behind the rest
_HOME = {
    "LandmarkClip": "coach",
    "check_exercise": "coach",
    "coach_clip": "coach",
    "EXERCISE_REPS": "exercises",
    "RepSignal": "exercises",
    "driving_signal": "exercises",
    "rep_signal_of": "exercises",
    "LiveCoach": "live",
    "NoFormModel": "models",
    "classify_windows": "models",
    "default_tracking_uri": "models",
    "load_form_model": "models",
    "load_window_model": "models",
    "CoachReport": "report",
    "RepReport": "report",
    "SetSummary": "report",
    "Rep": "segment",
    "segment_reps": "segment",
}

if TYPE_CHECKING:
    from liftsense.coach.coach import LandmarkClip, check_exercise, coach_clip
    from liftsense.coach.exercises import EXERCISE_REPS, RepSignal, driving_signal, rep_signal_of
    from liftsense.coach.live import LiveCoach
    from liftsense.coach.models import (
        NoFormModel,
        classify_windows,
        default_tracking_uri,
        load_form_model,
        load_window_model,
    )
    from liftsense.coach.report import CoachReport, RepReport, SetSummary
    from liftsense.coach.segment import Rep, segment_reps


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "EXERCISE_REPS",
    "CoachReport",
    "LandmarkClip",
    "LiveCoach",
    "NoFormModel",
    "Rep",
    "RepReport",
    "RepSignal",
    "SetSummary",
    "check_exercise",
    "classify_windows",
    "coach_clip",
    "default_tracking_uri",
    "driving_signal",
    "load_form_model",
    "load_window_model",
    "rep_signal_of",
    "segment_reps",
]
