"""Wrist recordings (PPG channels + 3-axis accelerometer) and their loaders.

SPC-2015 `.mat` files come in two layouts: training files have 6 rows (ECG, PPG1, PPG2, acc x/y/z), test-style
files have 5 (PPG1, PPG2, acc x/y/z). The ground-truth trace `<name>_BPMtrace.mat` holds one BPM per 8 s window
every 2 s: window k covers samples [250k, 250k + 1000) at 125 Hz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPC_FS = 125.0
WINDOW_S = 8.0
HOP_S = 2.0


class RecordingError(ValueError):
    """A recording that cannot be used as given; the message names the file and what is wrong."""


@dataclass
class Recording:
    """Time-aligned wrist signals. `ppg` is (channels, n), `acc` is (3, n) in g."""

    name: str
    fs: float
    ppg: np.ndarray
    acc: np.ndarray
    ecg: np.ndarray | None = None
    bpm_truth: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ppg = np.atleast_2d(np.asarray(self.ppg, dtype=np.float64))
        self.acc = np.atleast_2d(np.asarray(self.acc, dtype=np.float64))
        if not np.isfinite(self.fs) or self.fs <= 0:
            raise RecordingError(f"{self.name}: sample rate must be a positive number, got {self.fs!r}")
        if self.ppg.shape[0] < 1 or self.ppg.shape[0] > 4:
            raise RecordingError(f"{self.name}: expected 1-4 PPG channels, got {self.ppg.shape[0]}")
        if self.acc.shape[0] != 3:
            raise RecordingError(f"{self.name}: expected 3 accelerometer axes, got {self.acc.shape[0]}")
        if self.ppg.shape[1] != self.acc.shape[1]:
            raise RecordingError(
                f"{self.name}: channel lengths differ: PPG has {self.ppg.shape[1]} samples, "
                f"accelerometer {self.acc.shape[1]}"
            )

    @property
    def n_samples(self) -> int:
        return int(self.ppg.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def n_windows(self, window_s: float = WINDOW_S, hop_s: float = HOP_S) -> int:
        return n_windows(self.n_samples, self.fs, window_s, hop_s)

    def require_windows(self, window_s: float = WINDOW_S, hop_s: float = HOP_S) -> int:
        """The window count, or a RecordingError when not even one window fits."""
        count = self.n_windows(window_s, hop_s)
        if count == 0:
            raise RecordingError(
                f"{self.name}: {self.duration_s:.1f} s is shorter than one {window_s:g} s window, so no heart rate"
            )
        return count


def resample_to(values: np.ndarray, fs_from: float, fs_to: float, n_to: int) -> np.ndarray:
    """(channels, n) sampled at `fs_from` -> (channels, n_to) at `fs_to`, by linear interpolation in time.

    For an accelerometer running at its own rate: the tracker only needs its lines below ~4 Hz, which linear
    interpolation keeps. Samples past the last input hold its value (at most one input period).
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if not np.isfinite(fs_from) or fs_from <= 0:
        raise RecordingError(f"accelerometer sample rate must be a positive number, got {fs_from!r}")
    t_from = np.arange(values.shape[1]) / fs_from
    t_to = np.arange(n_to) / fs_to
    return np.vstack([np.interp(t_to, t_from, row) for row in values])


def from_signals(
    name: str, ppg: np.ndarray, fs: float, acc: np.ndarray, fs_acc: float | None = None, **kwargs
) -> Recording:
    """A recording from PPG at `fs` and an accelerometer at its own rate `fs_acc` (default: the same), put on the
    PPG's time base; the accelerometer must cover the PPG's duration to within one of its samples."""
    ppg = np.atleast_2d(np.asarray(ppg, dtype=np.float64))
    acc = np.atleast_2d(np.asarray(acc, dtype=np.float64))
    if fs_acc is not None and fs_acc != fs:
        if acc.shape[1] / fs_acc + 1.0 / fs_acc < ppg.shape[1] / fs:
            raise RecordingError(
                f"{name}: the accelerometer covers {acc.shape[1] / fs_acc:.2f} s but the PPG "
                f"{ppg.shape[1] / fs:.2f} s"
            )
        acc = resample_to(acc, fs_acc, fs, ppg.shape[1])
    return Recording(name, fs, ppg, acc, **kwargs)


def n_windows(n_samples: int, fs: float, window_s: float = WINDOW_S, hop_s: float = HOP_S) -> int:
    """SPC protocol: floor((N - L) / H) + 1 full windows, or 0 when the recording is shorter than one."""
    length, hop = round(window_s * fs), round(hop_s * fs)
    return 0 if n_samples < length else (n_samples - length) // hop + 1


def _load_mat_var(path: Path, preferred: str) -> np.ndarray:
    import scipy.io

    try:
        content = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises several types for corrupt or v7.3 files
        raise RecordingError(f"{path}: not a readable MATLAB file ({exc})") from exc
    arrays = {k: v for k, v in content.items() if not k.startswith("__") and isinstance(v, np.ndarray)}
    if preferred in arrays:
        return arrays[preferred]
    if len(arrays) == 1:
        return next(iter(arrays.values()))
    raise RecordingError(f"{path}: expected a variable {preferred!r}, found {sorted(arrays)}")


