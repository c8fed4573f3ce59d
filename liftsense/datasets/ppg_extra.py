"""The extra wrist-PPG sets in ../shared/data/ppg_extra, each with its own reference convention, as `Recording`s.

Every recording's `bpm_truth[k]` is the ECG heart rate for the tracker's window k ([2k, 2k + 8) s of the returned
signals); windows without a usable reference are NaN and are not scored. Conventions (from the data's README):

- BAMI-1: `bpm_ecg` is a single-beat rate whose best PPG window starts 1-1.5 s *before* 2j: the first second is
  dropped and window k is scored against label k + 1. Its 12 copies of CardiacRehab subjects use the CardiacRehab
  8-s window reference shifted for the ECG-PPG lag instead (`ref_bpm_cr_window_ecg_minus2s`), uncropped.
- BAMI-2: the best window starts 1 s *after* 2j: the first second is dropped (it also holds the start-up
  transient) and window k is scored against label k.
- CardiacRehab: only subjects 6, 7, 15 and 16 (the others are BAMI-1 files); `ref_bpm_ecg_minus2s`.
- Jarchi & Casson (PhysioNet wrist PPG during exercise, 256 Hz EDF): annotated-beat reference, approximate
  alignment; the low-noise accelerometer, in g; the zero padding at the end of each file is cut.

Single-label glitches (a label more than `GLITCH_BPM` from the median of its four neighbours) are NaN: they are
beat-detection errors in the reference, not heart rate. Subjects: BAMI and CardiacRehab recordings have unknown
subject overlap, so each counts as its own subject; Jarchi & Casson recordings group by subject (sN).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liftsense.datasets.paths import data_dir, require
from liftsense.ppg.recording import Recording, RecordingError

GLITCH_BPM = 25.0
SETS = ("BAMI-1", "BAMI-2", "CardiacRehab", "Jarchi-Casson")
CARDIAC_REHAB_UNIQUE = (6, 7, 15, 16)
_G = 9.80665


def ppg_extra_dir() -> Path:
    return require(data_dir() / "ppg_extra")


def _drop_glitches(truth: np.ndarray) -> np.ndarray:
    truth = truth.astype(np.float64).copy()
    padded = np.pad(truth, 2, mode="edge")
    for k in range(len(truth)):
        neighbours = np.concatenate([padded[k : k + 2], padded[k + 3 : k + 5]])
        if abs(truth[k] - np.nanmedian(neighbours)) > GLITCH_BPM:
            truth[k] = np.nan
    return truth


def _fit_truth(rec: Recording, labels: np.ndarray) -> Recording:
    """Labels cut or NaN-padded to the recording's window count, glitches removed."""
    n = rec.n_windows()
    truth = np.full(n, np.nan)
    labels = _drop_glitches(np.asarray(labels, dtype=np.float64))[:n]
    truth[: len(labels)] = labels
    rec.bpm_truth = truth
    return rec


def _mat(path: Path) -> dict:
    import scipy.io

    try:
        return scipy.io.loadmat(path)
    except Exception as exc:
        raise RecordingError(f"{path}: not a readable MATLAB file ({exc})") from exc


def load_bami(name: str, root: Path | None = None) -> Recording:
    """A BAMI-1 or BAMI-2 recording (e.g. "BAMI1_3", "BAMI2_10") with its scoring convention applied."""
    import pandas as pd

    root = root or ppg_extra_dir()
    folder = root / "CNN_LSTM_HeartRateEstimation"
    series = "BAMI-1" if name.startswith("BAMI1_") else "BAMI-2"
    content = _mat(folder / series / f"{name}.mat")
    ppg, acc = content["rawPPG"].astype(np.float64), content["rawAcc"].astype(np.float64)
    ref = pd.read_csv(folder / "derived" / f"{name}_ref.csv")
    fs = 50.0
    copy = (
        "ref_bpm_cr_window_ecg_minus2s" in ref.columns and ref["ref_bpm_cr_window_ecg_minus2s"].notna().any()
    )
    if copy:
        crop, labels = 0, ref["ref_bpm_cr_window_ecg_minus2s"].to_numpy()
    elif series == "BAMI-1":
        crop, labels = int(fs), ref["ref_bpm"].to_numpy()[1:]
    else:
        crop, labels = int(fs), ref["ref_bpm"].to_numpy()
    rec = Recording(
        name, fs, ppg[:, crop:], acc[:, crop:], meta={"set": series, "subject": name, "activity": "treadmill"}
    )
    return _fit_truth(rec, labels)


