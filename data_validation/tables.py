"""Datasets -> the tables the suites validate. Only numpy/pandas here: cheap, and testable without GE.

Deriving per-row facts in pandas (a frame's time step, a session's set-then-rest flag) and checking them with
built-in expectations avoids custom expectation classes, which GE silently drops when not imported.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd


class SourceError(ValueError):
    """The data could not be read or shaped for validation at all (exit 2, never 'failed')."""


# -- landmarks ---------------------------------------------------------------------------------------------------
def known_labels() -> dict[str, set[str]]:
    """Every exercise the platform knows and its allowed labels: correct, the faults, and "incorrect" (a fault
    the user did not name: their own videos are often labelled only correct or incorrect)."""
    from liftsense.datasets.real import SQUAT_CORRECT_LABELS
    from liftsense.pose.synth.faults import FAULTS

    labels = {ex: {"correct", *(f.name for f in faults)} for ex, faults in FAULTS.items()}
    labels["squat"] = (
        labels.get("squat", set())
        | set(SQUAT_CORRECT_LABELS)
        | {"no depth", "heels lifting", "toes lifting", "bending forward", "knees caving"}
    )
    labels["pushup"] = {"correct", "wrong"}
    labels["barbell_curl"] = labels.get("barbell_curl", set()) | {"lean_back"}
    labels["forward_lunge"] = {"correct", "knee_over_toe"}
    labels["plank"] = {"correct", "hips_too_high", "hips_too_low"}
    labels["shoulder_shrug"] = {"correct"}
    return {ex: allowed | {"incorrect"} for ex, allowed in labels.items()}


#: exercises done standing, where the head is above the hips in the image
UPRIGHT_EXERCISES = (
    "barbell_curl",
    "deadlift",
    "knee_up",
    "overhead_press",
    "side_lunge",
    "forward_lunge",
    "shoulder_shrug",
    "side_raise",
    "squat",
)


def landmark_tables(
    seqs,
    frame_table: pd.DataFrame | None = None,
    image_coordinates: bool = True,
    window: int = 15,
    n_features: int = 61,
    split_seed: int = 0,
    featurizer=None,
) -> dict[str, pd.DataFrame]:
    """frames (one row per frame), sequences (one per clip), windows (one per configured window shape), splits."""
    from liftsense.datasets.real import SQUAT_CORRECT_LABELS
    from liftsense.pose.angles import joint_angles
    from liftsense.pose.landmarks import KEPT_LANDMARKS, KEPT_NAMES

    kept = seqs.landmarks[:, list(KEPT_LANDMARKS), :].astype(np.float64)
    with np.errstate(all="ignore"), _quiet():
        # 2-D sources (OpenPose) have no depth: their angles are image-plane angles
        flat = np.isfinite(kept[:, :, :2]).all(axis=2) & ~np.isfinite(kept[:, :, 2])
        angles = joint_angles(
            np.where(
                flat[:, :, None], np.dstack([kept[:, :, :2], np.zeros_like(kept[:, :, 2])]), kept[:, :, :3]
            )
        )
        frames = pd.DataFrame(
            {
                "x_min": np.nanmin(kept[:, :, 0], axis=1),
                "x_max": np.nanmax(kept[:, :, 0], axis=1),
                "y_min": np.nanmin(kept[:, :, 1], axis=1),
                "y_max": np.nanmax(kept[:, :, 1], axis=1),
                "visibility_min": np.nanmin(kept[:, :, 3], axis=1),
                "visibility_max": np.nanmax(kept[:, :, 3], axis=1),
                "angle_min": np.nanmin(angles, axis=1),
                "angle_max": np.nanmax(angles, axis=1),
            }
        )
    present = np.isfinite(kept[:, :, :2]).all(axis=2)
    # triangulated 3-D data has no visibility channel (NaN): a present landmark then counts as visible
    visibility = kept[:, :, 3]
    visible = present & (np.isnan(visibility) | (visibility >= 0.5))
    lengths = seqs.lengths()
    clip = np.repeat(np.arange(len(seqs)), lengths)
    # the training gate: >= half the kept landmarks visible, of those the source records at all
    recorded = np.ones(kept.shape[:2], dtype=bool)
    exercise_of_clip = seqs.meta["exercise"].astype(str).to_numpy()
    for exercise, names in getattr(seqs, "absent", {}).items():
        rows = np.isin(clip, np.flatnonzero(exercise_of_clip == exercise))
        recorded[np.ix_(rows, [KEPT_NAMES.index(n) for n in names])] = False
    frames["low_quality"] = (visible & recorded).sum(axis=1) < 0.5 * recorded.sum(axis=1)
    # upright exercises: the head is above the hips in the image (y points down); NaN = rule does not apply
    exercise = seqs.meta["exercise"].astype(str).to_numpy()[clip]
    with _quiet():
        hips_y = np.nanmean(kept[:, [7, 8], 1], axis=1) if kept.shape[0] else np.zeros(0)
    with np.errstate(invalid="ignore"):
        above = (kept[:, 0, 1] < hips_y).astype(float)
    above[~np.isfinite(kept[:, 0, 1]) | ~np.isfinite(hips_y) | ~np.isin(exercise, UPRIGHT_EXERCISES)] = np.nan
    frames["head_above_hips"] = above
    if frame_table is not None:
        frames["sequence_id"] = frame_table["sequence_id"].astype(str).to_numpy()
        frames["frame_index"] = frame_table["frame_index"].to_numpy()
        frames["timestamp_s"] = frame_table["timestamp_s"].to_numpy(dtype=float)
    else:
        frames["sequence_id"] = seqs.meta["sequence_id"].astype(str).to_numpy()[clip]
        frames["frame_index"] = np.arange(len(clip)) - seqs.offsets[clip]
        frames["timestamp_s"] = frames["frame_index"] / seqs.fps
    frames["key"] = frames["sequence_id"] + "#" + frames["frame_index"].astype(str)
    grouped = frames.groupby("sequence_id", sort=False)
    frames["frame_step"] = grouped["frame_index"].diff().fillna(1).to_numpy()
    frames["time_step_s"] = grouped["timestamp_s"].diff().fillna(1.0).to_numpy()
    if not image_coordinates:  # metric 3-D data (cm): the [0, 1] image band does not apply
        frames = frames.drop(columns=["x_min", "x_max", "y_min", "y_max"])

    allowed = known_labels()
    meta = seqs.meta.reset_index(drop=True)
    low = (
        pd.Series(frames["low_quality"].to_numpy())
        .groupby(clip)
        .mean()
        .reindex(range(len(seqs)), fill_value=1.0)
    )
    sequences = pd.DataFrame(
        {
            "sequence_id": meta["sequence_id"].astype(str),
            "exercise": meta["exercise"].astype(str),
            "label": meta["label"].astype(str),
            "group": meta["group"].astype(str),
            "frames": lengths,
            "low_quality_share": low.to_numpy(),
            "label_known": [
                lab in allowed.get(ex, set()) for ex, lab in zip(meta["exercise"], meta["label"], strict=True)
            ],
            "correct": meta["label"].astype(str).isin({"correct", *SQUAT_CORRECT_LABELS}),
        }
    )
    frames_per_window, actual = (
        (window, n_features) if featurizer is None else _featurized_shape(seqs, featurizer)
    )
    labels = sorted(set(sequences["label"]))
    windows = pd.DataFrame(
        {
            "window_frames": [frames_per_window],
            "window_as_configured": [frames_per_window == window],
            "n_features": [actual],
            "features_as_configured": [actual == n_features],
            "correct_share": [float(sequences["correct"].mean())],
            # names a class_balance failure: one label is not a skewed balance but a file of one kind of clip
            "labels": [
                f"this data holds only one label, {labels[0]!r}" if len(labels) == 1 else f"labels {labels}"
            ],
        }
    )
    return {
        "frames": frames,
        "sequences": sequences,
        "windows": windows,
        "landmarks": _landmark_presence(kept, clip, exercise_of_clip, getattr(seqs, "absent", {})),
        "splits": split_table(meta, seed=split_seed),
    }


def _landmark_presence(
    kept: np.ndarray, clip: np.ndarray, exercise_of_clip: np.ndarray, absent: dict[str, tuple[str, ...]]
) -> pd.DataFrame:
    """One row per exercise and kept landmark its source records: the share of its frames holding that landmark.
    A landmark present in no frame (a NaN column) cannot be featurized, and training would fail on it."""
    from liftsense.pose.landmarks import KEPT_NAMES

    present = np.isfinite(kept[:, :, :2]).all(axis=2)
    exercise = exercise_of_clip[clip] if len(clip) else np.zeros(0, dtype=str)
    rows = []
    for name in dict.fromkeys(exercise_of_clip):
        share = (
            present[exercise == name].mean(axis=0) if (exercise == name).any() else np.zeros(len(KEPT_NAMES))
        )
        for landmark, value in zip(KEPT_NAMES, share, strict=True):
            if landmark not in absent.get(
                name, ()
            ):  # declared absent by the source: the partial features know
                rows.append({"landmark": f"{landmark} ({name})", "present_share": float(value)})
    return pd.DataFrame(rows, columns=["landmark", "present_share"])


def _featurized_shape(seqs, featurizer) -> tuple[int, int]:
    """(frames, features) of real windows from the first clip that yields any, as training makes them."""
    for i in range(min(len(seqs), 50)):
        x, _, _ = featurizer.clip_windows(seqs.clip(i), str(seqs.meta.at[i, "exercise"]))
        if len(x):
            return int(x.shape[1]), int(x.shape[-1])
    return -1, -1


def split_table(
    meta: pd.DataFrame, seed: int = 0, parts: dict[str, np.ndarray] | None = None
) -> pd.DataFrame:
    """One row per group: in how many of train/val/test it appears (must be 1), for the training split or `parts`."""
    if parts is None:
        from liftsense.datasets.splits import train_val_test

        m = meta.assign(label=meta["label"].astype(str))
        n_groups = m["group"].nunique()
        if n_groups < 3:
            return pd.DataFrame({"group": m["group"].astype(str).unique(), "splits": 1})
        tr, va, te = train_val_test(m, n_splits=min(5, n_groups), val_fraction=0.2, seed=seed)
        parts = {"train": tr, "val": va, "test": te}
    rows = pd.concat(
        [
            pd.DataFrame({"group": meta["group"].astype(str).iloc[idx].to_numpy(), "part": name})
            for name, idx in parts.items()
        ]
    )
    return rows.drop_duplicates().groupby("group").size().rename("splits").reset_index()


@contextmanager
def _quiet():
    """Silence numpy's all-NaN RuntimeWarnings: frames with no detection are expected and counted elsewhere."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def load_landmarks(source: str) -> dict[str, pd.DataFrame]:
    """A dataset training can name (as training loads it) | a landmark table file from the extraction CLI."""
    from liftsense.datasets.loaders import POSE_DATASETS, load_sequences

    if source in POSE_DATASETS and source != "table":
        pixels_or_cm = source in ("squat_3d", "posetrainer")
        return landmark_tables(load_sequences({"name": source}), image_coordinates=not pixels_or_cm)
    return landmark_table_file(source)


