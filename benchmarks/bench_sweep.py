"""A 20-trial CNN sweep on the built-in posture data with pruning on: wall time (goal < 15 min on 2 cores), the pruned
share, and the best validation loss against the default config's (trial 0 is the default config).

Usage: python benchmarks/bench_sweep.py [n_trials]   (writes results/sweep.json; uses a fresh store under results/)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from _common import RESULTS, ROOT, table, write


def main() -> None:
    n_trials = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    home = RESULTS / "sweep_home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {**os.environ, "LIFTSENSE_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true"}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "training" / "sweep.py"), "model=cnn", f"sweep.n_trials={n_trials}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    print(
        "\n".join(
            line
            for line in proc.stdout.splitlines()
            if line.startswith(("[trial", "best", "default", "trials"))
        )
    )
    if proc.returncode != 0:
        print(proc.stderr[-3000:])
        raise SystemExit(1)
    import optuna

    study = optuna.load_study(study_name="binary-cnn-builtin", storage=f"sqlite:///{home / 'optuna.db'}")
    states = [t.state.name for t in study.trials]
    default = study.trials[0].value if study.trials[0].state.name == "COMPLETE" else None
    row = {
        "trials": len(states),
        "wall_min": wall / 60,
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "pruned_share": states.count("PRUNED") / len(states),
        "best_val_loss": study.best_value,
        "default_config_val_loss": default,
        "best_params": " ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in study.best_params.items()
        ),
    }
    print(table([row], list(row)))
    print(f"wrote {write('sweep', row)}")


if __name__ == "__main__":
    main()