def load_mat(path: str | Path, fs: float = SPC_FS) -> Recording:
    """An SPC-2015 recording, 6-row (with ECG) or 5-row (without); the BPM trace is attached when present."""
    path = Path(path)
    sig = np.asarray(_load_mat_var(path, "sig"), dtype=np.float64)
    if sig.ndim != 2 or sig.shape[0] not in (5, 6):
        raise RecordingError(f"{path}: expected 'sig' with 5 or 6 rows, got shape {sig.shape}")
    ecg = sig[0] if sig.shape[0] == 6 else None
    body = sig[1:] if sig.shape[0] == 6 else sig
    truth = None
    trace = path.with_name(path.stem + "_BPMtrace.mat")
    if trace.exists():
        truth = np.asarray(_load_mat_var(trace, "BPM0"), dtype=np.float64).ravel()
    rec = Recording(path.stem, fs, body[:2], body[2:5], ecg=ecg, bpm_truth=truth, meta={"path": str(path)})
    if truth is not None and len(truth) != rec.n_windows():
        raise RecordingError(
            f"{trace}: {len(truth)} BPM values but the recording has {rec.n_windows()} windows of 8 s every 2 s"
        )
    return rec


PPG_COLUMNS = ("ppg1", "ppg2", "ppg")
ACC_COLUMNS = ("acc_x", "acc_y", "acc_z")


def load_csv(path: str | Path, fs: float | None = None) -> Recording:
    """A CSV with columns ppg1[, ppg2] (or ppg), acc_x, acc_y, acc_z, and either a `time` column in s or `fs`."""
    import pandas as pd

    path = Path(path)
    try:
        table = pd.read_csv(path)
    except Exception as exc:
        raise RecordingError(f"{path}: not a readable CSV ({exc})") from exc
    ppg_cols = [c for c in PPG_COLUMNS if c in table.columns]
    missing = [c for c in ACC_COLUMNS if c not in table.columns]
    if not ppg_cols or missing:
        raise RecordingError(
            f"{path}: needs PPG column(s) {PPG_COLUMNS[:2]} or 'ppg' and {ACC_COLUMNS}; "
            f"missing {missing or 'a PPG column'}, found {list(table.columns)}"
        )
    time_rate = None
    if "time" in table.columns:
        steps = np.diff(table["time"].to_numpy(dtype=np.float64))
        if len(steps) == 0 or not np.all(np.isfinite(steps)) or np.median(steps) <= 0:
            raise RecordingError(f"{path}: the 'time' column is not increasing")
        time_rate = float(1.0 / np.median(steps))
    if fs is None:
        if time_rate is None:
            raise RecordingError(f"{path}: no 'time' column, so pass the sample rate (fs) explicitly")
        fs = time_rate
    ppg = table[ppg_cols].to_numpy(dtype=np.float64).T
    acc = table[list(ACC_COLUMNS)].to_numpy(dtype=np.float64).T
    ecg = table["ecg"].to_numpy(dtype=np.float64) if "ecg" in table.columns else None
    meta = {"path": str(path)} | ({"fs_from_time": time_rate} if time_rate is not None else {})
    return Recording(path.stem, fs, ppg, acc, ecg=ecg, meta=meta)


_ACC_UNITS_TO_G = {"g": 1.0, "m/s^2": 1 / 9.80665, "ms^-2": 1 / 9.80665, "m/s2": 1 / 9.80665}


def load_edf(path: str | Path) -> Recording:
    """An EDF recording: signals labelled "...ppg..." are the PPG (up to 3), the first three labelled "...acc..."
    (or in a unit of acceleration) the accelerometer, in g, put on the PPG's rate if it runs at its own."""
    from liftsense.ppg.edf import EdfError, read_edf

    path = Path(path)
    try:
        signals = read_edf(path)
    except EdfError as exc:
        raise RecordingError(str(exc)) from exc
    ppg = [s for s in signals if "ppg" in s.label.lower()][:3]
    acc = [
        s for s in signals if "acc" in s.label.lower() or s.unit.replace(" ", "").lower() in _ACC_UNITS_TO_G
    ][:3]
    if not ppg or len(acc) < 3:
        labels = [s.label for s in signals]
        raise RecordingError(
            f"{path}: needs signals labelled 'ppg' and three accelerometer axes; found {labels}"
        )
    if len({s.fs for s in ppg}) > 1 or len({s.fs for s in acc}) > 1:
        raise RecordingError(f"{path}: the PPG channels (or accelerometer axes) run at different rates")
    n = min(len(s.values) for s in ppg)
    scale = [_ACC_UNITS_TO_G.get(s.unit.replace(" ", "").lower(), 1.0) for s in acc]
    n_acc = min(len(s.values) for s in acc)
    acc_values = np.vstack([s.values[:n_acc] * k for s, k in zip(acc, scale, strict=True)])
    return from_signals(
        path.stem,
        np.vstack([s.values[:n] for s in ppg]),
        ppg[0].fs,
        acc_values,
        acc[0].fs,
        meta={"path": str(path)},
    )


def load_recording(path: str | Path, fs: float | None = None) -> Recording:
    """Dispatch on the suffix: `.mat` (SPC-2015), `.csv` or `.edf`."""
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"{path}: no such file")
    if path.suffix.lower() == ".mat":
        return load_mat(path, fs or SPC_FS)
    if path.suffix.lower() == ".csv":
        return load_csv(path, fs)
    if path.suffix.lower() == ".edf":
        return load_edf(path)
    raise RecordingError(f"{path}: unsupported format {path.suffix!r} (expected .mat, .csv or .edf)")


def load_spc2015(folder: str | Path | None = None) -> list[Recording]:
    """All recordings in an SPC-2015 folder (default: the shared training set), sorted by name."""
    if folder is None:
        from liftsense.datasets.paths import data_dir, require

        folder = require(data_dir() / "spc2015" / "training")
    files = sorted(p for p in Path(folder).glob("*.mat") if not p.stem.endswith("_BPMtrace"))
    if not files:
        raise RecordingError(f"{folder}: no .mat recordings")
    return [load_mat(p) for p in files]