def load_cardiac_rehab(subject: int, root: Path | None = None) -> Recording:
    import pandas as pd

    root = root or ppg_extra_dir()
    folder = root / "CardiacRehabExercise"
    content = _mat(folder / f"Subject_{subject}.mat")
    ref = pd.read_csv(folder / "derived" / f"Subject_{subject}_ref.csv")
    name = f"CR_Subject_{subject}"
    rec = Recording(
        name,
        50.0,
        content["sigPPG"].astype(np.float64),
        content["sigAcc"].astype(np.float64),
        meta={"set": "CardiacRehab", "subject": name, "activity": "treadmill"},
    )
    return _fit_truth(rec, ref["ref_bpm_ecg_minus2s"].to_numpy())


def load_jarchi_casson(name: str, root: Path | None = None) -> Recording:
    """A PhysioNet wrist-PPG-during-exercise record (e.g. "s3_run"): wrist PPG and low-noise accelerometer."""
    import pandas as pd

    from liftsense.ppg.edf import EdfError, read_edf

    root = root or ppg_extra_dir()
    folder = root / "BSP"
    try:
        signals = read_edf(folder / "edf" / f"{name}.edf")
    except EdfError as exc:
        raise RecordingError(str(exc)) from exc
    ppg = next(s for s in signals if s.label == "wrist_ppg")
    acc = [s for s in signals if s.label.startswith("wrist_low_noise")][:3]
    if len(acc) != 3:
        raise RecordingError(f"{name}: expected 3 low-noise accelerometer axes, found {len(acc)}")
    values = np.vstack([ppg.values, *(a.values / _G for a in acc)])
    moving = np.flatnonzero(
        np.any(values != values[:, -1:], axis=0)
    )  # the trailing padding repeats one value
    end = int(moving[-1]) + 1 if len(moving) else values.shape[1]
    subject, activity = name.split("_", 1)
    rec = Recording(
        name,
        ppg.fs,
        values[:1, :end],
        values[1:, :end],
        meta={"set": "Jarchi-Casson", "subject": f"JC_{subject}", "activity": activity},
    )
    ref = pd.read_csv(folder / "derived" / f"{name}_ref.csv")
    return _fit_truth(rec, ref["ref_bpm"].to_numpy())


def recording_ids(sets: tuple[str, ...] = SETS, root: Path | None = None) -> list[tuple[str, str]]:
    """(set, name) of the 68 unique recordings (duplicates dropped), in set order; `load` takes either."""
    import pandas as pd

    root = root or ppg_extra_dir()
    manifest = pd.read_csv(root / "manifest.csv")
    bami = [
        ("BAMI-1" if r.startswith("BAMI1_") else "BAMI-2", r) for r in manifest["rec"] if r.startswith("BAMI")
    ]
    cardiac = [("CardiacRehab", str(s)) for s in CARDIAC_REHAB_UNIQUE]
    jc = [("Jarchi-Casson", r) for r in manifest[manifest["dataset"] == "wrist-ppg-during-exercise"]["rec"]]
    order = {s: i for i, s in enumerate(SETS)}
    ids = [i for i in bami + cardiac + jc if i[0] in sets]
    return sorted(ids, key=lambda i: (order[i[0]], _natural(i[1])))


def load(set_name: str, name: str, root: Path | None = None) -> Recording:
    """One recording by its (set, name) as `recording_ids` lists it."""
    if set_name in ("BAMI-1", "BAMI-2"):
        return load_bami(name, root)
    if set_name == "CardiacRehab":
        return load_cardiac_rehab(int(name), root)
    if set_name == "Jarchi-Casson":
        return load_jarchi_casson(name, root)
    raise RecordingError(f"unknown ppg_extra set {set_name!r}; expected one of {SETS}")


def load_ppg_extra(sets: tuple[str, ...] = SETS, root: Path | None = None) -> list[Recording]:
    """The 68 unique recordings (duplicates dropped), sorted by set then name."""
    return [load(s, name, root) for s, name in recording_ids(sets, root)]


def _natural(name: str) -> tuple:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))
