"""The Hydra entry point, end to end, one small epoch per model, with a real sqlite MLflow store."""

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SMALL_POSTURE, run_entry_point

ROOT = Path(__file__).resolve().parents[1]
SMALL = SMALL_POSTURE


def _train(home: Path, *overrides: str) -> subprocess.CompletedProcess:
    return run_entry_point("train.py", home, *SMALL, *overrides)


@pytest.mark.slow
@pytest.mark.parametrize("model,task", [("cnn", "binary"), ("lstm", "fault"), ("rnn", "binary")])
def test_train_logs_run_metrics_and_loadable_model(tmp_path, model, task):
    proc = _train(tmp_path, f"model={model}", f"task={task}")
    assert proc.returncode == 0, proc.stderr[-3000:]

    import mlflow
    import numpy as np

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=[f"posture-{task}"], output_format="list")
    assert len(runs) == 1
    run = runs[0]
    metrics = run.data.metrics
    key = "test_clip_macro_f1" if task == "fault" else "test_clip_f1"
    for m in (
        key,
        "test_clip_accuracy",
        "test_window_accuracy",
        "test_baseline_always_correct_clip_f1",
        "val_loss",
        "train_loss",
        "per_exercise_and_label/test_squat_window_accuracy",
        "data/train_windows",
    ):
        assert m in metrics, m
    assert not any(k.startswith(("test_squat_", "test_label_")) for k in metrics)  # breakdowns are set aside
    said = proc.stdout + proc.stderr
    assert f"/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}" in said  # the URL of this run
    assert "verdict: the model" in said
    experiment = mlflow.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # opens on runs, not GenAI
    if model in ("cnn", "lstm", "rnn"):  # the plain val_loss is the kept checkpoint's, not the last epoch's
        curve = mlflow.MlflowClient().get_metric_history(run.info.run_id, "epoch/val_loss")
        assert metrics["val_loss"] == pytest.approx(min(m.value for m in curve))
        assert metrics["val_loss"] == pytest.approx(metrics["test_best_val_loss"])
        assert 1 <= metrics["kept_epoch"] <= len(curve)
    assert run.data.params["model.name"] == model and run.data.params["features.window"] == "15"
    assert run.data.tags["git_commit"] and run.data.tags["data_fingerprint"]
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    assert {
        "confusion_matrix.png",
        "per_exercise.png",
        "preprocessing.json",
        "data_summary.json",
    } <= artifacts
    # MLflow 3 stores the model as a LoggedModel linked to the run; it must load back by the run URI

    from liftsense.pipelines.posture import load_classifier

    clf = load_classifier(model_uri=f"runs:/{run.info.run_id}/model")
    n_feat = clf.hparams.n_features
    proba = clf.predict_proba(np.zeros((4, 15, n_feat), np.float32))
    assert proba.shape == (4, len(clf.hparams.preprocessing["classes"])) and np.allclose(proba.sum(1), 1)


