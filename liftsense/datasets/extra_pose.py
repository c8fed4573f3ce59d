"""Two small real form datasets in ../shared/data/pose, mapped to the BlazePose 33-landmark layout.

- `exercise_correction`: BlazePose frames saved by key press (curl leaning back, forward lunge knee over toe,
  plank hips high or low). Each source file kept only some landmarks: the others stay NaN and are declared
  absent (`PoseSequences.absent`), so features and gates know they were never recorded. Group = camera scene.
  The phase-only tasks (lunge and squat up / mid / down) are not form labels: `load_exercise_phases`.
- `posetrainer`: OpenPose COCO-18 single reps (curl, front raise, shoulder press, shrug), 2-D pixels. No depth:
  z stays NaN (never 0), and the features that read these clips are image-plane ones
  (`liftsense.pose.partial_features`). OpenPose's neck is the shoulder midpoint: it restores a shoulder that
  OpenPose lost while the other shoulder and the neck were seen. Group = camera set-up.

Each exercise is stored under the paper's name where the movement is a close relative, and under its own name where
the coach must count it differently (`PAPER_RELATIVE`), with the source's own name in `source_exercise`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from liftsense.datasets.paths import data_dir, require
from liftsense.pose.landmarks import BLAZEPOSE_NAMES, BP, N_BLAZEPOSE
from liftsense.pose.sequences import PoseSequences


class Relative(NamedTuple):
    """How a source's exercise enters the product: the name the coach judges it under, the paper's exercise
    it stands in for (None: none of the 9), and how close the two are, in words."""

    exercise: str
    paper: str | None
    relation: str


PAPER_RELATIVE: dict[str, Relative] = {
    "bicep_curl": Relative(
        "barbell_curl", "barbell_curl", "close: the same elbow flexion, with dumbbells instead of a bar"
    ),
    "shoulder_press": Relative(
        "overhead_press", "overhead_press", "close: dumbbells instead of a barbell, seated or standing"
    ),
    "front_raise": Relative(
        "side_raise",
        "side_raise",
        "related only: the arm rises forward (sagittal plane), not sideways; the same shoulder angle drives it",
    ),
    # its own exercise in the coach: both knees bend, where a side lunge bends one (see coach/exercises.py)
    "forward_lunge": Relative(
        "forward_lunge",
        "side_lunge",
        "related only: a forward, not a sideways step; knee over toe is the same fault",
    ),
    "plank": Relative("plank", None, "none of the paper's 9: a static hold, judged by the body line"),
    "shoulder_shrug": Relative(
        "shoulder_shrug", None, "none of the paper's 9: shoulder elevation, filmed front on"
    ),
}

#: exercise_correction task -> source exercise (form tasks only; the phase tasks are `PHASE_TASKS`)
FORM_TASKS: dict[str, str] = {
    "bicep_curl_lean": "bicep_curl",
    "lunge_knee_over_toe": "forward_lunge",
    "plank_hips": "plank",
}
PHASE_TASKS: dict[str, str] = {"lunge_stage": "forward_lunge", "squat_stage": "squat"}


def _correction_file() -> tuple[dict, pd.DataFrame]:
    root = require(data_dir() / "pose" / "exercise_correction_mediapipe")
    z = dict(np.load(require(root / "exercise_correction_mediapipe33.npz")))
    index = pd.read_csv(root / "exercise_correction_mediapipe33_index.csv")
    if len(index) != len(z["offsets"]) - 1 or list(index["task"]) != [str(t) for t in z["task"]]:
        raise ValueError(f"{root}: index CSV and npz disagree on the sequence list")
    return z, index


def _sequences(z: dict, rows: np.ndarray, meta: pd.DataFrame, source: str) -> PoseSequences:
    offsets = z["offsets"]
    clips = [z["kp"][offsets[i] : offsets[i + 1]] for i in rows]
    seqs = PoseSequences.from_clips(clips, meta.reset_index(drop=True), fps=30.0, source=source)
    seqs.declare_absent()
    return seqs


def load_exercise_correction(tasks: list[str] | None = None) -> PoseSequences:
    """The form-labelled sequences (curl lean, lunge knee over toe, plank hips), one group per camera scene.

    The rows were saved while a key was held, so a sequence is a fragment of a rep, and the frame rate is
    nominal (30 fps). `tasks`: a subset of `FORM_TASKS` (default all).
    """
    z, index = _correction_file()
    tasks = list(FORM_TASKS) if tasks is None else tasks
    unknown = sorted(set(tasks) - set(FORM_TASKS))
    if unknown:
        raise ValueError(
            f"unknown exercise_correction tasks {unknown}; expected some of {sorted(FORM_TASKS)}"
        )
    rows = np.flatnonzero(index["task"].isin(tasks).to_numpy() & (index["label_correct"] >= 0).to_numpy())
    part = index.iloc[rows]
    source_exercise = part["task"].map(FORM_TASKS)
    correct = part["label_correct"].to_numpy() == 1
    meta = pd.DataFrame(
        {
            "sequence_id": "ec" + part["seq"].astype(str).str.zfill(3),
            "exercise": source_exercise.map(lambda e: PAPER_RELATIVE[e].exercise),
            "label": np.where(correct, "correct", part["label_name"].astype(str)),
            "correct": correct,
            "group": part["scene"].astype(str),
            "source_exercise": source_exercise,
            "task": part["task"].astype(str),
        }
    )
    return _sequences(z, rows, meta, "exercise_correction_mediapipe33")


def load_exercise_phases(task: str) -> PoseSequences:
    """A phase task's sequences in recording order (label = the phase: up / mid / down / init_standing), with
    `first_row`, the source CSV row each starts at. Ground truth for where reps turn, not for form."""
    if task not in PHASE_TASKS:
        raise ValueError(f"unknown phase task {task!r}; expected one of {sorted(PHASE_TASKS)}")
    z, index = _correction_file()
    rows = np.flatnonzero((index["task"] == task).to_numpy())
    part = index.iloc[rows]
    meta = pd.DataFrame(
        {
            "sequence_id": "ec" + part["seq"].astype(str).str.zfill(3),
            "exercise": PHASE_TASKS[task],
            "label": part["label_name"].astype(str),
            "correct": False,
            "group": part["scene"].astype(str),
            "source": part["source"].astype(str),
            "first_row": part["src_row_first"].astype(int),
            "last_row": part["src_row_last"].astype(int),
            # mean landmark jump from the previous sequence's last row (NaN at a file's start): small = the
            # same continuous recording, where only the phase label changed
            "jump_before": part["jump_before"].astype(float),
            "near_dup_frac_other_file": part["near_dup_frac_other_file"].astype(float),
        }
    )
    return _sequences(z, rows, meta, f"exercise_correction_mediapipe33:{task}")


def openpose18_to_blazepose(kp18: np.ndarray, blazepose_index: np.ndarray, neck: int = 1) -> np.ndarray:
    """OpenPose COCO-18 (frames, 18, 3: x, y, confidence) -> BlazePose (frames, 33, 4).

    x and y stay in pixels and z is NaN (2-D data: no depth, never 0). Visibility is NaN ("not reported"):
    OpenPose's confidence is a heatmap peak, not BlazePose's visibility (its median on clearly seen shoulders is
    0.55), and the source already blanked undetected points (confidence 0), so a point present counts as seen.
    A shoulder missing while the neck (the shoulder midpoint) and the other shoulder are seen is restored as
    2 * neck - other shoulder.
    """
    out = np.full((len(kp18), N_BLAZEPOSE, 4), np.nan, dtype=np.float32)
    for src, dst in enumerate(blazepose_index):
        if dst >= 0:
            out[:, dst, :2] = kp18[:, src, :2]
    neck_xy = kp18[:, neck, :2]
    for side, other in (("left", "right"), ("right", "left")):
        s, o = BP[f"{side}_shoulder"], BP[f"{other}_shoulder"]
        lost = ~np.isfinite(out[:, s, 0]) & np.isfinite(out[:, o, 0]) & np.isfinite(neck_xy[:, 0])
        out[lost, s, :2] = 2.0 * neck_xy[lost] - out[lost, o, :2]
    return out


def load_posetrainer(exercises: list[str] | None = None) -> PoseSequences:
    """Single OpenPose reps, good or bad (the fault is not named: label "incorrect"); group = camera set-up."""
    root = require(data_dir() / "pose" / "posetrainer_openpose18")
    z = np.load(require(root / "posetrainer_openpose18.npz"))
    index = pd.read_csv(root / "posetrainer_openpose18_index.csv")
    if list(index["filename"]) != [str(f) for f in z["filename"]]:
        raise ValueError(f"{root}: index CSV and npz disagree on the clip list")
    names = [str(n) for n in z["joint_names"]]
    mapping = np.asarray(z["blazepose_index"], dtype=int)
    for name, dst in zip(
        names, mapping, strict=True
    ):  # the file's own mapping must agree with its joint names
        if dst >= 0 and BLAZEPOSE_NAMES[dst] != name:
            raise ValueError(f"{root}: joint {name!r} is mapped to BlazePose {BLAZEPOSE_NAMES[dst]!r}")
    source_exercise = index["exercise"].astype(str)
    rows = np.arange(len(index))
    if exercises is not None:
        unknown = sorted(set(exercises) - set(source_exercise))
        if unknown:
            raise ValueError(
                f"unknown posetrainer exercises {unknown}; expected some of {sorted(set(source_exercise))}"
            )
        rows = np.flatnonzero(source_exercise.isin(exercises).to_numpy())
    kp = openpose18_to_blazepose(z["kp"], mapping, neck=names.index("neck"))
    offsets = z["offsets"]
    part = index.iloc[rows]
    correct = part["label_correct"].to_numpy() == 1
    meta = pd.DataFrame(
        {
            "sequence_id": part["filename"].astype(str),
            "exercise": source_exercise.iloc[rows].map(lambda e: PAPER_RELATIVE[e].exercise),
            "label": np.where(correct, "correct", "incorrect"),
            "correct": correct,
            "group": part["setup_group"].astype(str),
            "source_exercise": source_exercise.iloc[rows],
        }
    )
    clips = [kp[offsets[i] : offsets[i + 1]] for i in rows]
    seqs = PoseSequences.from_clips(
        clips, meta.reset_index(drop=True), fps=30.0, source="posetrainer_openpose18"
    )
    seqs.declare_absent()
    return seqs
