"""One process against Lightning DDP with 2 processes on CPU (gloo), training the default CNN on the built-in data
for a fixed number of epochs (no early stop), as a user runs `training/train.py`. Medians over repeated runs of the
whole command (imports, data, the second process's own start-up, training, evaluation, logging) and of the run's
`train_seconds`; and the metrics of both, since DDP must not change what is learnt beyond the test's tolerance.

Usage: python benchmarks/bench_ddp.py [epochs] [repeats]   (default 4 epochs, 3 repeats)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

from _common import RESULTS, ROOT, table, write

SETUPS = {"1 process": [], "ddp, 2 processes": ["trainer.strategy=ddp", "trainer.devices=2"]}


def train_once(name: str, extra: list[str], epochs: int, repeat: int) -> dict:
    import mlflow

    home = RESULTS / "ddp" / f"{name.split(',')[0].replace(' ', '_')}-{repeat}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {**os.environ, "LIFTSENSE_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    args = [f"trainer.max_epochs={epochs}", f"trainer.patience={epochs}", "trainer.progress_bar=false"]
    args += ["validation.enabled=false", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "training" / "train.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
    (run,) = mlflow.search_runs(experiment_names=["posture-binary"], output_format="list")
    m = run.data.metrics
    return {
        "wall_s": wall,
        "train_seconds": m["test_train_seconds"],
        "best_val_loss": m["test_best_val_loss"],
        "clip_f1": m["test_clip_f1"],
        "clip_accuracy": m["test_clip_accuracy"],
    }


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rows = []
    for repeat in range(repeats):  # interleaved, so that a busy spell of the machine hits both
        for name, extra in SETUPS.items():
            rows.append({"setup": name, "repeat": repeat, **train_once(name, extra, epochs, repeat)})
            print(rows[-1], flush=True)
    summary = []
    for name in SETUPS:
        mine = [r for r in rows if r["setup"] == name]
        summary.append(
            {
                "setup": name,
                **{k: statistics.median(r[k] for r in mine) for k in mine[0] if k not in ("setup", "repeat")},
            }
        )
    one, ddp = summary
    ddp["speed_up_wall"] = one["wall_s"] / ddp["wall_s"]
    ddp["speed_up_train"] = one["train_seconds"] / ddp["train_seconds"]
    print(table(summary, list(ddp)))
    payload = {"epochs": epochs, "repeats": repeats, "cpus": os.cpu_count(), "summary": summary, "runs": rows}
    print(f"wrote {write('ddp', payload)}")


if __name__ == "__main__":
    main()
