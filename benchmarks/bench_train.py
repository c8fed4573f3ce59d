"""The main job, `python training/train.py model=cnn` on the built-in data: wall time (goal: < 3 min on 2 cores)
and its verdict against the baselines (goal: test clip F1 at least 0.15 above always "correct" in every seed).

Each run is a fresh process into a throw-away LIFTSENSE_HOME, so import, data generation, the data gate,
training, evaluation and MLflow logging are all counted. One run per seed, then the first seed again: its
metrics must come out identical (a fixed seed is repeatable).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from _common import ROOT, write

SCORE = re.compile(
    r"test clip_f1 = ([0-9.]+) \(always-correct baseline clip F1 ([0-9.]+)\), clip accuracy ([0-9.]+)"
)


def train_once(seed: int, overrides: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "LIFTSENSE_HOME": home}
        env.pop("MLFLOW_TRACKING_URI", None)  # the run's own sqlite store in LIFTSENSE_HOME
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "training/train.py", "trainer.progress_bar=false", f"seed={seed}", *overrides],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t
    if proc.returncode != 0 or not (m := SCORE.search(proc.stderr + proc.stdout)):
        raise SystemExit(proc.stderr[-2000:])
    f1, baseline, accuracy = (float(v) for v in m.groups())
    return {
        "seed": seed,
        "wall_s": wall,
        "clip_f1": f1,
        "always_correct_f1": baseline,
        "clip_accuracy": accuracy,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("overrides", nargs="*", default=["model=cnn"])
    args = parser.parse_args()
    runs = [train_once(seed, args.overrides) for seed in [*args.seeds, args.seeds[0]]]
    for r in runs:
        print(
            f"seed {r['seed']}: {r['wall_s']:.1f} s, clip F1 {r['clip_f1']:.3f} against {r['always_correct_f1']:.3f}, "
            f"clip accuracy {r['clip_accuracy']:.3f}"
        )
    repeat, first = runs[-1], runs[0]
    walls = [r["wall_s"] for r in runs]
    result = {
        "command": f"python training/train.py {' '.join(args.overrides)}",
        "runs": runs,
        "median_s": statistics.median(walls),
        "min_margin_over_always_correct": min(r["clip_f1"] - r["always_correct_f1"] for r in runs),
        "same_seed_identical": all(
            repeat[k] == first[k] for k in ("clip_f1", "always_correct_f1", "clip_accuracy")
        ),
    }
    print(
        f"{result['command']}: median {result['median_s']:.1f} s over {len(runs)} runs; smallest clip F1 margin over "
        f'always "correct" {result["min_margin_over_always_correct"]:+.3f}; seed {first["seed"]} twice gives '
        f"{'identical' if result['same_seed_identical'] else 'DIFFERENT'} metrics"
    )
    print("wrote", write("train_" + "_".join(o.replace("=", "-") for o in args.overrides), result))


if __name__ == "__main__":
    main()
