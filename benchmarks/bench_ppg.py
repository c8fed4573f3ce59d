"""Wrist-PPG heart rate on SPC-2015 (12 recordings) and the built-in synthetic data: accuracy and speed.

Accuracy follows the literature: mean absolute error per recording over all windows, then the mean of those.
The tracker is scored on every window (its candidate value, as the literature does) and, separately, on the
windows it reports as reliable, with the coverage. Baselines: the paper's Lasso + peak counting (with and
without lagged accelerometer features) and a plain band-pass + spectral peak.
Published on these 12: TROIKA 2.34, JOSS 1.28, MC-SMD 1.11, WFPV (online) 1.02, SpaMa 0.89. Goal: <= 1.0.

Speed (one core): the whole streaming pipeline on a ~5-minute recording (goal < 0.3 s, i.e. >= 1000x real time),
per-window latency p50/p99 and peak memory (VmHWM of a fresh process).
`--against REV` times the pipeline of git revision REV (checked out to a temporary folder) alternately with this
one, on the same 5-minute, 125 Hz, 2-channel recording, each in a fresh one-core process: the ratio of the two is
steadier on a shared machine than either time alone.
Usage: python benchmarks/bench_ppg.py [--quick] [--against REV]   (writes results/ppg.json, results/ppg_tracks.png)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, as the goal states
os.environ.setdefault("OMP_NUM_THREADS", "1")

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, ROOT, table, timed, write

PUBLISHED = {"TROIKA": 2.34, "JOSS": 1.28, "MC-SMD": 1.11, "WFPV (online)": 1.02, "SpaMa": 0.89}


def methods():
    from dataclasses import replace

    from liftsense.ppg.baselines import lasso_peak_estimates, spectral_peak_estimates
    from liftsense.ppg.spectral import SpectralConfig
    from liftsense.ppg.stream import estimate_recording

    def lagged(lag: int):
        return lambda r: estimate_recording(r, replace(SpectralConfig(), smoothing_lag=lag))

    return {
        "tracker": estimate_recording,  # the default: fixed-lag smoothing over 2 windows (4 s delay)
        "tracker, filter only (lag 0)": lagged(0),
        "tracker, lag 1 (2 s delay)": lagged(1),
        "tracker, lag 3 (6 s delay)": lagged(3),
        "lasso (paper)": lasso_peak_estimates,
        "lasso + lags": lambda r: lasso_peak_estimates(r, lags=1),
        "band-pass spectral peak": spectral_peak_estimates,
    }


def score(estimates, truth) -> dict:
    from liftsense.evaluation.heart_rate import score_heart_rate, track_arrays

    scores = score_heart_rate(estimates, truth)
    keep = ("aae_all", "aae_reported", "coverage", "confident_wrong_rate")
    return {k: scores[k] for k in keep} | {"estimate": track_arrays(estimates)[0].tolist()}


def accuracy(recordings) -> dict:
    out = {}
    for name, fn in methods().items():
        per = {r.name: score(fn(r), r.bpm_truth) for r in recordings}
        out[name] = {
            "per_recording": per,
            "mean_aae_all": float(np.mean([p["aae_all"] for p in per.values()])),
            "mean_aae_reported": float(np.mean([p["aae_reported"] for p in per.values()])),
            "mean_coverage": float(np.mean([p["coverage"] for p in per.values()])),
        }
    return out


def plot(recordings, results: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 4
    rows = -(-len(recordings) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax, rec in zip(axes.flat, recordings, strict=False):
        t = np.arange(len(rec.bpm_truth)) * 2 + 8
        ax.plot(t, rec.bpm_truth, "k-", lw=2, label="ECG truth")
        for name, style in (("tracker", "C0-"), ("lasso (paper)", "C3.")):
            est = results[name]["per_recording"][rec.name]
            ax.plot(t, est["estimate"], style, ms=2, lw=1, label=f"{name} {est['aae_all']:.2f}")
        ax.set_title(rec.name, fontsize=9)
        ax.set_ylim(40, 200)
        ax.legend(fontsize=6, loc="lower right")
    for ax in axes.flat[len(recordings) :]:
        ax.axis("off")
    fig.supxlabel("window end (s)")
    fig.supylabel("BPM")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def speed(recording) -> dict:
    from liftsense.ppg.spectral import SpectralTracker
    from liftsense.ppg.stream import estimate_recording

    whole = timed(lambda: estimate_recording(recording), repeats=7)
    tracker = SpectralTracker(recording.fs)
    signals = np.vstack([recording.ppg, recording.acc])
    latencies = []
    for k in range(recording.n_windows()):
        window = signals[:, k * 250 : k * 250 + 1000]
        t = time.perf_counter()
        tracker.step(window, k)
        latencies.append(time.perf_counter() - t)
    return {
        "recording": recording.name,
        "duration_s": recording.duration_s,
        "pipeline_median_s": whole["median_s"],
        "real_time_factor": recording.duration_s / whole["median_s"],
        "window_latency_p50_ms": 1e3 * float(np.percentile(latencies, 50)),
        "window_latency_p99_ms": 1e3 * float(np.percentile(latencies, 99)),
    }


TIMING_PROBE = """
import statistics, sys, time
sys.path.insert(0, {root!r})
from liftsense.ppg.stream import estimate_recording
from liftsense.ppg.synth import synth_recording
rec = synth_recording("running", duration_s=300.0, seed=0)
estimate_recording(rec)
runs = []
for _ in range(5):
    t = time.perf_counter()
    estimate_recording(rec)
    runs.append(time.perf_counter() - t)
