"""The real pose datasets in ../shared/data/pose, mapped to the BlazePose 33-landmark layout.

- `squat_3d`: 19 triangulated joints (cm, y down) -> the matching BlazePose slots; the rest stay NaN, which is
  harmless because features use only the 17 kept landmarks (all present). Group = recording date.
- `pushup`: already BlazePose 33 × (x, y, z, visibility). Group = near-duplicate group.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from liftsense.datasets.paths import data_dir, require
from liftsense.pose.landmarks import BP, KEPT_LANDMARKS, N_BLAZEPOSE
from liftsense.pose.normalize import hip_centre, torso_length
from liftsense.pose.sequences import PoseSequences

#: squat_3d joint order (inferred from geometry by the data's README) -> BlazePose index
SQUAT19_TO_BLAZEPOSE: tuple[int, ...] = (
    BP["nose"],
    BP["left_eye"],
    BP["right_eye"],
    BP["left_shoulder"],
    BP["right_shoulder"],
    BP["left_elbow"],
    BP["right_elbow"],
    BP["left_wrist"],
    BP["right_wrist"],
    BP["left_hip"],
    BP["right_hip"],
    BP["left_knee"],
    BP["right_knee"],
    BP["left_ankle"],
    BP["right_ankle"],
    BP["left_heel"],
    BP["right_heel"],
    BP["left_foot_index"],
    BP["right_foot_index"],
)
SQUAT_CORRECT_LABELS = frozenset({"olympic squat", "powerlifting squat"})


def reject_triangulation_outliers(
    kp33: np.ndarray, max_torso_lengths: float = 4.0, max_abs_cm: float = 1000.0
) -> tuple[np.ndarray, int]:
    """Blank frames whose kept joints fly off (failed triangulation: values up to ±1e5 cm).

    A frame is rejected when any kept coordinate is beyond `max_abs_cm` (10 m: outside any capture room), or any
    kept joint lies more than `max_torso_lengths` median torso lengths from the clip's median hip centre.
    Returns the cleaned copy and the number of frames rejected.
    """
    out = kp33.copy()
    kept = out[:, KEPT_LANDMARKS, :3].astype(np.float64)
    kept[(np.abs(kept) > max_abs_cm).any(axis=(1, 2))] = np.nan
    with warnings.catch_warnings():  # a clip whose frames are all rejected has no median: NaN, handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmedian(hip_centre(kept), axis=0)
        torso = np.nanmedian(torso_length(kept))
    dist = np.linalg.norm(kept - centre, axis=-1)
    bad = ~(np.max(np.where(np.isfinite(dist), dist, np.inf), axis=1) <= max_torso_lengths * torso)
    out[bad] = np.nan
    return out, int(bad.sum())


def load_squat_3d() -> PoseSequences:
    root = require(data_dir() / "pose" / "squat_3d")
    z = np.load(require(root / "squat_19joint_3d.npz"))
    index = pd.read_csv(root / "squat_19joint_3d_index.csv", dtype={"recording_date_ddmmyyyy": str})
    kp, offsets = z["kp"], z["offsets"]
    if len(index) != len(offsets) - 1 or list(index["filename"]) != [str(f) for f in z["filename"]]:
        raise ValueError(f"{root}: index CSV and npz disagree on the clip list")
    full = np.full((len(kp), N_BLAZEPOSE, 4), np.nan, dtype=np.float32)
    full[:, list(SQUAT19_TO_BLAZEPOSE), :3] = kp
    clips, rejected = [], 0
    for i in range(len(index)):
        clip, n_bad = reject_triangulation_outliers(full[offsets[i] : offsets[i + 1]])
        clips.append(clip)
        rejected += n_bad
    labels = index["label"].astype(str)
    meta = pd.DataFrame(
        {
            "sequence_id": index["filename"].astype(str),
            "exercise": "squat",
            "label": labels,
            "correct": labels.isin(SQUAT_CORRECT_LABELS),
            "group": index["recording_date_ddmmyyyy"],
        }
    )
    seqs = PoseSequences.from_clips(clips, meta, fps=30.0, source="squat_3d")
    seqs.meta["outlier_frames"] = [int(np.isnan(c[:, 0, 0]).sum()) for c in clips]
    return seqs


def load_pushup() -> PoseSequences:
    root = require(data_dir() / "pose" / "pushup_mediapipe33")
    z = np.load(require(root / "pushup_mediapipe33.npz"))
    index = pd.read_csv(root / "pushup_mediapipe33_index.csv")
    if list(index["video_id"]) != [str(v) for v in z["video_id"]]:
        raise ValueError(f"{root}: index CSV and npz disagree on the clip list")
    correct = z["label_correct"].astype(bool)
    meta = pd.DataFrame(
        {
            "sequence_id": index["video_id"].astype(str),
            "exercise": "pushup",
            "label": np.where(correct, "correct", "wrong"),
            "correct": correct,
            "group": "g" + index["near_dup_group"].astype(str),
        }
    )
    return PoseSequences(
        landmarks=z["kp"].astype(np.float32),
        offsets=z["offsets"].astype(np.int64),
        meta=meta,
        fps=30.0,
        source="pushup_mediapipe33",
    )
