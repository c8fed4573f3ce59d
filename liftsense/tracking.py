"""MLflow helpers: sqlite tracking by default, flattened params, data and git version tags."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from liftsense.datasets.paths import REPO_ROOT

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def flatten(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config -> {"a.b.c": "value"}; MLflow params are strings of at most 6000 characters."""
    out: dict[str, str] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = str(value)[:6000]
    return out


def git_version() -> dict[str, str]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "unknown"

    return {"git_commit": git("rev-parse", "HEAD"), "git_dirty": str(bool(git("status", "--porcelain")))}


def fingerprint(*arrays: Any) -> str:
    """Short content hash of the data a run used (landmarks, offsets, labels)."""
    h = hashlib.sha256()
    for a in arrays:
        # an object array's bytes are pointers, different in every process: hash its values
        if getattr(getattr(a, "dtype", None), "kind", "") == "O":
            h.update("\x1f".join(map(str, a.ravel())).encode())
        else:
            h.update(a.tobytes() if hasattr(a, "tobytes") else str(a).encode())
    return h.hexdigest()[:16]


def sqlite_uri(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


class TrackingUnavailable(RuntimeError):
    """The MLflow tracking server did not answer: before a run (nothing started) or during one (the run is marked
    FAILED when the server comes back within the retries, and its model is never logged or registered)."""


def is_server(tracking_uri: str) -> bool:
    return tracking_uri.startswith(("http://", "https://"))


def require_reachable(tracking_uri: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds, naming the URL, when a tracking server is down, instead of after MLflow's minutes of retries."""
    if not is_server(tracking_uri):
        return
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(f"{tracking_uri.rstrip('/')}/health", timeout=timeout_s).close()
    except (urllib.error.URLError, OSError) as exc:
        raise TrackingUnavailable(
            f"the MLflow tracking server at {tracking_uri} does not answer ({type(exc).__name__}: {exc}); "
            "start it (make tracking-server) or unset MLFLOW_TRACKING_URI to track in ./mlflow.db"
        ) from None


#: requests' and urllib3's names for a server that cannot be reached
CONNECTION_ERRORS = {
    "ConnectionError",
    "NewConnectionError",
    "MaxRetryError",
    "ConnectTimeout",
    "ReadTimeout",
}


def tracking_outage(exc: BaseException) -> bool:
    """Whether an exception (or one it was raised from) is MLflow failing to reach its tracking server."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if (
            isinstance(seen, TrackingUnavailable)
            or type(seen).__name__ in CONNECTION_ERRORS
            or (type(seen).__name__ == "MlflowException" and "API request to" in text)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


#: what the experiment holds: model training runs, not GenAI traces
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}
#: the UI's query that shows the runs: without it MLflow 3 opens on its GenAI pages, whatever the experiment holds
UI_MODEL_TRAINING = "workflowType=machine_learning"
#: where a run's per-epoch curves go; the plain names (val_loss, val_acc, ...) hold the kept checkpoint's values
EPOCH_PREFIX = "epoch/"
#: where the data's counts go (clips, windows and groups per split, gaps)
DATA_PREFIX = "data/"
#: where per-exercise, per-label and per-class test scores go, out of the way of the headline metrics
BREAKDOWN_PREFIX = "per_exercise_and_label/"


def run_url(tracking_uri: str, run_id: str) -> str:
    """The UI page of a run: on the tracking server itself, or on `make mlflow-ui` for a local store."""
    import mlflow

    base = tracking_uri.rstrip("/") if is_server(tracking_uri) else "http://127.0.0.1:5000"
    experiment_id = mlflow.MlflowClient(tracking_uri=tracking_uri).get_run(run_id).info.experiment_id
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}/model-metrics?{UI_MODEL_TRAINING}"


def experiment_urls(tracking_uri: str, base: str = "http://127.0.0.1:5000") -> list[str]:
    """One line per experiment with runs: its name and the UI page listing its runs."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    return [
        f"{exp.name}: {base}/#/experiments/{exp.experiment_id}/runs?{UI_MODEL_TRAINING}"
        for exp in client.search_experiments()
        if client.search_runs([exp.experiment_id], max_results=1)
    ]


def epoch_history():
    """A Lightning callback keeping each epoch's train and validation metrics, so that the epoch whose
    checkpoint is kept (lowest val_loss) can be logged as the run's final values (`log_kept_epoch`)."""
    import pytorch_lightning as pl

    class EpochHistory(pl.Callback):
        def __init__(self) -> None:
            self.epochs: list[dict[str, float]] = []

        def on_train_epoch_end(self, trainer, pl_module) -> None:  # after the epoch's validation
            if "val_loss" not in trainer.callback_metrics:
                return
            metrics = {
                k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith(("train_", "val_"))
            }
            self.epochs.append({"epoch": float(trainer.current_epoch + 1), **metrics})

    return EpochHistory()


def log_kept_epoch(client, run_id: str, history) -> dict[str, float]:
    """The kept checkpoint's epoch (lowest val_loss) as plain `val_loss`, `val_acc`, ... and `kept_epoch`."""
    if not history.epochs:
        return {}
    kept = min(history.epochs, key=lambda m: m["val_loss"])
    values = {("kept_epoch" if k == "epoch" else k): v for k, v in kept.items()}
    for k, v in values.items():
        client.log_metric(run_id, k, v)
    return values


def setup_mlflow(tracking_uri: str, experiment: str, artifact_location: str | None) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns its id. A tracking server keeps the
    artifacts itself (`--serve-artifacts`), so a local artifact location applies to local stores only."""
    import mlflow

    require_reachable(tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is not None:
        for k, v in EXPERIMENT_TAGS.items():  # an experiment made before the tag
            if exp.tags.get(k) != v:
                mlflow.MlflowClient().set_experiment_tag(exp.experiment_id, k, v)
        return exp.experiment_id
    location = None
    if artifact_location and not is_server(tracking_uri):
        location = Path(artifact_location).resolve().as_uri()
    try:
        return mlflow.create_experiment(experiment, artifact_location=location, tags=EXPERIMENT_TAGS)
    except mlflow.exceptions.MlflowException:  # another worker created it first
        exp = mlflow.get_experiment_by_name(experiment)
        if exp is None:
            raise
        return exp.experiment_id


def mlflow_logger(lcfg: Mapping[str, Any]):
    """A Lightning MLFlowLogger for the `logger` config, with the experiment created if needed."""
    from pytorch_lightning.loggers import MLFlowLogger

    class EpochCurvesLogger(MLFlowLogger):
        """Per-epoch curves under `epoch/`: the plain names are left for the kept checkpoint's values."""

        def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
            renamed = {f"{EPOCH_PREFIX}{k}": v for k, v in metrics.items() if k != "epoch"}
            super().log_metrics(renamed, step)

    setup_mlflow(lcfg["tracking_uri"], lcfg["experiment"], lcfg.get("artifact_location"))
    return EpochCurvesLogger(
        experiment_name=lcfg["experiment"],
        tracking_uri=lcfg["tracking_uri"],
        run_name=lcfg.get("run_name"),
        log_model=False,
        tags=dict(lcfg.get("tags") or {}) or None,  # e.g. mlflow.parentRunId for a sweep's trials
    )


def log_run(
    logger,
    cfg: Mapping[str, Any],
    tags: Mapping[str, Any],
    metrics: Mapping[str, float],
    breakdown: tuple[str, ...] = (),
) -> str:
    """Params (the flattened config), git and data tags, and `test_*` metrics (non-finite ones left out).
    Metrics starting with one of `breakdown` go under `per_exercise_and_label/test_*`: the headline ones stay few."""
    import math

    import mlflow

    client, run_id = logger.experiment, logger.run_id
    client.log_batch(run_id, params=[mlflow.entities.Param(k, v) for k, v in flatten(cfg).items()])
    for k, v in {**git_version(), **tags}.items():
        client.set_tag(run_id, k, str(v))
    for k, v in metrics.items():
        if math.isfinite(float(v)):
            section = BREAKDOWN_PREFIX if breakdown and k.startswith(breakdown) else ""
            client.log_metric(run_id, f"{section}test_{k}", float(v))
    return run_id


def log_module(run_id: str, module, input_example=None, output_example=None) -> None:
    """The trained LightningModule as the run's MLflow model (`runs:/<id>/model`); pickled, since Lightning
    modules carry their preprocessing as plain attributes. With examples, the model gets an input signature."""
    import mlflow
    import mlflow.pytorch

    signature = None
    if input_example is not None:
        from mlflow.models import infer_signature

        signature = infer_signature(input_example, output_example)
    with mlflow.start_run(run_id=run_id):
        mlflow.pytorch.log_model(
            module,
            name="model",
            serialization_format="pickle",
            pip_requirements=["torch==2.13.0", "pytorch-lightning==2.6.6"],
            signature=signature,
        )


def trained_fingerprint(model_uri: str | None) -> str | None:
    """The data fingerprint tagged on the run that logged a model (runs:/ or models:/), or None if unknown."""
    if not model_uri:
        return None
    import mlflow

    try:
        run_id = mlflow.models.get_model_info(model_uri).run_id
        return mlflow.MlflowClient().get_run(run_id).data.tags.get("data_fingerprint") if run_id else None
    except mlflow.exceptions.MlflowException:
        return None


def load_trained(model_uri: str | None, checkpoint: str | None, module_class: str):
    """A trained model from an MLflow model URI (runs:/ID/model, models:/name@alias) or a Lightning checkpoint
    of `module_class` ("package.module:Class"). A URI holding a scikit-learn model (the clip models) loads as one."""
    if bool(model_uri) == bool(checkpoint):
        raise ValueError("give exactly one of model_uri or checkpoint")
    if checkpoint:
        import importlib

        if not Path(checkpoint).exists():
            raise FileNotFoundError(f"checkpoint {checkpoint} not found")
        module_name, cls = module_class.split(":")
        return getattr(importlib.import_module(module_name), cls).load_from_checkpoint(
            checkpoint, map_location="cpu"
        )
    import mlflow.models
    import mlflow.pytorch

    if "sklearn" in mlflow.models.get_model_info(model_uri).flavors:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(model_uri)
    return mlflow.pytorch.load_model(model_uri, map_location="cpu")


if __name__ == "__main__":  # `make mlflow-ui` prints where the runs are before starting the UI
    import sys

    for line in experiment_urls(sys.argv[1]):
        print(line)
