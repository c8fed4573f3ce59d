"""Before `make serve` on a fresh machine: train and promote the built-in form models the registry lacks.

    python -m serving.bootstrap [train.py overrides...]

For each built-in task (correct/incorrect by the paper's CNN, named faults by the clip model) with nothing registered
in the registry the service reads (`MLFLOW_TRACKING_URI`, default ./mlflow.db), it runs `training/train.py` and
`training/promote.py` as a user would. Promotion keeps its rule: a model that does not beat the simple baseline is
registered but not made champion, and the service then answers without verdicts and says why. Exit 0 unless a
training or promotion command itself fails.
"""

from __future__ import annotations

import subprocess
import sys

from serving.local import REPO

#: (task, model) of the built-in models the service serves
BUILTIN = (("binary", "cnn"), ("fault", "clip_logistic"))


def registry_state(client, name: str) -> str | None:
    """ "champion", "registered" (versions, none promoted: they lost to the baseline) or None (nothing yet)."""
    try:
        model = client.get_registered_model(name)
    except Exception:  # no such registered model yet
        return None
    return "champion" if "champion" in model.aliases else "registered"


def latest_run(client, experiment: str) -> str:
    exp = client.get_experiment_by_name(experiment)
    (run,) = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
    return run.info.run_id


def main(argv: list[str]) -> int:
    from mlflow import MlflowClient

    from liftsense.coach import default_tracking_uri
    from liftsense.registry import registered_name

    tracking = default_tracking_uri()
    client = MlflowClient(tracking_uri=tracking)
    for task, model in BUILTIN:
        name = registered_name(task, "builtin")
        state = registry_state(client, name)
        if state == "champion":
            print(f"{name}: champion in {tracking}")
            continue
        if state == "registered":  # trained before and not promoted: training the same again would not help
            print(
                f"{name}: registered, but no version beat its baseline: not served (train a better one, promote it)"
            )
            continue
        overrides = [f"task={task}", f"model={model}", f"logger.tracking_uri={tracking}", *argv]
        print(f"{name}: no champion in {tracking}; training {model} on the built-in data ...", flush=True)
        for script, extra in (("train.py", []), ("promote.py", None)):
            if extra is None:
                extra = ["--run-id", latest_run(client, f"posture-{task}")]
            proc = subprocess.run(
                [sys.executable, str(REPO / "training" / script), *extra, *overrides],
                cwd=REPO,
                capture_output=True,
                text=True,
            )
            if proc.returncode:
                print(f"{script} failed for {name}:\n{proc.stderr[-3000:]}", file=sys.stderr)
                return 1
        print(proc.stdout.strip().splitlines()[-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
