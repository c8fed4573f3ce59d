"""Rest-HR job: sessions -> (set -> rest) examples -> recovery LSTM and baselines -> held-out metrics -> MLflow.

Called with a plain dict (the resolved Hydra config), so it runs and is tested without Hydra.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from liftsense.datasets.loaders import load_sessions
from liftsense.datasets.splits import fitting_n_splits, train_val_test
from liftsense.resthr.examples import ExampleConfig, Examples, build_examples
from liftsense.resthr.recovery import BASELINES, TargetRule, horizon_mae, target_errors
from liftsense.resthr.sessions import SkipLog, bouts

log = logging.getLogger(__name__)


def split_groups(examples: Examples) -> pd.Series:
    """By person when there are several, else by session (never by set)."""
    subjects = examples.meta["subject"].astype(str)
    return subjects if subjects.nunique() >= 5 else examples.meta["session"].astype(str)


@dataclass
class PreparedRest:
    train: Examples
    val: Examples
    test: Examples
    skips: dict
    split_by: str


def prepare(cfg: dict[str, Any], sessions: pd.DataFrame) -> PreparedRest:
    task = cfg["task"]
    skips = SkipLog()
    all_bouts = bouts(sessions, task.get("min_set_s", 5.0), task.get("max_set_s", 600.0), skips)
    examples = build_examples(all_bouts, ExampleConfig(**(task.get("examples") or {})))
    groups = split_groups(examples)
    meta = pd.DataFrame({"group": groups, "label": "rest"})
    split = cfg.get("split", {})
    n_splits = fitting_n_splits(meta, split.get("n_splits", 5))
    if n_splits < split.get("n_splits", 5):
        log.warning(
            "%d groups only: %d group folds instead of %d (each test fold is one group)",
            meta["group"].nunique(),
            n_splits,
            split.get("n_splits", 5),
        )
    tr, va, te = train_val_test(
        meta,
        n_splits,
        split.get("fold", 0),
        split.get("val_fraction", 0.2),
        cfg.get("seed", 0),
    )
    log.info("rest examples: %d train, %d val, %d test; skipped %s", len(tr), len(va), len(te), skips.counts)
    by = "subject" if groups.equals(examples.meta["subject"].astype(str)) else "session"
    return PreparedRest(examples.subset(tr), examples.subset(va), examples.subset(te), skips.counts, by)


def build_module(cfg: dict[str, Any], prep: PreparedRest):
    from liftsense.models.rest_recovery import RestRecoveryLSTM, context_scaler

    m = cfg["model"]
    return RestRecoveryLSTM(
        n_context=prep.train.context.shape[1],
        n_horizons=len(prep.train.horizons),
        preprocessing=context_scaler(prep.train),
        hidden=m["hidden"],
        layers=m["layers"],
        dropout=m["dropout"],
        dense=m["dense"],
        lr=m["lr"],
    )


def fit(cfg: dict[str, Any], prep: PreparedRest, module, logger=False, callbacks: list | None = None):
    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
    from torch.utils.data import DataLoader, TensorDataset

    from liftsense.console import epoch_lines, progress_bar
    from liftsense.models.rest_recovery import tensors

    pl.seed_everything(cfg.get("seed", 0), workers=True, verbose=False)
    tcfg = cfg["trainer"]
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = ModelCheckpoint(dirpath=tmp, monitor="val_loss", save_top_k=1, filename="best")
        trainer = pl.Trainer(
            max_epochs=tcfg["max_epochs"],
            accelerator="cpu",
            devices=1,
            logger=logger,
            callbacks=[
                EarlyStopping(monitor="val_loss", patience=tcfg["patience"]),
                ckpt,
                *epoch_lines(tcfg.get("progress_bar", True)),
                *(callbacks or []),
            ],
            enable_progress_bar=progress_bar(tcfg.get("progress_bar", True)),
            enable_model_summary=False,
            limit_train_batches=tcfg.get("limit_train_batches", 1.0),
            log_every_n_steps=5,
        )
        gen = torch.Generator().manual_seed(cfg.get("seed", 0))
        train = DataLoader(
            TensorDataset(*tensors(prep.train)), batch_size=tcfg["batch_size"], shuffle=True, generator=gen
        )
        val = DataLoader(TensorDataset(*tensors(prep.val)), batch_size=1024)
        trainer.fit(module, train, val)
        best = type(module).load_from_checkpoint(ckpt.best_model_path) if ckpt.best_model_path else module
    return best, trainer


def evaluate(forecast: np.ndarray, test: Examples, rule: TargetRule, train: Examples) -> dict[str, float]:
    """The model's horizon MAEs and target errors, with every baseline's beside them (fitted on train)."""
    metrics = {**horizon_mae(forecast, test), **target_errors(forecast, test, rule)}
    for baseline in BASELINES:
        b = baseline().fit(train)
        pred = b.predict(test)
        key = b.name.split(",")[0].replace(" ", "_").replace("-", "_")
        for k, v in {**horizon_mae(pred, test), **target_errors(pred, test, rule)}.items():
            if k.startswith(("mae", "target", "rest_time")):
                metrics[f"baseline_{key}_{k}"] = v
    return metrics


def load_rest_model(model_uri: str | None = None, checkpoint: str | None = None):
    """A trained rest-HR network from an MLflow model URI (runs:/ID/model, models:/name@alias) or a checkpoint."""
    from liftsense.tracking import load_trained

    return load_trained(model_uri, checkpoint, "liftsense.models.rest_recovery:RestRecoveryLSTM")


def score_rest_model(module, examples: Examples, rule: TargetRule) -> dict[str, float]:
    """A trained rest model on rests it never saw, with the baselines beside it, scored on the same rests.

    Persistence needs no fitting. The fitted baselines are cross-fitted by group (person, else session): each
    group's forecast comes from a baseline fitted on the other groups, so none is scored on its own rests.
    """
    forecast = module.forecast(examples)
    metrics = {**horizon_mae(forecast, examples), **target_errors(forecast, examples, rule)}
    groups = split_groups(examples).to_numpy()
    for baseline in BASELINES:
        pred = np.full_like(forecast, np.nan)
        for g in np.unique(groups):
            held = groups == g
            if baseline.__name__ != "Persistence" and held.all():
                break  # one group: nothing to fit on without seeing it
            fitted = baseline().fit(examples.subset(np.flatnonzero(~held)) if (~held).any() else examples)
            pred[held] = fitted.predict(examples.subset(np.flatnonzero(held)))
        if not np.isfinite(pred).any():
            continue
        key = baseline().name.split(",")[0].replace(" ", "_").replace("-", "_")
        for k, v in {**horizon_mae(pred, examples), **target_errors(pred, examples, rule)}.items():
            if k.startswith(("mae", "target", "rest_time")):
                metrics[f"baseline_{key}_{k}"] = v
    metrics["rests"] = float(len(examples))
    return metrics


def recovery_figure(forecast: np.ndarray, test: Examples, path: Path, n: int = 12) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [i for i in range(len(test)) if np.isfinite(test.target[i]).sum() >= 6][:n]
    cols = 4
    fig, axes = plt.subplots(
        max(1, -(-len(rows) // cols)), cols, figsize=(14, 2.6 * max(1, -(-len(rows) // cols))), squeeze=False
    )
    for ax, i in zip(axes.flat, rows, strict=False):
        ax.plot(test.horizons, test.hr_end[i] + test.target[i], "k.", ms=3, label="measured")
        ax.plot(test.horizons, test.hr_end[i] + forecast[i], "C0-", label="forecast")
        ax.set_title(f"{test.meta.session[i]} set {test.meta['index'][i]}", fontsize=8)
    for ax in axes.flat[len(rows) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.supxlabel("seconds into the rest")
    fig.supylabel("HR (bpm)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def run(cfg: dict[str, Any], callbacks: list | None = None) -> dict[str, Any]:
    """Train, evaluate on held-out groups and track everything. Returns the test metrics and run id."""

    from liftsense.tracking import (
        DATA_PREFIX,
        epoch_history,
        fingerprint,
        log_kept_epoch,
        log_module,
        log_run,
        mlflow_logger,
    )

    t0 = time.perf_counter()
    sessions = load_sessions(cfg["data"])
    from data_validation.gate import gate_for_training, log_to_mlflow
    from data_validation.tables import hr_tables

    validation = gate_for_training(
        "hr", lambda: hr_tables(sessions), cfg["data"]["name"], cfg.get("validation")
    )
    prep = prepare(cfg, sessions)
    module = build_module(cfg, prep)
    lcfg = cfg["logger"]
    logger = mlflow_logger(lcfg)
    history = epoch_history()
    best, trainer = fit(cfg, prep, module, logger=logger, callbacks=[*(callbacks or []), history])
    rule = TargetRule(**(cfg["task"].get("target_rule") or {}))
    forecast = best.forecast(prep.test)
    metrics = evaluate(forecast, prep.test, rule, prep.train)
    metrics["train_seconds"] = time.perf_counter() - t0
    metrics["epochs"] = float(trainer.current_epoch)
    metrics["best_val_loss"] = float(trainer.checkpoint_callback.best_model_score)
    tags = {
        "task": "rest_hr",
        "model": cfg["model"]["name"],
        "split_by": prep.split_by,
        "data_source": cfg["data"]["name"],
        "data_fingerprint": fingerprint(sessions["time"].to_numpy(), sessions["heart_rate"].to_numpy()),
    }
    run_id = log_run(logger, cfg, tags, metrics)
    client = logger.experiment
    log_kept_epoch(client, run_id, history)
    log_to_mlflow(validation, client, run_id, cfg.get("validation"))
    for k, v in {**prep.skips, "train_examples": len(prep.train), "test_examples": len(prep.test)}.items():
        client.log_metric(run_id, f"{DATA_PREFIX}{k}".replace(" ", "_"), float(v))
    with tempfile.TemporaryDirectory() as tmp:
        client.log_artifact(
            run_id, str(recovery_figure(forecast, prep.test, Path(tmp) / "recovery_forecasts.png"))
        )
    if lcfg.get("log_model", True):
        log_module(run_id, best)
    return {"run_id": run_id, "metrics": metrics, "module": best, "prepared": prep}
