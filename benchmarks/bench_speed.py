"""Speed and memory: CNN inference (batch 1 and 256), BlazePose extraction on 640x480, dataset generation.

Goals (issue 2): CNN <= 0.3 ms/window at batch 1 and >= 50,000 windows/s at batch 256; BlazePose >= 30 frames/s.
"""

from __future__ import annotations

import subprocess
import sys

from _common import ROOT, table, timed, write


def cnn_inference() -> list[dict]:
    import numpy as np
    import torch

    from liftsense.models.networks import build_network

    torch.set_num_threads(2)
    rows = []
    for name in ("cnn", "lstm", "rnn"):
        net = build_network(name, 61, 2).eval()
        net = (
            net.fuse_for_inference() if hasattr(net, "fuse_for_inference") else net
        )  # as predict_proba serves it
        for batch in (1, 256):
            x = torch.from_numpy(np.random.default_rng(0).normal(size=(batch, 15, 61)).astype(np.float32))
            reps = 200 if batch == 1 else 20

            def go(net=net, x=x, reps=reps) -> None:
                with torch.inference_mode():
                    for _ in range(reps):
                        net(x)

            t = timed(go, repeats=7)
            per_call = t["median_s"] / reps
            rows.append(
                {
                    "model": name,
                    "batch": batch,
                    "ms_per_window": 1e3 * per_call / batch,
                    "windows_per_s": batch / per_call,
                }
            )
    return rows


def extraction_fps() -> dict:
    import cv2
    import numpy as np

    from liftsense.datasets.paths import data_dir
    from liftsense.pose.extract import PoseEstimator

    video = data_dir() / "pose" / "media" / "videos" / "pushup_correct84.mp4"
    cap = cv2.VideoCapture(str(video))
    frames = []
    while len(frames) < 60:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, (640, 480)))
    cap.release()
    found = []

    def go() -> None:
        with PoseEstimator(static=False) as est:
            found.append(np.mean([np.isfinite(est(f)[0, 0]) for f in frames]))

    t = timed(go, repeats=5)
    return {
        "frames": len(frames),
        "resolution": "640x480",
        "mode": "video (tracking)",
        "fps": len(frames) / t["median_s"],
        "detected_fraction": float(np.mean(found)),
        **t,
    }


# peak resident memory of the current process in kB (ru_maxrss would include the forking parent's pages)
HWM = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"