print(statistics.median(runs))
"""


def speed_against(rev: str, rounds: int = 4) -> dict:
    """Median pipeline time of this tree and of `rev`, alternating fresh processes, and their ratio per round."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="liftsense-rev-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "liftsense"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
        env = os.environ | {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}

        def once(root: Path) -> float:
            code = TIMING_PROBE.format(root=str(root))
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
            )
            return float(out.stdout.strip())

        now, before = [], []
        for _ in range(rounds):
            before.append(once(folder))
            now.append(once(ROOT))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ratios = [b / n for b, n in zip(before, now, strict=True)]
    return {
        "against": rev,
        "this_median_s": float(np.median(now)),
        "previous_median_s": float(np.median(before)),
        "speedup_median": float(np.median(ratios)),
        "this_real_time_factor": 300.0 / float(np.median(now)),
        "previous_real_time_factor": 300.0 / float(np.median(before)),
    }


MEMORY_PROBE = """
import re, sys
sys.path.insert(0, {root!r})
def hwm():
    return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
from liftsense.ppg.stream import estimate_recording
from liftsense.ppg.synth import synth_recording
rec = synth_recording("running", duration_s=300.0, seed=0)
estimate_recording(synth_recording("running", duration_s=10.0, seed=1))  # lazy imports (scipy.signal) first
before = hwm()
estimate_recording(rec)
print(before, hwm())
"""


def memory() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"OPENBLAS_NUM_THREADS": "1"},
    )
    before, after = map(float, out.stdout.split())
    return {
        "peak_rss_mb": after,
        "rss_after_imports_mb": before,
        "estimation_increase_mb": after - before,
    }


def main() -> None:
    from liftsense.ppg import load_spc2015
    from liftsense.ppg.synth import ACTIVITIES, synth_recording

    quick = "--quick" in sys.argv
    spc = load_spc2015()
    synthetic = [synth_recording(a, seed=s) for a in ACTIVITIES for s in range(4)]
    results = {"spc2015": accuracy(spc[:3] if quick else spc), "synthetic": accuracy(synthetic)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(spc[:3] if quick else spc, results["spc2015"], RESULTS / "ppg_tracks.png")
    longest = max(spc, key=lambda r: r.n_samples)
    results["speed"] = speed(longest)
    results["memory"] = memory()
    if "--against" in sys.argv:
        results["speed_against"] = speed_against(sys.argv[sys.argv.index("--against") + 1])
        print("\nside by side:\n" + table([results["speed_against"]], list(results["speed_against"])))
    results["published_spc2015_mean_aae"] = PUBLISHED

    for data in ("spc2015", "synthetic"):
        rows = [
            {
                "method": m,
                "mean AAE (all windows)": v["mean_aae_all"],
                "mean AAE (reported)": v["mean_aae_reported"],
                "coverage": v["mean_coverage"],
            }
            for m, v in results[data].items()
        ]
        print(f"\n{data}:\n" + table(rows, list(rows[0])))
    names = list(results["spc2015"]["tracker"]["per_recording"])
    rows = [
        {
            "recording": n,
            **{m: results["spc2015"][m]["per_recording"][n]["aae_all"] for m in results["spc2015"]},
        }
        for n in names
    ]
    print("\nper recording (AAE, all windows):\n" + table(rows, list(rows[0])))
    print("\npublished:", ", ".join(f"{k} {v}" for k, v in PUBLISHED.items()))
    print(
        "\nspeed:\n"
        + table([results["speed"] | results["memory"]], list(results["speed"] | results["memory"]))
    )
    print(f"\nwrote {write('ppg', results)} and {RESULTS / 'ppg_tracks.png'}")


if __name__ == "__main__":
    main()
