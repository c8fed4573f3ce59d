"""Optuna sweeps: search space from a config, resumable studies, pruning from Lightning, nested MLflow runs.

The entry point (training/sweep.py) only composes configs; everything here works on plain dicts and callables,
so it is tested without Hydra. A study is identified by its name in its storage: re-running the same command
resumes it, and several workers on one storage share it (a `RDBStorage` URL: sqlite locally, PostgreSQL across
hosts). Workers stop when the study holds `n_trials` finished trials, whoever ran them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def suggest(trial, params: dict[str, dict[str, Any]]) -> list[str]:
    """Hydra overrides for one trial from the declared space ({name: {type, low, high, log | choices}})."""
    overrides = []
    for name, spec in params.items():
        kind = spec["type"]
        if kind == "float":
            value = trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False))
        elif kind == "int":
            value = trial.suggest_int(name, spec["low"], spec["high"], log=spec.get("log", False))
        elif kind == "categorical":
            value = trial.suggest_categorical(name, list(spec["choices"]))
        else:
            raise ValueError(f"sweep parameter {name}: unknown type {kind!r} (float, int or categorical)")
        overrides.append(f"{name}={value}")
    return overrides


def in_space(value: Any, spec: dict[str, Any] | None) -> bool:
    """Whether a config value can be enqueued as a trial parameter (outside the space it is left to the sampler)."""
    if spec is None or value is None:
        return False
    if spec["type"] == "categorical":
        return value in list(spec["choices"])
    return isinstance(value, int | float) and spec["low"] <= value <= spec["high"]


def pruning_callback(trial, monitor: str = "val_loss", warmup_epochs: int = 0):
    """A pytorch_lightning callback reporting `monitor` each validation and raising TrialPruned when told to.

    (optuna-integration's callback imports `lightning`, not `pytorch_lightning`, and fails with our stack.)
    """
    import optuna
    import pytorch_lightning as pl

    class OptunaPruning(pl.Callback):
        def on_validation_end(self, trainer, pl_module) -> None:
            if trainer.sanity_checking or monitor not in trainer.callback_metrics:
                return
            epoch = trainer.current_epoch
            trial.report(float(trainer.callback_metrics[monitor]), step=epoch)
            if epoch >= warmup_epochs and trial.should_prune():
                raise optuna.TrialPruned(
                    f"epoch {epoch}: {monitor} {float(trainer.callback_metrics[monitor]):.4f}"
                )

    return OptunaPruning()


def open_study(
    study_name: str,
    storage: str,
    direction: str,
    sampler_seed: int | None = None,
    pruning: bool = True,
    startup_trials: int = 3,
    stale_after_s: int = 30,
):
    """Create or resume a study. Trials of a killed worker go stale (no heartbeat), are failed and re-queued."""
    import warnings

    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    from liftsense.study_storage import study_storage

    with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna, and the tests prove them here
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        rdb = study_storage(
            storage,
            heartbeat_interval=max(1, stale_after_s // 3),
            grace_period=stale_after_s,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
        )
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=startup_trials)
        if pruning
        else optuna.pruners.NopPruner()
    )
    return optuna.create_study(
        study_name=study_name,
        storage=rdb,
        direction=direction,
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=sampler_seed),
        pruner=pruner,
    )


class StorageUnavailable(RuntimeError):
    """The study's database stopped answering mid-sweep. What it recorded as finished is kept; the trial cut off
    goes stale and is re-queued when a worker runs again."""


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def finished(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def run_sweep(
    scfg: dict[str, Any],
    run_trial: Callable[[list[str], Any, dict[str, str]], float],
    parent_run_id: str | None = None,
    echo: Callable[[str], None] = print,
    defaults: dict[str, Any] | None = None,
):
    """Optimise until the study has `n_trials` finished trials. `run_trial(overrides, trial, tags)` returns the value.

    Each trial's MLflow run gets `tags` (the parent run id and trial number); a pruned trial's run is marked PRUNED.
    """
    import optuna
    import sqlalchemy.exc

    from liftsense.study_storage import in_chain

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        return _optimise(scfg, run_trial, parent_run_id, echo, defaults)
    except Exception as exc:
        # Optuna may replace the storage's error while cleaning up after it (an UnboundLocalError in its trial
        # loop): look for the database error in the chain
        cause = in_chain(exc, sqlalchemy.exc.OperationalError)
        if cause is None:
            raise
        reason = str(cause.orig or cause).strip().splitlines()[0]
        raise StorageUnavailable(
            f"the study's storage {_without_password(scfg['storage'])} stopped answering ({reason}). Trials it "
            f"recorded as finished are kept; a trial cut off now goes stale after {scfg.get('stale_after_s', 30)} s "
            "and is run again. Run the same command again to carry on."
        ) from exc


def _optimise(
    scfg: dict[str, Any],
    run_trial: Callable[[list[str], Any, dict[str, str]], float],
    parent_run_id: str | None,
    echo: Callable[[str], None],
    defaults: dict[str, Any] | None,
):
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    study = open_study(
        scfg["study_name"],
        scfg["storage"],
        scfg["direction"],
        scfg.get("sampler_seed"),
        scfg.get("pruning", True),
        scfg.get("startup_trials", 3),
        scfg.get("stale_after_s", 30),
    )
    n_trials = int(scfg["n_trials"])
    already = finished(study)
    echo(
        f"study {scfg['study_name']} ({scfg['storage']}): {already}/{n_trials} trials finished before this run"
    )

    def objective(trial) -> float:
        overrides = suggest(trial, scfg["params"])
        tags = {"optuna_study": scfg["study_name"], "optuna_trial": str(trial.number)}
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        echo(f"[trial {trial.number:3d}] started  {' '.join(overrides)}")  # its epochs follow, one line each
        t0 = time.perf_counter()
        try:
            value = run_trial(overrides, trial, tags)
        except optuna.TrialPruned:
            echo(
                f"[trial {trial.number:3d}] PRUNED   after {time.perf_counter() - t0:5.0f} s  {' '.join(overrides)}"
            )
            raise
        best = (
            value
            if not _has_best(study)
            else (min if scfg["direction"] == "minimize" else max)(value, study.best_value)
        )
        echo(
            f"[trial {trial.number:3d}] {scfg['metric']}={value:.4f}  best={best:.4f}  "
            f"{time.perf_counter() - t0:5.0f} s  {' '.join(overrides)}"
        )
        return value

    if defaults and not study.trials:  # trial 0 = the current config, the value every trial is judged against
        study.enqueue_trial({k: v for k, v in defaults.items() if in_space(v, scfg["params"].get(k))})
    if already < n_trials:
        study.optimize(
            objective,
            callbacks=[MaxTrialsCallback(n_trials, states=(TrialState.COMPLETE, TrialState.PRUNED))],
            catch=(),
        )
    return study


def _has_best(study) -> bool:
    from optuna.trial import TrialState

    return bool(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def best_overrides(study) -> list[str]:
    return [f"{k}={v}" for k, v in study.best_trial.params.items()]
