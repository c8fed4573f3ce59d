"""The coach: per-rep feedback (count, range of motion, tempo, verdict and named fault) from landmarks.

Public API: `coach_clip(LandmarkClip(...), exercise, model)` -> `CoachReport`; `EXERCISE_REPS` (one row per
exercise: its driving signal and thresholds); `segment_reps`; `LiveCoach` for frame-by-frame use.
"""

from liftsense.coach.coach import LandmarkClip, check_exercise, coach_clip
from liftsense.coach.exercises import EXERCISE_REPS, RepSignal, driving_signal, rep_signal_of
from liftsense.coach.live import LiveCoach
from liftsense.coach.report import CoachReport, RepReport, SetSummary
from liftsense.coach.segment import Rep, segment_reps

__all__ = [
    "EXERCISE_REPS",
    "CoachReport",
    "LandmarkClip",
    "LiveCoach",
    "Rep",
    "RepReport",
    "RepSignal",
    "SetSummary",
    "check_exercise",
    "coach_clip",
    "driving_signal",
    "rep_signal_of",
    "segment_reps",
]
