"""Posture-correction job: load landmarks, window them, train a form classifier, evaluate, track in MLflow.

Called with a plain dict (the resolved Hydra config), so it runs and is tested without Hydra.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from liftsense.console import epoch_lines, progress_bar
from liftsense.datasets.loaders import load_sequences
from liftsense.datasets.splits import assert_disjoint, train_val_test
from liftsense.evaluation.metrics import classes_of, clip_targets, confusion, evaluate, one_class_reason
from liftsense.pose.features import FeatureConfig, FeatureScaler, WindowFeaturizer, Windows
from liftsense.pose.sequences import PoseSequences

log = logging.getLogger(__name__)


def validate_sequences(cfg: dict[str, Any], seqs: PoseSequences):
    """The landmark gate before training, with the windows as this config makes them."""
    from data_validation.gate import gate_for_training
    from data_validation.tables import landmark_tables

    fcfg = feature_config(cfg["features"])
    partial = cfg["data"].get("clip_features", "body") == "partial"
    return gate_for_training(
        "landmarks",
        lambda: landmark_tables(
            seqs,
            image_coordinates=cfg["data"].get("image_coordinates", cfg["data"]["name"] != "squat_3d"),
            window=fcfg.max_window,
            n_features=len(fcfg.feature_names()),
            # a partial-body source has no 61-feature windows by design: only clip models read it
            featurizer=None if partial else WindowFeaturizer(fcfg),
            split_seed=cfg.get("seed", 0),
        ),
        seqs.source,
        cfg.get("validation"),
    )


def require_full_body(cfg: dict[str, Any], seqs: PoseSequences) -> None:
    """The paper's window networks read all 17 kept landmarks in 3-D; a source that records only part of the
    body (or no depth) is refused with what it lacks, instead of ending in a window-count error."""
    from liftsense.models.clip_model import CLIP_MODELS

    if cfg["model"]["name"] in CLIP_MODELS or cfg["data"].get("clip_features", "body") != "partial":
        return
    lacks = {ex: ", ".join(names) for ex, names in seqs.absent.items()}
    detail = "; ".join(f"{ex}: {names}" for ex, names in lacks.items()) or "depth (2-D points only)"
    raise ValueError(
        f"data={cfg['data']['name']} records only part of the body ({detail}); the paper's "
        f"{cfg['model']['name']} needs all 17 landmarks in 3-D. Use model=clip_logistic or model=clip_forest, "
        "which judge these clips from the joints they have."
    )


def feature_config(features: dict[str, Any]) -> FeatureConfig:
    return FeatureConfig(**{k: v for k, v in features.items()})


@dataclass
class Split:
    seqs: PoseSequences
    windows: Windows
    x: np.ndarray  # scaled
    y: np.ndarray  # window targets
    # training only: sampling weight per window (split.group_balance=weight)
    weights: np.ndarray | None = None


@dataclass
class Prepared:
    classes: list[str]
    feature_cfg: FeatureConfig
    scaler: FeatureScaler
    train: Split
    val: Split
    test: Split
    data_summary: dict[str, Any]
    test_index: np.ndarray  # positions of the test clips in the full dataset (for pooled out-of-fold scores)

    def preprocessing(self) -> dict[str, Any]:
        return {"features": self.feature_cfg.__dict__, "scaler": self.scaler.state(), "classes": self.classes}


def split_clips(
    cfg: dict[str, Any], seqs: PoseSequences, warn_one_class: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test clip positions: whole groups, disjoint (checked), the same for every model.

    Warns when the validation clips hold one class: `promote.py --gate validation` reads them, and could not judge
    any model there (promotion itself says so, and asks for no warning)."""
    split = cfg["split"]
    tr, va, te = train_val_test(
        seqs.meta, split["n_splits"], split["fold"], split["val_fraction"], cfg["seed"]
    )
    assert_disjoint(seqs.meta, tr, va, te)
    task = cfg["task"]["name"]
    if not warn_one_class or not len(va):
        return tr, va, te
    reason = one_class_reason(task, seqs.meta.iloc[va], classes_of(task, seqs.meta))
    if reason:
        log.warning(
            "validation: %s. promote.py's validation gate (for networks, or --gate validation) cannot judge a "
            "model on this split; its grouped gate, the default for clip models, can. Another split.fold or a "
            "larger split.val_fraction gives validation groups that can",
            reason,
        )
    return tr, va, te