@pytest.mark.slow
def test_evaluate_scores_a_checkpoint_like_training_did(tmp_path):
    assert _train(tmp_path, "model=cnn").returncode == 0
    ckpt = next(tmp_path.glob("outputs/**/checkpoints/best.ckpt"))
    out = tmp_path / "eval.json"
    proc = run_entry_point(
        "evaluate.py",
        tmp_path,
        f"checkpoint={ckpt}",
        "subset=test",
        *SMALL[1:],
        f"output_json={out}",
        "log_to_mlflow=false",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    import mlflow

    evaluated = json.loads(out.read_text())
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    trained = mlflow.search_runs(experiment_names=["posture-binary"], output_format="list")[0].data.metrics
    assert evaluated["clip_f1"] == pytest.approx(trained["test_clip_f1"])
    assert evaluated["window_accuracy"] == pytest.approx(trained["test_window_accuracy"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "model,task,calibration,percentiles",
    [
        ("clip_logistic", "binary", 0, False),  # rep features only: an option no dataset ships by default
        ("clip_forest", "fault", 0, True),
        ("clip_forest", "binary", 2, True),
    ],
)
def test_clip_models_train_log_and_evaluate_through_the_same_entry_points(
    tmp_path, model, task, calibration, percentiles
):
    balance = "weight" if calibration else "none"  # the calibrated case also exercises group balancing
    proc = _train(
        tmp_path,
        f"model={model}",
        f"task={task}",
        f"model.calibration={calibration}",
        f"split.group_balance={balance}",
        *([] if percentiles else ["+data.percentile_features=false"]),
        *(["model.n_trees=40"] if model == "clip_forest" else []),
        # the squat fault model's shape options (conf/data/squat_3d.yaml), on the built-in standing exercises
        *(["+data.rep_curves=true", "+data.pool_sides=true"] if task == "fault" else []),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = mlflow.search_runs(experiment_names=[f"posture-{task}"], output_format="list")
    key = "test_clip_macro_f1" if task == "fault" else "test_clip_f1"
    assert {key, "test_clip_accuracy", "test_baseline_always_correct_clip_f1", "data/features"} <= set(
        run.data.metrics
    )
    assert run.data.params["model.name"] == model and run.data.tags["model"] == model
    if calibration:  # each test subject's references come from its own correct clips and are not scored
        m = run.data.metrics
        references, uncalibrated = m["test_clips_used_as_reference"], m["test_clips_uncalibrated"]
        assert references > 0 and references % calibration == 0
        assert references <= calibration * m["data/test_groups"]
        assert m["test_n_clips_without_window"] >= references + uncalibrated
        assert m["test_n_clips_scored"] + m["test_n_clips_without_window"] == m["data/test_clips"]
        assert 0 <= m["test_train_clips_unbalanced"] < m["data/train_clips"]
    else:
        assert "test_train_clips_unbalanced" not in run.data.metrics

    from liftsense.models.clip_model import ClipFormModel
    from liftsense.models.estimators import fitted_trees
    from liftsense.pipelines.posture import load_classifier
    from liftsense.pose.clip_features import is_rep_feature

    uri = f"runs:/{run.info.run_id}/model"
    clf = load_classifier(model_uri=uri)
    assert isinstance(clf, ClipFormModel) and clf.columns_ and len(clf.classes) >= 2
    assert clf.calibration == calibration
    assert clf.percentile_features is percentiles
    if model == "clip_forest":  # the override reached the forest, and the run's parameters say so
        trees = sum(len(kind.estimators_) for kind in fitted_trees(clf.model_))
        assert trees == clf.n_trees == 40 and run.data.params["model.n_trees"] == "40"
        # the config's null share resolves by the task: half extra trees for a verdict, none for fault classes
        share = 0.5 if task == "binary" else 0.0
        assert clf.extra_trees_share == share and len(fitted_trees(clf.model_)) == (2 if share else 1)
        logged = json.loads(
            Path(
                mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/preprocessing.json")
            ).read_text()
        )
        assert logged["extra_trees_share"] == share and logged["n_trees"] == 40
    assert percentiles or all(is_rep_feature(c) for c in clf.columns_)
    shaped = task == "fault"
    assert clf.rep_curves is shaped and clf.pool_sides is shaped
    assert any(c.startswith("rep_curve_both_knee_angle_") for c in clf.columns_) is shaped
    logged = json.loads(
        Path(mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/preprocessing.json")).read_text()
    )
    assert logged["rep_curves"] is shaped and logged["pool_sides"] is shaped
    out = tmp_path / "eval.json"
    proc = run_entry_point(
        "evaluate.py",
        tmp_path,
        f"model_uri={uri}",
        f"task={task}",
        *SMALL[1:],
        f"output_json={out}",
    )  # subset=auto: the model's run trained on this data, so the test fold alone is scored
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "scoring the " in proc.stdout + proc.stderr and "test-fold clips" in proc.stdout + proc.stderr

    scored = json.loads(out.read_text())
    # the same held-out groups, the same fitted model: evaluate.py reproduces the training run's test score
    assert scored[key.removeprefix("test_")] == pytest.approx(run.data.metrics[key], abs=1e-9)


def test_a_data_fingerprint_is_the_same_in_every_process():
    """It tells evaluate.py whether a model trained on the data it scores: labels (an object array) included."""
    import subprocess
    import sys

    code = (
        "import numpy as np, pandas as pd; from liftsense.tracking import fingerprint; "
        "print(fingerprint(np.arange(6.0), pd.Series(['correct', 'bad_form'] * 3).to_numpy()))"
    )
    prints = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout for _ in range(2)
    }
    assert len(prints) == 1 and len(prints.pop().strip()) == 16