def landmark_table_file(path: str | Path) -> dict[str, pd.DataFrame]:
    from liftsense.pose.table import read_table

    try:
        table = read_table(path)
    except Exception as exc:
        raise SourceError(f"{path}: cannot read as a landmark table ({exc})") from exc
    return landmark_table_tables(table, str(path))


def landmark_table_tables(table: pd.DataFrame, source: str = "table") -> dict[str, pd.DataFrame]:
    """Tables for a landmark table as written (row order, duplicates and timestamps kept as they are)."""
    from liftsense.pose.table import table_to_sequences

    table = table.copy()
    unlabelled = "label" not in table
    for col in ("exercise", "label", "group"):
        if col not in table:
            table[col] = "unknown"
    try:
        seqs = table_to_sequences(table, source=source)
    except Exception as exc:
        raise SourceError(f"{source}: cannot read as a landmark table ({exc})") from exc
    # table_to_sequences groups rows by clip; keep the frame columns in that same order
    order = np.concatenate(
        [
            np.flatnonzero(table["sequence_id"].astype(str).to_numpy() == sid)
            for sid in seqs.meta["sequence_id"].astype(str)
        ]
    )
    tables = landmark_tables(seqs, frame_table=table.iloc[order].reset_index(drop=True))
    labels = sorted(set(seqs.meta["label"].astype(str)))
    if len(labels) == 1:  # a recording of one kind of clip, or unlabelled: validated for what it is
        kind = "no labels" if unlabelled else f"only one label, {labels[0]!r}"
        if unlabelled:  # nor are its clips' labels checked against the known set
            tables["sequences"] = tables["sequences"].drop(columns=["label_known"])
        tables["windows"] = tables["windows"].drop(columns=["correct_share"])
        tables["windows"].attrs["note"] = (
            f"this file holds {kind}: class balance is a check of training data, not applied to a recording"
        )
    return tables