def prepare(cfg: dict[str, Any], seqs: PoseSequences | None = None) -> Prepared:
    seqs = seqs if seqs is not None else load_sequences(cfg["data"])
    task = cfg["task"]["name"]
    classes = classes_of(task, seqs.meta)
    split = cfg["split"]
    tr, va, te = split_clips(cfg, seqs)
    fcfg = feature_config(cfg["features"])
    featurizer = WindowFeaturizer(fcfg)
    parts = {}
    for name, idx in (("train", tr), ("val", va), ("test", te)):
        sub = seqs.subset(idx)
        parts[name] = (sub, featurizer.transform(sub))
    scaler = FeatureScaler().fit(parts["train"][1].x)  # training windows only
    splits = {}
    for name, (sub, win) in parts.items():
        splits[name] = _labelled_split(task, classes, sub, win, scaler, name)
    splits["train"], unbalanced = _balance_groups(splits["train"], split.get("group_balance", "none"))
    summary = {
        "source": seqs.source,
        **{f"all_{k}": v for k, v in seqs.summary().items()},
        **{f"{n}_clips": len(s.seqs) for n, s in splits.items()},
        **{f"{n}_windows": len(s.x) for n, s in splits.items()},
        **{f"{n}_groups": int(s.seqs.meta["group"].nunique()) for n, s in splits.items()},
        **{f"gaps_{k}": v for k, v in splits["train"].windows.counts.as_dict().items()},
        "train_windows_unbalanced": unbalanced,
        "clips_unknown_label": int((clip_targets(task, seqs.meta, classes) < 0).sum()),
    }
    for n, s in splits.items():
        if len(s.x) == 0:
            raise ValueError(f"the {n} split has no windows; check window length and gap policy")
    log.info("data: %s", summary)
    return Prepared(classes, fcfg, scaler, splits["train"], splits["val"], splits["test"], summary, te)


def _labelled_split(
    task: str, classes: list[str], seqs: PoseSequences, win: Windows, scaler: FeatureScaler, name: str
) -> Split:
    """The windows whose clip label the model knows, scaled, with their targets; the rest counted in the log."""
    y_clip = clip_targets(task, seqs.meta, classes)
    keep = y_clip[win.clip_index] >= 0
    if not keep.all():
        log.warning("%s: %d windows of labels unknown to the model are left out", name, int((~keep).sum()))
    win = Windows(win.x[keep], win.clip_index[keep], win.start_frame[keep], win.counts)
    return Split(seqs, win, scaler.transform(win.x), y_clip[win.clip_index])


def _balance_groups(train: Split, policy: str) -> tuple[Split, int]:
    """Training windows under `split.group_balance`: windows of single-verdict groups are left out (drop,
    weight), and under `weight` the rest are sampled so each group's verdicts weigh equally."""
    from liftsense.models.group_balance import group_weights, require_some_kept

    per_window = group_weights(train.seqs.meta, policy)[train.windows.clip_index]
    require_some_kept(per_window, policy)
    keep = per_window > 0
    w = train.windows
    windows = Windows(w.x[keep], w.clip_index[keep], w.start_frame[keep], w.counts)
    weights = per_window[keep] if policy == "weight" else None
    return Split(train.seqs, windows, train.x[keep], train.y[keep], weights), int((~keep).sum())


def build_module(cfg: dict[str, Any], prep: Prepared):
    from liftsense.models.form_classifier import FormClassifier

    model = cfg["model"]
    weights = None
    if cfg["trainer"].get("class_weighting") == "balanced":
        counts = np.bincount(prep.train.y, minlength=len(prep.classes)).astype(float)
        weights = (counts.sum() / np.maximum(counts, 1) / len(counts)).tolist()
    return FormClassifier(
        network=model["name"],
        n_features=prep.train.x.shape[-1],
        classes=prep.classes,
        preprocessing=prep.preprocessing(),
        lr=model["lr"],
        weight_decay=model.get("weight_decay", 0.0),
        class_weights=weights,
        net_kwargs=dict(model.get("net") or {}),
    )


def _loader(split: Split, batch_size: int, shuffle: bool, seed: int):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(torch.from_numpy(split.x), torch.from_numpy(split.y.astype(np.int64)))
    gen = torch.Generator().manual_seed(seed)
    if shuffle and split.weights is not None:  # group-balanced sampling, as many draws per epoch as windows
        from torch.utils.data import WeightedRandomSampler

        sampler = WeightedRandomSampler(
            torch.from_numpy(split.weights), len(split.weights), replacement=True, generator=gen
        )
        return DataLoader(ds, batch_size=batch_size, sampler=sampler)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen if shuffle else None)


