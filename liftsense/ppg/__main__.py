"""`python -m liftsense.ppg FILE`: the heart-rate track of a `.mat` (SPC-2015), `.csv` or `.edf` wrist recording."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from liftsense.ppg.recording import RecordingError, load_recording

METHODS = ("tracker", "lasso", "spectral-peak")


def run_method(recording, method: str):
    if method == "tracker":
        from liftsense.ppg.stream import estimate_recording

        return estimate_recording(recording)
    from liftsense.ppg.baselines import lasso_peak_estimates, spectral_peak_estimates

    recording.require_windows()
    return lasso_peak_estimates(recording) if method == "lasso" else spectral_peak_estimates(recording)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m liftsense.ppg", description=__doc__)
    parser.add_argument(
        "file",
        help=".mat (SPC-2015, 5 or 6 rows), .csv (ppg1[,ppg2],acc_x,acc_y,acc_z[,time]) or .edf (signals labelled "
        "'ppg' and three accelerometer axes, each at its own rate)",
    )
    parser.add_argument(
        "--fs", type=float, default=None, help="sample rate in Hz (CSV without a time column)"
    )
    parser.add_argument("--method", choices=METHODS, default="tracker")
    parser.add_argument(
        "--reference",
        help="CSV with a 'ref_bpm' column: the ECG heart rate of window k ([2k, 2k + 8) s), to score the track against",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per window instead of a table")
    args = parser.parse_args(argv)
    try:
        recording = load_recording(args.file, args.fs)
        if args.reference:
            recording.bpm_truth = load_reference(args.reference, recording.n_windows())
        estimates = run_method(recording, args.method)
    except (RecordingError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    truth = recording.bpm_truth
    if args.json:
        for e in estimates:
            row = e.to_dict() | {"time_s": e.end_sample / recording.fs}
            if truth is not None and np.isfinite(truth[e.window_index]):
                row["truth_bpm"] = float(truth[e.window_index])
            print(json.dumps(row))
        return 0
    print(
        f"{'end_s':>7} {'bpm':>6} {'sqi':>5} {'conf':>5}"
        + (f" {'truth':>6}" if truth is not None else "")
        + "  note"
    )
    for e in estimates:
        bpm = f"{e.bpm:6.1f}" if e.ok else f"{'-':>6}"
        line = f"{e.end_sample / recording.fs:7.1f} {bpm} {e.sqi:5.2f} {e.confidence:5.2f}"
        if truth is not None:
            line += f" {truth[e.window_index]:6.1f}"
        print(line + (f"  {e.reason}" if e.reason else ""))
    reported = [e for e in estimates if e.ok]
    summary = f"{len(reported)}/{len(estimates)} windows with a reading"
    if truth is not None:
        from liftsense.evaluation.heart_rate import WRONG_BPM, score_heart_rate

        s = score_heart_rate(estimates, truth)
        if s["aae_reported"] is not None:
            summary += f"; mean absolute error {s['aae_reported']:.2f} BPM on those"
        if s["aae_all"] is not None:
            summary += f", {s['aae_all']:.2f} over all {s['windows']} scored windows"
        summary += f"; {s['confident_wrong']} readings off by more than {WRONG_BPM:g} BPM"
    print(summary)
    return 0


def load_reference(path: str, n_windows: int) -> np.ndarray:
    """A per-window reference: the 'ref_bpm' column, cut or NaN-padded to the recording's window count."""
    import pandas as pd

    try:
        column = pd.read_csv(path)["ref_bpm"].to_numpy(dtype=np.float64)
    except (OSError, ValueError, KeyError) as exc:
        raise RecordingError(f"{path}: needs a readable CSV with a 'ref_bpm' column ({exc!r})") from exc
    truth = np.full(n_windows, np.nan)
    truth[: min(n_windows, len(column))] = column[:n_windows]
    return truth


if __name__ == "__main__":
    raise SystemExit(main())