def generation() -> dict:
    """Default built-in dataset: time (median of 3) and peak RSS of a fresh process."""
    code = (
        "import time;t=time.perf_counter();from liftsense.pose.synth import generate;s=generate();"
        f"print(time.perf_counter()-t, {HWM}, len(s), len(s.landmarks), s.landmarks.nbytes)"
    )
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        runs.append([float(v) for v in out])
    runs.sort()
    secs, rss_kb, clips, frames, nbytes = runs[1]
    base = subprocess.run(
        [sys.executable, "-c", f"import numpy,pandas,scipy;print({HWM})"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        "clips": int(clips),
        "frames": int(frames),
        "seconds_median": secs,
        "peak_rss_mb": rss_kb / 1024,
        "baseline_import_rss_mb": float(base) / 1024,
        "landmarks_mb": nbytes / 1e6,
    }


def clip_model_speed() -> list[dict]:
    """The clip models on real squats: fit time on all clips, and per-clip latency of features + prediction."""
    import warnings

    import numpy as np

    from liftsense.datasets.real import load_squat_3d
    from liftsense.models.clip_model import ClipFormModel

    warnings.filterwarnings("ignore")
    seqs = load_squat_3d()
    y = seqs.meta["correct"].astype(int).to_numpy()
    rows = []
    # the shipped two-class forest averages a random forest with extra trees; the plain forest it replaced beside
    kinds = {
        "clip_logistic": {"estimator": "logistic"},
        "clip_forest": {"estimator": "forest"},
        "clip_forest, random forest alone (before 2026-12-07)": {
            "estimator": "forest",
            "extra_trees_share": 0.0,
        },
        # the rep curve and pooled sides (data.rep_curves, data.pool_sides; options, off by default)
        "clip_logistic, rep curves + pooled sides": {
            "estimator": "logistic",
            "rep_curves": True,
            "pool_sides": True,
        },
    }
    for name, options in kinds.items():
        model = ClipFormModel(["incorrect", "correct"], **options)
        fit = timed(lambda model=model: model.fit(seqs, y), repeats=3, warmup=0)
        one = seqs.subset([0])
        latency = timed(lambda model=model, one=one: model.predict_proba(one), repeats=50)
        rows.append(
            {
                "model": name,
                "fit_s_1043_clips": fit["median_s"],
                "ms_per_clip_batch1": 1e3 * latency["median_s"],
                "median_clip_frames": float(np.median(seqs.lengths())),
            }
        )
    return rows


def grouped_gate_speed() -> list[dict]:
    """promote.py's grouped gate (a clip model's settings refitted without each group, at most 10 folds) on the
    real sets: how long a promotion waits for it, per model it scores."""
    import resource
    import warnings

    from liftsense.datasets.real import load_pushup, load_squat_3d
    from liftsense.evaluation.metrics import classes_of
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.pipelines.grouped_gate import grouped_score

    warnings.filterwarnings("ignore")
    squats = load_squat_3d()
    # conf/data/squat_3d.yaml's settings for each task
    squat = {
        "coordinates": "world",
        "drop_cues": ("hip_height", "hip_above_knee", "depth", "range_of_motion"),
    }
    faults = classes_of("fault", squats.meta)
    cases = {
        "squat verdict, clip_logistic": (
            ClipFormModel(["incorrect", "correct"], group_balance="weight", **squat),
            squats,
            "binary",
        ),
        "squat faults, clip_logistic": (
            ClipFormModel(faults, group_balance="drop", **squat),
            squats,
            "fault",
        ),
        "push-up verdict, clip_forest (1000 trees)": (
            ClipFormModel(["incorrect", "correct"], estimator="forest", normalization="body"),
            load_pushup(),
            "binary",
        ),
    }
    rows = []
    for name, (model, seqs, task) in cases.items():
        scored = []
        run = timed(
            lambda model=model, seqs=seqs, task=task, scored=scored: scored.append(
                grouped_score(model, seqs, task)
            ),
            3,
            0,
        )
        rows.append(
            {
                "gate": name,
                "clips": len(scored[-1].clips),
                "folds": scored[-1].folds,
                "seconds": run["median_s"],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    return rows


def main() -> None:
    clip = clip_model_speed()
    print(table(clip, ["model", "fit_s_1043_clips", "ms_per_clip_batch1", "median_clip_frames"]))
    inf = cnn_inference()
    print(table(inf, ["model", "batch", "ms_per_window", "windows_per_s"]))
    ext = extraction_fps()
    print(
        f"\nBlazePose extraction: {ext['fps']:.1f} frames/s on {ext['resolution']} ({ext['mode']}), person found in {100 * ext['detected_fraction']:.0f}%"
    )
    gen = generation()
    print(
        f"Built-in dataset: {gen['clips']} clips, {gen['frames']} frames in {gen['seconds_median']:.2f} s, peak RSS {gen['peak_rss_mb']:.0f} MB (imports alone {gen['baseline_import_rss_mb']:.0f} MB), landmarks {gen['landmarks_mb']:.0f} MB"
    )
    gate = grouped_gate_speed()
    print(table(gate, ["gate", "clips", "folds", "seconds", "peak_rss_mb"]))
    path = write(
        "speed",
        {"inference": inf, "clip_models": clip, "grouped_gate": gate, "extraction": ext, "generation": gen},
    )
    print("wrote", path)


if __name__ == "__main__":
    main()