def fit(
    cfg: dict[str, Any],
    prep: Prepared,
    module,
    logger=False,
    checkpoint_dir: Path | None = None,
    callbacks: list | None = None,
):
    """Train with early stopping on validation loss; returns the best module (reloaded) and the trainer."""
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint

    tcfg = cfg["trainer"]
    tmp = None
    if checkpoint_dir is None:
        tmp = tempfile.TemporaryDirectory()
        checkpoint_dir = Path(tmp.name)
    ckpt = ModelCheckpoint(dirpath=checkpoint_dir, monitor="val_loss", save_top_k=1, filename="best")
    devices = int(tcfg.get("devices", 1))
    trainer = pl.Trainer(
        max_epochs=tcfg["max_epochs"],
        accelerator=tcfg.get("accelerator", "cpu"),
        strategy=tcfg.get("strategy", "auto"),
        devices=devices,
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
        deterministic=tcfg.get("deterministic", False),
        log_every_n_steps=10,
    )
    bs = max(1, tcfg["batch_size"] // devices)  # per process: the effective batch stays batch_size
    trainer.fit(
        module, _loader(prep.train, bs, True, cfg["seed"]), _loader(prep.val, 1024, False, cfg["seed"])
    )
    best = type(module).load_from_checkpoint(ckpt.best_model_path) if ckpt.best_model_path else module
    if tmp is not None:
        tmp.cleanup()
    return best, trainer


@dataclass
class Trained:
    """What a trained posture model hands to tracking: test predictions and how to log the model."""

    metrics: dict[str, float]
    proba: np.ndarray  # per test window (a clip model: one "window" per clip)
    clip_index: np.ndarray
    test_meta: Any
    classes: list[str]
    data_summary: dict[str, Any]
    preprocessing: dict[str, Any]
    normalization: str
    log_model: Callable[[str], None]  # logs the model to the given run
    checkpoint: str | None = None


def _train_window_model(cfg: dict[str, Any], seqs: PoseSequences, logger, callbacks) -> Trained | None:
    """None in a DDP process other than rank 0, once training is done."""
    import pytorch_lightning as pl

    from liftsense.tracking import log_module

    prep = prepare(cfg, seqs)
    pl.seed_everything(cfg["seed"], workers=True, verbose=False)  # the same initial weights for the same seed
    best, trainer = fit(
        cfg,
        prep,
        build_module(cfg, prep),
        logger=logger,
        checkpoint_dir=Path(cfg["paths"]["output_dir"]) / "checkpoints",
        callbacks=callbacks,
    )
    if trainer.global_rank != 0:  # DDP: rank 0 alone evaluates, refits and logs
        return None
    proba = best.predict_proba(prep.test.x)
    task = cfg["task"]["name"]
    metrics = evaluate(proba, prep.test.windows.clip_index, prep.test.seqs.meta, prep.classes, task)
    metrics["epochs"] = float(trainer.current_epoch)
    metrics["best_val_loss"] = float(trainer.checkpoint_callback.best_model_score)
    best_epochs = _best_epochs(trainer)
    metrics["best_epochs"] = float(best_epochs)
    deployed, preprocessing, example = best, prep.preprocessing(), prep.test.x[:1]
    if cfg["split"].get("refit"):
        deployed, all_prep = _refit_window_model(cfg, seqs, prep, best_epochs)
        preprocessing, example = all_prep.preprocessing(), all_prep.train.x[:1]
        prep.data_summary["refit_train_clips"] = len(all_prep.train.seqs)
        metrics["refit"] = 1.0

    def log_model(run_id: str) -> None:
        # (1, window, features) float32 after the scaler -> class probabilities
        log_module(run_id, deployed, example, deployed.predict_proba(example).astype(np.float32))

    return Trained(
        metrics,
        proba,
        prep.test.windows.clip_index,
        prep.test.seqs.meta,
        prep.classes,
        prep.data_summary,
        preprocessing,
        prep.feature_cfg.normalization,
        log_model,
        trainer.checkpoint_callback.best_model_path,
    )


def _best_epochs(trainer) -> int:
    """How many epochs the best (lowest validation loss) checkpoint had trained for."""
    import torch

    path = trainer.checkpoint_callback.best_model_path
    if not path:
        return max(int(trainer.current_epoch), 1)
    return int(torch.load(path, map_location="cpu", weights_only=False)["epoch"]) + 1


def _refit_window_model(cfg: dict[str, Any], seqs: PoseSequences, prep: Prepared, epochs: int):
    """Deployment for a window network: the same configuration trained on every group (scaler refitted on all
    training windows) for as many epochs as the honest run's best checkpoint needed, since no group is left to
    stop on. Returns the module and the preparation it was trained with."""
    import pytorch_lightning as pl

    task = cfg["task"]["name"]
    windows = WindowFeaturizer(prep.feature_cfg).transform(seqs)
    known = clip_targets(task, seqs.meta, prep.classes)[windows.clip_index] >= 0
    scaler = FeatureScaler().fit(windows.x[known])  # the windows it will train on
    everything = _labelled_split(task, prep.classes, seqs, windows, scaler, "refit")
    everything, _ = _balance_groups(everything, cfg["split"].get("group_balance", "none"))
    all_prep = Prepared(
        prep.classes,
        prep.feature_cfg,
        scaler,
        everything,
        everything,
        everything,
        prep.data_summary,
        prep.test_index,
    )
    module = build_module(cfg, all_prep)
    tcfg = cfg["trainer"]
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator=tcfg.get("accelerator", "cpu"),
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=progress_bar(tcfg.get("progress_bar", True)),
        enable_model_summary=False,
        limit_train_batches=tcfg.get("limit_train_batches", 1.0),
        limit_val_batches=0,
        deterministic=tcfg.get("deterministic", False),
    )
    trainer.fit(module, _loader(everything, tcfg["batch_size"], True, cfg["seed"]))
    log.info(
        "split.refit: the logged network is retrained on all %d clips of every group for %d epochs",
        len(seqs),
        epochs,
    )
    return module, all_prep


