"""Lightning DDP on CPU (`trainer.strategy=ddp trainer.devices=2`, gloo): two processes train the CNN; the run's
metrics and logged model match a single-process run of the same seed within the tolerance below, and only rank 0
logs to MLflow."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SMALL_WINDOWS, run_entry_point

# the same effective batch (16 per process) and steps, but another order of windows: not bit-identical
JOB = [
    *SMALL_WINDOWS,
    "model=cnn",
    "trainer.max_epochs=3",
    "trainer.patience=3",
    "trainer.limit_train_batches=20",
]
VAL_LOSS_TOLERANCE = 0.10  # relative, on the best validation log-loss
PROBABILITY_TOLERANCE = 0.10  # mean absolute difference of the logged models' test probabilities


def _only_run(home):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["posture-binary"], output_format="list")
    assert len(runs) == 1, [r.info.run_name for r in runs]  # one run, whatever the number of processes
    return runs[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    homes = {name: tmp_path_factory.mktemp(name) for name in ("single", "ddp")}
    single = run_entry_point("train.py", homes["single"], *JOB)
    ddp = run_entry_point("train.py", homes["ddp"], *JOB, "trainer.strategy=ddp", "trainer.devices=2")
    assert single.returncode == 0, single.stderr[-3000:]
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert "Starting with 2 processes" in ddp.stdout + ddp.stderr
    return {name: (homes[name], _only_run(homes[name])) for name in homes}


def test_only_rank_0_logs_to_mlflow(runs):
    import mlflow

    home, run = runs["ddp"]
    assert run.data.params["trainer.devices"] == "2" and run.data.params["trainer.strategy"] == "ddp"
    client = mlflow.MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
    history = client.get_metric_history(run.info.run_id, "epoch/val_loss")
    assert len(history) == run.data.metrics["test_epochs"]  # one value an epoch, not one per process
    assert len({h.step for h in history}) == len(history)


def test_ddp_matches_one_process_within_the_tolerance(runs):
    import mlflow.pytorch

    single, ddp = runs["single"][1], runs["ddp"][1]
    assert ddp.data.metrics["test_best_val_loss"] == pytest.approx(
        single.data.metrics["test_best_val_loss"], rel=VAL_LOSS_TOLERANCE
    )
    models = {}
    for name, (home, run) in runs.items():
        mlflow.set_tracking_uri(f"sqlite:///{home / 'mlflow.db'}")
        models[name] = mlflow.pytorch.load_model(f"runs:/{run.info.run_id}/model", map_location="cpu")
    x = (
        np.random.default_rng(0)
        .normal(size=(256, 15, models["single"].hparams.n_features))
        .astype(np.float32)
    )
    difference = np.abs(models["single"].predict_proba(x) - models["ddp"].predict_proba(x)).mean()
    assert difference < PROBABILITY_TOLERANCE, difference
