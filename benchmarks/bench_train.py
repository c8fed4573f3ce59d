"""Wall time of the main job, `python training/train.py model=cnn` on the built-in data (goal: < 3 min on 2 cores).

Each run is a fresh process into a throw-away LIFTSENSE_HOME, so import, data generation, training, evaluation
and MLflow logging are all counted. Median of --repeats runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import ROOT, write


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("overrides", nargs="*", default=["model=cnn"])
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "LIFTSENSE_HOME": home}
            t = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "training/train.py", "trainer.progress_bar=false", *args.overrides],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            runs.append(time.perf_counter() - t)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr[-2000:])
    result = {
        "command": f"python training/train.py {' '.join(args.overrides)}",
        "runs_s": runs,
        "median_s": statistics.median(runs),
    }
    print(
        f"{result['command']}: median {result['median_s']:.1f} s over {len(runs)} runs ({', '.join(f'{r:.1f}' for r in runs)})"
    )
    print("wrote", write("train_" + "_".join(o.replace("=", "-") for o in args.overrides), result))


if __name__ == "__main__":
    main()