def _train_clip_model(cfg: dict[str, Any], seqs: PoseSequences) -> Trained:
    """The clip-feature model: fitted on the training groups, scored on the validation groups (for sweeps and
    promotion) and on the test groups, exactly like the networks' split."""
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.models.estimators import FOREST_TREES

    task, model_cfg, split = cfg["task"]["name"], cfg["model"], cfg["split"]
    classes = classes_of(task, seqs.meta)
    tr, va, te = split_clips(cfg, seqs)
    y = clip_targets(task, seqs.meta, classes)
    unknown = int((y < 0).sum())
    if unknown:  # e.g. a fault model given "incorrect" clips: it cannot learn a fault that is not named
        log.warning(
            "%d clips have labels the %s model cannot use (%s): left out and counted as clips_unknown_label",
            unknown,
            task,
            sorted(set(seqs.meta["label"].astype(str)[y < 0])),
        )
    tr, va, te = (idx[y[idx] >= 0] for idx in (tr, va, te))

    def new_model() -> ClipFormModel:
        return ClipFormModel(
            classes,
            estimator=model_cfg["estimator"],
            c=model_cfg.get("c", 0.01),
            normalization=cfg["features"]["normalization"],
            rep_features=model_cfg.get("rep_features", True),
            seed=cfg["seed"],
            calibration=int(model_cfg.get("calibration", 0)),
            group_balance=split.get("group_balance", "none"),
            coordinates=cfg["data"].get("coordinates", "image"),
            feature_set=cfg["data"].get("clip_features", "body"),
            drop_cues=tuple(cfg["data"].get("drop_cues") or ()),
            percentile_features=bool(cfg["data"].get("percentile_features", True)),
            rep_curves=bool(cfg["data"].get("rep_curves", False)),
            pool_sides=bool(cfg["data"].get("pool_sides", False)),
            n_trees=model_cfg.get("n_trees", FOREST_TREES),  # a count that is no integer is refused there
            extra_trees_share=model_cfg.get("extra_trees_share"),  # null: by the number of classes
        )

    model = new_model().fit(seqs.subset(tr), y[tr])
    # validation loss on groups the model never saw: what sweeps minimise and promotion compares (as for networks)
    val_full, _ = clip_model_proba(model, seqs.subset(va))
    val_proba, val_judged = _judged(val_full)
    val_loss = _log_loss(y[va][val_judged], val_proba)
    model.learn_when_unsure(val_proba, model_cfg.get("judge_share"))
    test = seqs.subset(te)
    test_full, calibration_counts = clip_model_proba(model, test)
    proba, judged = _judged(test_full)  # clips without a reading count as "without window"
    metrics = evaluate(proba, judged, test.meta, classes, task)
    metrics |= calibration_counts
    metrics |= _abstention_metrics(model, proba, y[te][judged])
    metrics["best_val_loss"] = val_loss
    metrics["clips_unknown_label"] = float(unknown)
    metrics["train_clips_skipped"] = float(model.skipped_training_clips_)
    if model.feature_set == "partial":  # cues a clip's joints could not give: the training median stood in
        metrics["train_cells_imputed"] = float(model.imputed_training_cells_)
    if model.calibration:
        metrics["train_clips_uncalibrated"] = float(model.uncalibrated_training_clips_)
    if model.group_balance != "none":
        metrics["train_clips_unbalanced"] = float(model.unbalanced_training_clips_)
    summary = {
        "source": seqs.source,
        **{f"all_{k}": v for k, v in seqs.summary().items()},
        "train_clips": len(tr),
        "val_clips": len(va),
        "test_clips": len(te),
        "train_groups": int(seqs.meta["group"].iloc[tr].nunique()),
        "test_groups": int(test.meta["group"].nunique()),
        "features": len(model.columns_ or []),
    }
    if split.get("refit"):
        # deployment: the honest group-split scores above are logged; the registered model learns from every group
        everything = np.sort(np.concatenate([tr, va, te]))
        bar = model.sure_probability_  # learnt on groups the refitted model will also have seen: kept as is
        model = new_model().fit(seqs.subset(everything), y[everything])
        model.sure_probability_ = bar
        summary["refit_train_clips"] = len(everything)
        metrics["refit"] = 1.0
        log.info("split.refit: the logged model is refitted on all %d clips of every group", len(everything))
    log.info("data: %s", summary)
    preprocessing = {
        "classes": classes,
        "normalization": model.normalization,
        "rep_features": model.rep_features,
        "calibration": model.calibration,
        "group_balance": model.group_balance,
        "feature_columns": model.columns_,
        "feature_set": model.feature_set,
        "drop_cues": list(model.drop_cues),
        "percentile_features": model.percentile_features,
        "rep_curves": model.rep_curves,
        "pool_sides": model.pool_sides,
        "sure_probability": model.sure_probability_,
    }
    if model.estimator == "forest":  # the share as resolved (the config's null depends on the task's classes)
        preprocessing |= {"n_trees": model.n_trees, "extra_trees_share": model.extra_trees_share}

    def log_model(run_id: str) -> None:
        import mlflow
        import mlflow.sklearn
        import sklearn

        with mlflow.start_run(run_id=run_id):
            mlflow.sklearn.log_model(
                model,
                name="model",
                pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
                # skops, not pickle: only these types load, all ours or scikit-learn's own (the forest's trees
                # come from this fit; a Bunch is the dict in which the averaged forest names its two kinds)
                skops_trusted_types=[
                    "liftsense.models.clip_model.ClipFormModel",
                    "sklearn.tree._tree.Tree",
                    "sklearn.utils._bunch.Bunch",
                ],
            )

    return Trained(
        metrics,
        proba,
        judged,
        test.meta,
        classes,
        summary,
        preprocessing,
        model.normalization,
        log_model,
    )


