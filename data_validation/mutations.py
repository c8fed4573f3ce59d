"""Realistic corruptions of clean data, each paired with the check meant to catch it.

Each mutation takes clean data of its kind and returns corrupted tables. `run_all` validates the clean data
(it must pass) and every mutation (the named check must fail). Used by the tests and by
`python -m data_validation mutations`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace

import numpy as np
import pandas as pd

from data_validation import tables as T


@dataclass(frozen=True)
class Mutation:
    name: str
    kind: str
    expected_check: str
    apply: Callable[[], dict[str, pd.DataFrame]]


# -- clean data (small, seeded) -------------------------------------------------------------------------------------
@cache
def clean_landmark_table() -> pd.DataFrame:
    from liftsense.pose.synth import SynthConfig, generate
    from liftsense.pose.table import sequences_to_table

    return sequences_to_table(generate(SynthConfig(seed=5, clips_per_exercise=6, subjects=6)))


@cache
def clean_recordings() -> tuple:
    from liftsense.ppg.synth import synth_recording

    return tuple(
        synth_recording(a, duration_s=60, seed=s) for a in ("rest", "lifting", "running") for s in range(2)
    )


@cache
def clean_sessions() -> pd.DataFrame:
    from liftsense.resthr.simulate import SimConfig, simulate_sessions

    return simulate_sessions(SimConfig(subjects=4, sessions_per_subject=2, seed=3))


def landmarks(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return T.landmark_table_tables(table, "mutated")


def recordings(recs) -> dict[str, pd.DataFrame]:
    return {"recordings": T.ppg_table(recs)}


def sessions(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return T.hr_tables(table)


# -- landmark corruptions -----------------------------------------------------------------------------------------
def _cols(table: pd.DataFrame, axis: str) -> list[str]:
    return [c for c in table.columns if c.endswith(f"_{axis}")]


def swap_xy():
    t = clean_landmark_table().copy()
    xs, ys = _cols(t, "x"), _cols(t, "y")
    t[xs + ys] = t[ys + xs].to_numpy()
    return landmarks(t)


def flip_y():
    t = clean_landmark_table().copy()
    t[_cols(t, "y")] = 1.0 - t[_cols(t, "y")]
    return landmarks(t)


def pixels_not_normalised():
    t = clean_landmark_table().copy()
    t[_cols(t, "x")] *= 640
    t[_cols(t, "y")] *= 480
    return landmarks(t)


def visibility_percent():
    t = clean_landmark_table().copy()
    t[_cols(t, "visibility")] *= 100
    return landmarks(t)


def duplicated_frames():
    t = clean_landmark_table()
    return landmarks(pd.concat([t, t.iloc[100:140]], ignore_index=True))


def shuffled_frames():
    t = clean_landmark_table().copy()
    first = t["sequence_id"] == t["sequence_id"].iloc[0]
    idx = t.index[first].to_numpy()
    t.loc[idx] = t.loc[np.random.default_rng(0).permutation(idx)].to_numpy()
    return landmarks(t)


def _restart_clock(t, id_column: str, time_column: str):
    """The first sequence's clock restarts at 0 halfway through (a device reboot mid-recording)."""
    first = t.index[t[id_column] == t[id_column].iloc[0]]
    half = first[len(first) // 2 :]
    t.loc[half, time_column] -= t.loc[half[0], time_column]
    return t


def timestamps_reset():
    return landmarks(_restart_clock(clean_landmark_table().copy(), "sequence_id", "timestamp_s"))


def float_frame_index():
    t = clean_landmark_table().copy()
    t["frame_index"] = t["frame_index"].astype(float) + 0.5
    return landmarks(t)


def degrees_as_radians():
    out = landmarks(clean_landmark_table())
    out["frames"] = out["frames"].assign(
        angle_max=np.deg2rad(out["frames"]["angle_max"]), angle_min=np.deg2rad(out["frames"]["angle_min"])
    )
    return out


def occluded_clips():
    t = clean_landmark_table().copy()
    clips = t["sequence_id"].unique()
    hit = t["sequence_id"].isin(clips[: len(clips) // 4])
    t.loc[hit, _cols(t, "visibility")] = 0.05
    return landmarks(t)


def landmark_never_present():
    """An extraction that lost one joint everywhere: its column is NaN in every row."""
    t = clean_landmark_table().copy()
    t["left_knee_x"] = np.nan
    return landmarks(t)


def label_typo():
    t = clean_landmark_table().copy()
    t.loc[t["label"] == "correct", "label"] = "corect"
    return landmarks(t)


def one_class_only():
    """Training data (as training gates it) whose clips are all labelled correct: nothing to learn a fault from.
    (A user's own recording of one label is validated for what it is: see landmark_table_tables.)"""
    from liftsense.pose.table import table_to_sequences

    t = clean_landmark_table().copy()
    t["label"] = "correct"
    return T.landmark_tables(table_to_sequences(t, source="mutated"))


def dropped_angle_feature():
    out = landmarks(clean_landmark_table())
    out["windows"] = out["windows"].assign(n_features=60, features_as_configured=False)
    return out


def leaked_group():
    """A split built by clip instead of by group: one clip of a training group lands in test."""
    out = landmarks(clean_landmark_table())
    seq = out["sequences"]
    g = seq["group"].to_numpy()
    train, test = np.flatnonzero(g != g[0]), np.flatnonzero(g == g[0])
    out["splits"] = T.split_table(seq, parts={"train": train, "test": np.append(test, train[0])})
    return out


# -- PPG corruptions ------------------------------------------------------------------------------------------------
def _rec(rec, **changes):
    """A stand-in recording with some fields replaced (a real Recording refuses e.g. a missing axis)."""
    from liftsense.ppg.recording import n_windows

    fields = {
        "name": rec.name,
        "fs": rec.fs,
        "ppg": rec.ppg.copy(),
        "acc": rec.acc.copy(),
        "bpm_truth": None if rec.bpm_truth is None else rec.bpm_truth.copy(),
        "meta": dict(rec.meta),
    }
    fields.update(changes)
    stand_in = SimpleNamespace(**fields)
    stand_in.n_samples = stand_in.ppg.shape[1]
    stand_in.n_windows = lambda: n_windows(stand_in.n_samples, rec.fs)  # windows of the true rate
    return stand_in


def _with(k: int, **changes):
    recs = list(clean_recordings())
    recs[k] = _rec(recs[k], **changes)
    return recordings(recs)


def mislabelled_rate():
    """A 100 Hz file declared 125 Hz: its timestamps give it away."""
    rec = clean_recordings()[1]
    return _with(1, meta={**rec.meta, "fs_from_time": 100.0})


def nan_burst():
    rec = clean_recordings()[2]
    ppg = rec.ppg.copy()
    ppg[:, 2000:2300] = np.nan
    return _with(2, ppg=ppg)


def saturated_ppg():
    rec = clean_recordings()[1]
    return _with(1, ppg=np.clip(rec.ppg * 40, -1024, 1024))


def dropped_acc_axis():
    rec = clean_recordings()[0]
    return _with(0, acc=rec.acc[:2])


def acc_in_m_per_s2():
    rec = clean_recordings()[4]
    return _with(4, acc=rec.acc * 9.81)


def flat_ppg():
    rec = clean_recordings()[0]
    return _with(0, ppg=np.full_like(rec.ppg, 512.0))


def truncated_truth():
    rec = clean_recordings()[3]
    return _with(3, bpm_truth=rec.bpm_truth[:-3])


def truth_in_hz():
    rec = clean_recordings()[5]
    return _with(5, bpm_truth=rec.bpm_truth / 60.0)


def truncated_accelerometer():
    """The accelerometer stream stopped early (a lost BLE characteristic)."""
    rec = clean_recordings()[3]
    return _with(3, acc=rec.acc[:, :-500])


def wrong_window_length():
    """Windows cut at 30 frames while the model was configured for 15."""
    out = landmarks(clean_landmark_table())
    out["windows"] = out["windows"].assign(window_frames=30, window_as_configured=False)
    return out


def wrong_declared_rate():
    return _with(2, fs=100.0)


# -- HR-session corruptions ------------------------------------------------------------------------------------------
def hr_in_beats_per_second():
    t = clean_sessions().copy()
    t["heart_rate"] /= 60.0
    return sessions(t)


def zero_for_dropouts():
    t = clean_sessions().copy()
    t.loc[t.index[::50], "heart_rate"] = 0.0
    return sessions(t)


def state_inverted():
    t = clean_sessions().copy()
    t["state"] = 1 - t["state"]
    return sessions(t)


def session_timestamps_reset():
    return sessions(_restart_clock(clean_sessions().copy(), "id", "time"))


def missing_state_column():
    return sessions(clean_sessions().drop(columns="state"))


def hr_nan_burst():
    t = clean_sessions().copy()
    t.loc[t.index[: len(t) // 5], "heart_rate"] = np.nan
    return sessions(t)


def rpe_percent():
    t = clean_sessions().copy()
    t["RPE"] *= 10
    return sessions(t)


def session_without_rest():
    t = clean_sessions().copy()
    first = t["id"] == t["id"].iloc[0]
    t.loc[first, "state"] = 1
    return sessions(t)


def band_dropout():
    t = clean_sessions().copy()
    first = t.index[t["id"] == t["id"].iloc[0]]
    t.loc[first[len(first) // 2 :], "time"] += 600.0
    return sessions(t)


MUTATIONS = (
    Mutation("x and y columns swapped", "landmarks", "head_above_hips", swap_xy),
    Mutation("image flipped vertically (y up)", "landmarks", "head_above_hips", flip_y),
    Mutation("pixel coordinates, not normalised", "landmarks", "x_max_in_image", pixels_not_normalised),
    Mutation("visibility in percent", "landmarks", "visibility_max_range", visibility_percent),
    Mutation("duplicated frames", "landmarks", "unique_frames", duplicated_frames),
    Mutation("frames out of order", "landmarks", "frames_increase", shuffled_frames),
    Mutation("timestamps reset mid-sequence", "landmarks", "timestamps_increase", timestamps_reset),
    Mutation("frame index stored as float", "landmarks", "frame_index_int", float_frame_index),
    Mutation("angles stored in radians", "landmarks", "angles_in_degrees", degrees_as_radians),
    Mutation("a quarter of clips occluded", "landmarks", "low_quality_share", occluded_clips),
    Mutation(
        "a landmark never present (NaN column)", "landmarks", "landmarks_present", landmark_never_present
    ),
    Mutation("label typo ('corect')", "landmarks", "labels_known", label_typo),
    Mutation("every clip labelled correct", "landmarks", "class_balance", one_class_only),
    Mutation("an angle feature dropped (60 features)", "landmarks", "feature_count", dropped_angle_feature),
    Mutation("a group in train and test", "landmarks", "no_leakage", leaked_group),
    Mutation("windows of 30 frames, model of 15", "landmarks", "window_length", wrong_window_length),
    Mutation("100 Hz file labelled 125 Hz", "ppg", "sample_rate_from_time", mislabelled_rate),
    Mutation("declared rate 100 Hz", "ppg", "sample_rate", wrong_declared_rate),
    Mutation("NaN burst in the PPG", "ppg", "finite", nan_burst),
    Mutation("saturated PPG (gain too high)", "ppg", "saturation", saturated_ppg),
    Mutation("accelerometer axis dropped", "ppg", "three_acc_axes", dropped_acc_axis),
    Mutation("accelerometer stream stops early", "ppg", "channel_lengths", truncated_accelerometer),
    Mutation("acceleration in m/s² instead of g", "ppg", "acc_gravity", acc_in_m_per_s2),
    Mutation("flat PPG (sensor off the skin)", "ppg", "ppg_not_flat", flat_ppg),
    Mutation("ground truth 3 windows short", "ppg", "truth_aligned", truncated_truth),
    Mutation("ground truth in Hz, not BPM", "ppg", "truth_low", truth_in_hz),
    Mutation("HR in beats per second", "hr", "hr_range", hr_in_beats_per_second),
    Mutation("0 written for dropouts", "hr", "hr_range", zero_for_dropouts),
    Mutation("state labels inverted", "hr", "sets_are_exercise", state_inverted),
    Mutation("timestamps reset mid-session", "hr", "time_increases", session_timestamps_reset),
    Mutation("state column missing", "hr", "missing_columns", missing_state_column),
    Mutation("NaN burst in HR (20% of samples)", "hr", "hr_present", hr_nan_burst),
    Mutation("RPE on a 0-100 scale", "hr", "rpe_scale", rpe_percent),
    Mutation("a session with no rest", "hr", "set_then_rest", session_without_rest),
    Mutation("band dropped out for 10 minutes", "hr", "sampling_gaps", band_dropout),
)

CLEAN = {
    "landmarks": lambda: landmarks(clean_landmark_table()),
    "ppg": lambda: recordings(clean_recordings()),
    "hr": lambda: sessions(clean_sessions()),
}


def run_all() -> list[dict]:
    """Clean data must pass; each mutation must be caught by its check. Rows: name, kind, expected, caught by."""
    from data_validation.gate import validate_tables

    rows = []
    for kind, make in CLEAN.items():
        report = validate_tables(kind, make(), "clean")
        rows.append(
            {
                "mutation": f"clean {kind} data",
                "kind": kind,
                "expected": "(passes)",
                "failed_checks": [f.check for f in report.failures],
                "caught": report.success,
            }
        )
    for m in MUTATIONS:
        report = validate_tables(m.kind, m.apply(), m.name)
        failed = [f.check for f in report.failures]
        rows.append(
            {
                "mutation": m.name,
                "kind": m.kind,
                "expected": m.expected_check,
                "failed_checks": failed,
                "caught": m.expected_check in failed,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [f"{'corruption':<42} {'kind':<10} {'meant to be caught by':<22} {'ok':<4} all failing checks"]
    for r in rows:
        lines.append(
            f"{r['mutation']:<42} {r['kind']:<10} {r['expected']:<22} {'yes' if r['caught'] else 'NO':<4} "
            f"{', '.join(r['failed_checks']) or '-'}"
        )
    return "\n".join(lines)