# -- PPG -----------------------------------------------------------------------------------------------------------
def ppg_table(recordings) -> pd.DataFrame:
    """One row per recording: rate, lengths, non-finite, saturation, accelerometer and PPG levels, ground truth."""
    rows = []
    for rec in recordings:
        ppg, acc = rec.ppg, rec.acc
        finite = np.isfinite(ppg).all() and np.isfinite(acc).all()
        magnitude = np.sqrt((np.nan_to_num(acc) ** 2).sum(axis=0))
        saturated = (
            max(float(np.mean(np.abs(ch) >= 0.999 * np.nanmax(np.abs(ch)))) for ch in ppg)
            if ppg.size
            else 1.0
        )
        truth = rec.bpm_truth
        time_rate = rec.meta.get("fs_from_time")
        rows.append(
            {
                "recording": rec.name,
                "fs": rec.fs,
                "fs_from_time": time_rate if time_rate is not None else rec.fs,
                "n_ppg": ppg.shape[0],
                "channel_lengths_equal": ppg.shape[1] == acc.shape[1],
                "n_acc_axes": acc.shape[0],
                "samples": rec.n_samples,
                "nonfinite_samples": int((~np.isfinite(ppg)).sum() + (~np.isfinite(acc)).sum()),
                "all_finite": bool(finite),
                "saturated_share": saturated,
                "acc_magnitude_median_g": float(np.median(magnitude)),
                "acc_magnitude_max_g": float(magnitude.max()),
                "ppg_std_min": float(min(np.nanstd(ch) for ch in ppg)),
                "truth_windows_match": truth is None or len(truth) == rec.n_windows(),
                "truth_min_bpm": float(np.min(truth)) if truth is not None and len(truth) else 60.0,
                "truth_max_bpm": float(np.max(truth)) if truth is not None and len(truth) else 60.0,
            }
        )
    return pd.DataFrame(rows)


