"""The fault catalogue: every synthetic fault, defined kinematically, in one place.

Each fault scales a joint-level parameter of the exercise programme (see `programs.py`) by a severity drawn
per clip. Ranges of correct and faulty clips touch or overlap slightly, and subject habits, camera and
sensor noise come on top, so no single feature separates them cleanly.
`docs/faults.md` is generated from this table (`python -m liftsense.pose.synth.faults > docs/faults.md`).
"""

from __future__ import annotations

from typing import NamedTuple


class Fault(NamedTuple):
    name: str
    description: str  # what goes wrong, in the lifter's terms
    kinematics: str  # the parameter it changes, correct range vs faulty range


EXERCISES: tuple[str, ...] = (
    "barbell_curl",
    "deadlift",
    "knee_up",
    "leg_raise",
    "overhead_press",
    "side_crunch",
    "side_lunge",
    "side_raise",
    "squat",
)

FAULTS: dict[str, tuple[Fault, ...]] = {
    "barbell_curl": (
        Fault(
            "elbow_drift",
            "elbows travel forward during the curl",
            "upper-arm elevation gain over the rep: correct 0-12°, fault 18-45°",
        ),
        Fault(
            "torso_swing",
            "the torso rocks back to swing the bar up",
            "trunk lean back at the top: correct 0-4°, fault 7-20°",
        ),
        Fault(
            "partial_range",
            "the bar stops well short of the shoulders",
            "peak elbow flexion: correct 120-150°, fault 80-112°",
        ),
    ),
    "deadlift": (
        Fault(
            "squatting_the_lift",
            "hips sink low and the torso stays upright, like a squat",
            "hip drop at the bottom: correct 6-18% of leg length, fault 24-45%; trunk lean reduced by 20-35°",
        ),
        Fault(
            "hyperextension_lockout",
            "the lifter leans back at lockout",
            "trunk lean at the top: correct -3 to +2°, fault -8 to -20°",
        ),
        Fault(
            "bar_drift",
            "the bar drifts away from the legs",
            "arm angle forward of vertical at the bottom: correct 0-8°, fault 14-32°",
        ),
    ),
    "knee_up": (
        Fault(
            "low_knee",
            "the knee stops well below hip height",
            "peak hip flexion: correct 78-100°, fault 40-68°",
        ),
        Fault(
            "leaning_back",
            "the torso leans back as the knee comes up",
            "trunk lean back at the top: correct 0-4°, fault 8-25°",
        ),
    ),
    "leg_raise": (
        Fault(
            "bent_knees",
            "the knees bend to make the lift easier",
            "knee flexion at the top: correct 0-12°, fault 22-60°",
        ),
        Fault(
            "partial_range",
            "the legs stop far short of vertical",
            "peak hip flexion: correct 75-95°, fault 35-62°",
        ),
    ),
    "overhead_press": (
        Fault(
            "back_arch",
            "the lower back arches and the torso leans back",
            "trunk lean back at lockout: correct 0-5°, fault 9-25°",
        ),
        Fault(
            "partial_lockout",
            "the elbows never straighten overhead",
            "elbow flexion at the top: correct 5-22°, fault 32-60°",
        ),
        Fault(
            "asymmetric_press",
            "one arm lags behind the other",
            "one arm's phase delayed by 12-30% of the rep and its range cut by 10-30%; correct delay 0-5%",
        ),
    ),
    "side_crunch": (
        Fault(
            "forward_bend",
            "the torso folds forward instead of sideways",
            "trunk forward lean at the bottom: correct 0-8°, fault 15-35°",
        ),
        Fault(
            "small_range", "the side bend is barely visible", "peak side bend: correct 22-40°, fault 7-17°"
        ),
    ),
    "side_lunge": (
        Fault(
            "knee_caving",
            "the bent knee collapses inward over the foot",
            "knee valgus on the working leg: correct -5 to 6°, fault 12-32°",
        ),
        Fault(
            "insufficient_depth",
            "the hips barely drop",
            "hip drop: correct 22-35% of leg length, fault 8-18%",
        ),
        Fault(
            "forward_lean",
            "the chest falls forward over the knee",
            "trunk lean at the bottom: correct 10-32°, fault 40-60°",
        ),
    ),
    "side_raise": (
        Fault(
            "bent_elbows", "the arms bend, shortening the lever", "elbow flexion: correct 5-22°, fault 35-75°"
        ),
        Fault(
            "torso_swing",
            "the torso rocks back to swing the weights up",
            "trunk lean back at the top: correct 0-4°, fault 7-20°",
        ),
        Fault(
            "too_high",
            "the arms go well above shoulder height",
            "peak arm elevation: correct 78-98°, fault 112-140°",
        ),
    ),
    "squat": (
        Fault(
            "insufficient_depth",
            "the hips stay well above the knees",
            "hip drop: correct 40-62% of leg length, fault 22-38%",
        ),
        Fault(
            "knees_caving",
            "the knees collapse inward (valgus)",
            "knee bend direction toward the midline: correct -5 to 6°, fault 12-28°",
        ),
        Fault(
            "heels_lifting",
            "the heels come off the floor at the bottom",
            "heel lift: correct 0-3°, fault 7-20°",
        ),
        Fault(
            "excessive_forward_lean",
            "the chest drops and the torso folds forward",
            "trunk lean at the bottom: correct 20-45°, fault 50-72°",
        ),
    ),
}

assert set(FAULTS) == set(EXERCISES) and all(len(f) >= 2 for f in FAULTS.values())


def markdown() -> str:
    lines = [
        "# Synthetic faults",
        "",
        "Generated from `liftsense/pose/synth/faults.py`; do not edit by hand.",
        "Angles in degrees, lengths as a fraction of the lifter's leg length. Severity is drawn uniformly per clip",
        "within the fault range; correct clips draw within the correct range.",
        "",
    ]
    for exercise in EXERCISES:
        lines += [f"## {exercise}", "", "| fault | what goes wrong | kinematics |", "|---|---|---|"]
        lines += [f"| `{f.name}` | {f.description} | {f.kinematics} |" for f in FAULTS[exercise]]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