def _abstention_metrics(model, proba: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """With "not sure" on: the share of test clips judged and the accuracy on them (beside the accuracy on all)."""
    if not model.sure_probability_ or not len(y):
        return {}
    sure = proba.max(axis=1) >= model.sure_probability_
    return {
        "sure_probability": float(model.sure_probability_),
        "judged_share": float(sure.mean()),
        "judged_clip_accuracy": float((proba[sure].argmax(axis=1) == y[sure]).mean())
        if sure.any()
        else float("nan"),
    }


def clip_model_proba(model, seqs: PoseSequences) -> tuple[np.ndarray, dict[str, float]]:
    """A clip model's probabilities on labelled clips. A calibrated model draws each group's reference clips
    from its own correct clips; references and groups with too few correct clips get no reading, and are counted."""
    if not model.calibration:
        return model.predict_proba(seqs), {}
    proba, draw = model.predict_proba_by_group(seqs)
    return proba, {
        "clips_used_as_reference": float(draw.is_reference.sum()),
        "clips_uncalibrated": float(draw.uncalibrated.sum()),
    }


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-likelihood of the true classes (probabilities floored at 1e-7); NaN without clips."""
    if not len(y):
        return float("nan")
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-7, 1.0))))


def _judged(proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a clip model's output that hold a reading, and their clip positions."""
    judged = np.flatnonzero(np.isfinite(proba).all(axis=1))
    return proba[judged], judged


def run(cfg: dict[str, Any], callbacks: list | None = None) -> dict[str, Any]:
    """Train, evaluate on the held-out groups and track everything. Returns the test metrics and run id."""
    from liftsense.models.clip_model import CLIP_MODELS
    from liftsense.tracking import (
        DATA_PREFIX,
        epoch_history,
        fingerprint,
        log_kept_epoch,
        log_run,
        mlflow_logger,
    )

    t0 = time.perf_counter()
    seqs = load_sequences(cfg["data"])
    require_full_body(cfg, seqs)
    validation = validate_sequences(cfg, seqs)
    lcfg = cfg["logger"]
    task = cfg["task"]["name"]
    logger = mlflow_logger(lcfg)
    history = epoch_history()
    if cfg["model"]["name"] in CLIP_MODELS:
        trained = _train_clip_model(cfg, seqs)
    else:
        trained = _train_window_model(cfg, seqs, logger, [*(callbacks or []), history])
        if trained is None:  # a DDP process other than rank 0: rank 0 reports
            return {"run_id": None, "metrics": {}, "checkpoint": None, "ddp_worker": True}
    metrics = trained.metrics
    metrics["train_seconds"] = time.perf_counter() - t0
    tags = {
        "data_source": seqs.source,
        "task": task,
        "model": cfg["model"]["name"],
        "data_fingerprint": fingerprint(seqs.landmarks, seqs.offsets, seqs.meta["label"].to_numpy()),
        "normalization": trained.normalization,
    }
    per_exercise = tuple(f"{ex}_" for ex in sorted(set(trained.test_meta["exercise"].astype(str))))
    run_id = log_run(logger, cfg, tags, metrics, breakdown=("label_", "recall_", *per_exercise))
    client = logger.experiment
    log_kept_epoch(client, run_id, history)
    from data_validation.gate import log_to_mlflow

    log_to_mlflow(validation, client, run_id, cfg.get("validation"))
    for k, v in trained.data_summary.items():
        if isinstance(v, int | float):
            client.log_metric(run_id, f"{DATA_PREFIX}{k}", float(v))

    from liftsense.evaluation.figures import confusion_figure, per_exercise_figure

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        title = f"{cfg['model']['name']} / {task} / {seqs.source}"
        cm = confusion(trained.proba, trained.clip_index, trained.test_meta, trained.classes, task)
        confusion_figure(cm, trained.classes, tmp_path / "confusion_matrix.png", f"test: {title}")
        per_exercise_figure(metrics, tmp_path / "per_exercise.png", f"test: {title}")
        (tmp_path / "data_summary.json").write_text(json.dumps(trained.data_summary, indent=2, default=str))
        (tmp_path / "preprocessing.json").write_text(json.dumps(trained.preprocessing, indent=2))
        for f in tmp_path.iterdir():
            client.log_artifact(run_id, str(f))
    if lcfg.get("log_model", True):
        trained.log_model(run_id)
    log.info("test: %s", {k: round(v, 4) for k, v in metrics.items()})
    return {"run_id": run_id, "metrics": metrics, "checkpoint": trained.checkpoint}


def load_classifier(model_uri: str | None = None, checkpoint: str | None = None):
    """A trained form model (a FormClassifier network or a clip model) from an MLflow URI or a checkpoint."""
    from liftsense.tracking import load_trained

    return load_trained(model_uri, checkpoint, "liftsense.models.form_classifier:FormClassifier")


def model_classes(module) -> list[str]:
    """The classes a trained form model (a clip model or a network) predicts, in its probability columns' order."""
    from liftsense.models.clip_model import ClipFormModel

    if isinstance(module, ClipFormModel):
        return list(module.classes)
    return list(module.hparams.preprocessing["classes"])


def score(module, seqs: PoseSequences, task: str) -> tuple[dict[str, float], np.ndarray, Windows | None]:
    """Score any landmark dataset with a trained classifier, using the preprocessing saved with it."""
    from liftsense.models.clip_model import ClipFormModel

    if isinstance(module, ClipFormModel):
        y = clip_targets(task, seqs.meta, module.classes)
        known = np.flatnonzero(y >= 0)
        if not len(known):
            raise ValueError(f"none of the labels {sorted(set(seqs.meta['label']))} is known to the model")
        scored = seqs.subset(known)
        full, calibration_counts = clip_model_proba(module, scored)
        proba, judged = _judged(full)
        metrics = evaluate(proba, judged, scored.meta, module.classes, task) | calibration_counts
        metrics |= _abstention_metrics(module, proba, y[known][judged])
        metrics["clips_unknown_label"] = float(len(y) - len(known))
        return metrics, proba, None
    pre = module.hparams.preprocessing
    classes = list(pre["classes"])
    windows = WindowFeaturizer(FeatureConfig(**pre["features"])).transform(seqs)
    y = clip_targets(task, seqs.meta, classes)
    keep = y[windows.clip_index] >= 0
    if not keep.any():
        raise ValueError(
            f"none of the labels {sorted(set(seqs.meta['label']))} is known to the model ({classes})"
        )
    windows = Windows(windows.x[keep], windows.clip_index[keep], windows.start_frame[keep], windows.counts)
    x = FeatureScaler.from_state(pre["scaler"]).transform(windows.x)
    proba = module.predict_proba(x)
    metrics = evaluate(proba, windows.clip_index, seqs.meta, classes, task)
    metrics["windows_unknown_label"] = float((~keep).sum())
    return metrics, proba, windows


def clip_predictions(module, seqs: PoseSequences) -> list[dict[str, Any]]:
    """One row per clip, labelled or not: clip id, label (None when unlabelled), prediction and its probability,
    or a prediction of None with the reason (too few tracked frames, no window, a calibration reference)."""
    from liftsense.models.clip_model import ClipFormModel

    labelled = seqs.meta["label"].astype(str) != "unknown"
    if isinstance(module, ClipFormModel):
        classes = list(module.classes)
        if module.calibration:
            if not labelled.all():
                raise ValueError(
                    "a calibrated model judges clips against each lifter's own good reps: score unlabelled clips "
                    "with `python -m liftsense.coach ... --references GOOD.mp4` instead"
                )
            proba, _ = clip_model_proba(module, seqs)
        else:
            proba = module.predict_proba(seqs)
        reason = "too few tracked frames, or a calibration reference clip"
    else:
        proba, classes = window_model_clip_proba(module, seqs)
        reason = "no window: the clip is too short or has too many missing frames"
    rows = []
    for i, row in seqs.meta.reset_index(drop=True).iterrows():
        p = proba[i]
        judged = bool(np.isfinite(p).all())
        best = int(np.argmax(p)) if judged else -1
        rows.append(
            {
                "sequence_id": str(row["sequence_id"]),
                "label": str(row["label"]) if labelled[i] else None,
                "prediction": classes[best] if judged else None,
                "probability": round(float(p[best]), 4) if judged else None,
                "no_reading": None if judged else reason,
            }
        )
    return rows


def window_model_clip_proba(module, seqs: PoseSequences) -> tuple[np.ndarray, list[str]]:
    """A window network's mean class probabilities per clip, with its saved preprocessing, and its classes;
    a NaN row for a clip without a window (too short, or too many missing frames)."""
    windows = WindowFeaturizer(FeatureConfig(**module.hparams.preprocessing["features"])).transform(seqs)
    return mean_window_proba(module, windows.x, windows.clip_index, len(seqs))


def mean_window_proba(
    module, x: np.ndarray, clip_index: np.ndarray, n_clips: int
) -> tuple[np.ndarray, list[str]]:
    """(n_clips, classes) mean probabilities of a window network over each clip's featurised windows `x` (NaN for
    a clip with none), scaled with the network's own saved scaler, and its classes."""
    pre = module.hparams.preprocessing
    classes = list(pre["classes"])
    proba = np.full((n_clips, len(classes)), np.nan)
    if len(x):
        window_proba = module.predict_proba(FeatureScaler.from_state(pre["scaler"]).transform(x))
        sums = np.zeros_like(proba)
        np.add.at(sums, clip_index, window_proba)
        counts = np.bincount(clip_index, minlength=n_clips)
        has = counts > 0
        proba[has] = sums[has] / counts[has, None]
    return proba, classes