def load_ppg(source: str, fs: float | None = None) -> dict[str, pd.DataFrame]:
    """spc2015 | builtin | a .mat/.csv file | a folder of .mat files."""
    from liftsense.ppg.recording import RecordingError, load_recording, load_spc2015

    try:
        if source == "spc2015":
            recs = load_spc2015()
        elif source == "builtin":
            from liftsense.ppg.synth import synth_recording

            recs = [synth_recording(a, seed=s) for a in ("rest", "lifting", "running") for s in range(2)]
        elif Path(source).is_dir():
            recs = load_spc2015(source)
        else:
            recs = [load_recording(source, fs)]
    except (RecordingError, FileNotFoundError) as exc:
        raise SourceError(str(exc)) from exc
    return {"recordings": ppg_table(recs)}


# -- HR sessions ---------------------------------------------------------------------------------------------------
def hr_tables(sessions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """samples (one per row, with the time step) and sessions (one per session: has a set followed by a rest)."""
    needed = ("time", "heart_rate", "state", "id")
    missing = [c for c in needed if c not in sessions]
    samples = sessions.copy()
    for c in missing:  # let the suite report the missing column rather than crash here
        samples[c] = np.nan
    samples["id"] = samples["id"].astype(str)
    if "RPE" not in samples:
        samples["RPE"] = np.nan
    samples["time_step_s"] = samples.groupby("id", sort=False)["time"].diff().fillna(1.0)
    per = []
    for sid, rows in samples.groupby("id", sort=False):
        state = pd.to_numeric(rows["state"], errors="coerce").to_numpy()
        set_then_rest = bool(np.any((state[:-1] == 1) & (state[1:] == 0))) if len(state) > 1 else False
        hr = pd.to_numeric(rows["heart_rate"], errors="coerce").to_numpy()
        ends = {0: [], 1: []}
        for run in np.split(np.arange(len(state)), np.flatnonzero(np.diff(state) != 0) + 1):
            if len(run) >= 5 and state[run[0]] in (0, 1) and np.isfinite(hr[run[-5:]]).any():
                ends[int(state[run[0]])].append(np.nanmedian(hr[run[-5:]]))
        steps = rows["time_step_s"].to_numpy(dtype=float)
        per.append(
            {
                "id": sid,
                "set_then_rest": set_then_rest,
                "rows": len(rows),
                "hr_higher_after_sets": bool(np.median(ends[1]) > np.median(ends[0]))
                if ends[0] and ends[1]
                else True,
                "max_gap_s": float(np.nanmax(steps)) if len(steps) else 0.0,
            }
        )
    return {"samples": samples, "sessions": pd.DataFrame(per), "_missing": pd.DataFrame({"column": missing})}


def load_hr(source: str) -> dict[str, pd.DataFrame]:
    """builtin | garmin | physionet (as training loads them) | a session table file (CSV/Parquet), read as is."""
    if source in ("builtin", "garmin", "physionet"):
        from liftsense.datasets.loaders import load_sessions

        return hr_tables(load_sessions({"name": f"rest_{source}"}))
    path = Path(source)
    try:
        table = (
            pd.read_parquet(path)
            if path.suffix.lower() == ".parquet"
            else pd.read_csv(path, dtype={"id": str})
        )
    except Exception as exc:
        raise SourceError(f"{path}: cannot read as a session table ({exc})") from exc
    return hr_tables(table)


LOADERS = {"landmarks": load_landmarks, "ppg": load_ppg, "hr": load_hr}
