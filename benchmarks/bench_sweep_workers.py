"""Trials per minute with 1 and 2 sweep workers sharing one Optuna study on PostgreSQL (a throwaway server from
Debian's packages, started here). Each worker is `training/sweep.py` as a user starts it on another host.

Usage: python benchmarks/bench_sweep_workers.py [n_trials] [model]   (default 8 trials of model=cnn, smoke trainer)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from _common import RESULTS, ROOT, table, write

SMALL = [
    "trainer=smoke",
    "data.synth.clips_per_exercise=6",
    "data.synth.subjects=6",
    "split.n_splits=3",
    "validation.enabled=false",
    "logger.log_model=false",
]


def run_workers(url: str, workers: int, n_trials: int, model: str) -> dict:
    import optuna

    home = (
        RESULTS / "sweep_workers"
    )  # one home: the 1-worker run creates the MLflow store the 2 workers share
    env = {**os.environ, "LIFTSENSE_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true"}
    args = [sys.executable, str(ROOT / "training" / "sweep.py"), f"model={model}", *SMALL]
    args += [f"sweep.n_trials={n_trials}", f"sweep.storage={url}"]
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(workers)
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(err[-3000:])
    wall = time.perf_counter() - t0
    trials = optuna.load_study(study_name=f"binary-{model}-builtin", storage=url).trials
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    return {
        "workers": workers,
        "trials": len(trials),
        "finished": len(finished),
        "wall_s": wall,
        "trials_per_min": 60 * len(finished) / wall,
        "distinct_params": len({tuple(sorted(t.params.items())) for t in trials}),
    }


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from serving.postgres import PostgresServer

    n_trials = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    model = sys.argv[2] if len(sys.argv) > 2 else "cnn"
    rows = []
    shutil.rmtree(RESULTS / "sweep_workers", ignore_errors=True)
    (RESULTS / "sweep_workers").mkdir(parents=True)
    with PostgresServer() as pg:
        for workers in (1, 2):
            rows.append(run_workers(pg.create_database(f"bench_{workers}"), workers, n_trials, model))
    rows[1]["speed_up"] = rows[1]["trials_per_min"] / rows[0]["trials_per_min"]
    print(table(rows, list(rows[1])))
    print(f"wrote {write('sweep_workers', {'model': model, 'n_trials': n_trials, 'rows': rows})}")


if __name__ == "__main__":
    main()
