"""Sweeps: the search space, the pruning callback, and the entry point end to end (resume, parallel workers, a kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, SMALL_WINDOWS, run_entry_point

SMALL = [*SMALL_WINDOWS, "validation.enabled=false", "logger.log_model=false"]


def test_suggest_maps_the_declared_space_to_overrides():
    import optuna

    space = {
        "model.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "model.hidden": {"type": "int", "low": 8, "high": 64},
        "features.normalization": {"type": "categorical", "choices": ["raw", "body"]},
    }
    from liftsense.sweep import suggest

    trial = optuna.create_study().ask()
    overrides = dict(o.split("=") for o in suggest(trial, space))
    assert 1e-4 <= float(overrides["model.lr"]) <= 1e-2 and 8 <= int(overrides["model.hidden"]) <= 64
    assert overrides["features.normalization"] in {"raw", "body"}
    with pytest.raises(ValueError, match="unknown type"):
        suggest(trial, {"x": {"type": "bool"}})


def test_pruning_callback_reports_and_prunes():
    import optuna
    import torch
    from pytorch_lightning import LightningModule, Trainer
    from torch.utils.data import DataLoader, TensorDataset

    from liftsense.sweep import pruning_callback

    class Tiny(LightningModule):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Linear(1, 1)

        def training_step(self, batch, _):
            return ((self.w(batch[0]) - batch[1]) ** 2).mean()

        def validation_step(self, batch, _):
            self.log("val_loss", ((self.w(batch[0]) - batch[1]) ** 2).mean())

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = DataLoader(TensorDataset(torch.randn(8, 1), torch.randn(8, 1)), batch_size=4)
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=-1.0))  # any loss is "hopeless"
    trial = study.ask()
    trainer = Trainer(
        max_epochs=5,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[pruning_callback(trial, "val_loss", warmup_epochs=1)],
    )
    with pytest.raises(optuna.TrialPruned):
        trainer.fit(Tiny(), data, data)
    assert sorted(trial.storage.get_trial(trial._trial_id).intermediate_values) == [
        0,
        1,
    ]  # reported, then pruned


def _sweep(home, *extra):
    return run_entry_point("sweep.py", home, "model=cnn", *SMALL, *extra)


def _trials(home, study="binary-cnn-builtin", url: str | None = None):
    import optuna

    from liftsense.study_storage import study_storage

    storage = study_storage(url or f"sqlite:///{home / 'optuna.db'}")  # the worker may be creating the schema
    return optuna.load_study(study_name=study, storage=storage).trials


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path) -> list[str]:
    """The study's storage as sweep.py overrides: the default sqlite file, or a fresh database on the session's
    PostgreSQL server (what workers on several hosts share)."""
    if request.param == "sqlite":
        return []
    url = request.getfixturevalue("postgres").create_database(f"optuna_{tmp_path.name.lower()[-40:]}")
    return [f"sweep.storage={url}"]


def _url(storage: list[str]) -> str | None:
    return storage[0].split("=", 1)[1] if storage else None


def _open_at(url: str, start: float, name: str) -> int:
    from liftsense.sweep import open_study

    time.sleep(max(0.0, start - time.time()))
    return len(open_study(name, url, "minimize").trials)


def test_workers_starting_together_on_a_fresh_storage_all_open_the_study(tmp_path):
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        start = time.time() + 6  # after the spawned interpreters have imported optuna
        counts = pool.starmap(_open_at, [(url, start, "race")] * 4)
    assert counts == [0, 0, 0, 0]


@pytest.mark.slow
def test_sweep_logs_nested_runs_saves_a_usable_best_config_and_resumes(tmp_path):
    proc = _sweep(tmp_path, "sweep.n_trials=2", "trainer.progress_bar=true")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[trial   0]" in proc.stdout and "best trial" in proc.stdout
    # progress inside a trial: it says it started, then one line an epoch (the output is not a terminal)
    assert "[trial   1] started" in proc.stdout and "epoch 1/1: train_loss" in proc.stderr, proc.stderr[
        -2000:
    ]
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["posture-binary"], output_format="list")
    (parent,) = [r for r in runs if r.data.tags.get("sweep_study") == "binary-cnn-builtin"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 2 and {r.data.tags["trial_state"] for r in children} == {"COMPLETE"}
    assert "best_best_val_loss" in parent.data.metrics
    best_dir = tmp_path / "sweeps" / "binary-cnn-builtin"
    train = run_entry_point(
        "train.py", tmp_path, "--config-dir", str(best_dir), "--config-name", "best_config"
    )
    assert train.returncode == 0, train.stderr[-2000:]

    again = _sweep(tmp_path, "sweep.n_trials=2")  # resumes: nothing left to do
    assert again.returncode == 0 and "2/2 trials finished before this run" in again.stdout
    assert len(_trials(tmp_path)) == 2


def _spawn(home, *extra, model: str = "cnn"):
    env = {**os.environ, "LIFTSENSE_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true"}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "training" / "sweep.py"), f"model={model}", *SMALL, *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.mark.slow
def test_two_parallel_workers_share_one_study(tmp_path, storage):
    _sweep(tmp_path, "sweep.n_trials=1", *storage)  # create the study and stores first
    workers = [_spawn(tmp_path, "sweep.n_trials=5", *storage) for _ in range(2)]
    for w in workers:
        _, err = w.communicate(timeout=400)
        assert w.returncode == 0, err[-2000:]
    trials = _trials(tmp_path, url=_url(storage))
    numbers = [t.number for t in trials]
    assert (
        len(numbers) == len(set(numbers)) and 5 <= len(trials) <= 6
    )  # a worker may start one as the other ends
    assert len({tuple(sorted(t.params.items())) for t in trials}) == len(trials)  # no trial proposed twice


@pytest.mark.slow
def test_two_postgresql_workers_find_what_one_worker_finds_given_the_same_trials(tmp_path, postgres):
    from optuna.trial import TrialState

    from liftsense.sweep import open_study

    same = [
        {"features.normalization": norm, "model.rep_features": rep, "model.c": c}
        for norm, rep, c in [("body", True, 0.01), ("canonical", False, 0.1), ("floor", True, 1.0)] * 2
    ]
    same = [dict(p, **{"model.c": p["model.c"] * (1 + i)}) for i, p in enumerate(same)]  # 6 distinct trials
    found = {}
    for workers in (1, 2):
        url = postgres.create_database(f"same_{workers}_{tmp_path.name.lower()[-30:]}")
        study = open_study("binary-clip_logistic-builtin", url, "minimize", pruning=False)
        for params in same:
            study.enqueue_trial(params)
        procs = [
            # one home: the 1-worker run creates the MLflow store that the two workers then share
            _spawn(tmp_path, "sweep.n_trials=6", f"sweep.storage={url}", model="clip_logistic")
            for _ in range(workers)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=400)
            assert proc.returncode == 0, err[-2000:]
        trials = _trials(tmp_path, "binary-clip_logistic-builtin", url)
        assert all(t.state == TrialState.COMPLETE for t in trials)
        # a worker may start one more (its own proposal) as the other finishes the sixth
        assert 6 <= len(trials) <= 5 + workers
        queued = [tuple(sorted(p.items())) for p in same]
        ran = [tuple(sorted(t.params.items())) for t in trials]
        assert all(ran.count(p) == 1 for p in queued)  # each queued trial ran exactly once
        found[workers] = {p: t.value for p, t in zip(ran, trials, strict=True) if p in queued}
    assert found[1] == found[2] and len(found[1]) == 6


def _wait_for_one_complete_and_one_running(home, url: str, timeout_s: float = 300) -> None:
    from optuna.trial import TrialState

    deadline = time.time() + timeout_s
    while time.time() < deadline:
        time.sleep(0.5)
        try:
            states = [t.state for t in _trials(home, url=url)]
        except KeyError:  # the worker has not created the study yet
            continue
        if TrialState.COMPLETE in states and TrialState.RUNNING in states:
            return
    raise AssertionError("the sweep never had a finished and a running trial at once")


@pytest.mark.slow
def test_a_killed_sweep_resumes_without_losing_or_repeating_finished_trials(tmp_path, storage):
    from optuna.trial import TrialState

    slow = [
        "trainer.max_epochs=4",
        "trainer.limit_train_batches=20",
        "sweep.n_trials=3",
        "sweep.stale_after_s=4",
        "sweep.pruning=false",
        *storage,
    ]
    url = _url(storage)
    worker = _spawn(tmp_path, *slow)
    _wait_for_one_complete_and_one_running(tmp_path, url)
    os.killpg(worker.pid, signal.SIGKILL)  # mid-trial
    worker.wait()
    done_before = {t.number: t.params for t in _trials(tmp_path, url=url) if t.state == TrialState.COMPLETE}
    assert done_before
    time.sleep(5)  # the killed trial's heartbeat goes stale
    proc = _sweep(tmp_path, *slow)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = _trials(tmp_path, url=url)
    complete = {t.number: t.params for t in trials if t.state == TrialState.COMPLETE}
    assert all(complete[n] == p for n, p in done_before.items())  # nothing finished was lost or rerun
    states = [t.state.name for t in trials]
    assert len(complete) == 3 and states.count("FAIL") == 1, states  # the killed one, failed and re-queued


@pytest.mark.slow
def test_postgresql_restarts_and_outages_mid_sweep_lose_and_repeat_nothing(tmp_path, postgres):
    """A quick restart is ridden out (dropped connections are replaced); an outage stops the worker with a clear
    message, and the same command then finishes the study without recording any trial twice."""
    from optuna.trial import TrialState

    url = postgres.create_database(f"outage_{tmp_path.name.lower()[-30:]}")
    slow = [
        "trainer.max_epochs=6",
        "trainer.limit_train_batches=20",
        "sweep.n_trials=4",
        "sweep.stale_after_s=4",
        "sweep.pruning=false",
        f"sweep.storage={url}",
    ]
    worker = _spawn(tmp_path, *slow)
    _wait_for_one_complete_and_one_running(tmp_path, url)
    postgres.restart()  # ridden out
    while len([t for t in _trials(tmp_path, url=url) if t.state == TrialState.COMPLETE]) < 2:
        assert worker.poll() is None, worker.communicate()[1][-2000:]
        time.sleep(0.5)
    postgres.stop()  # an outage: the running trial cannot be recorded
    try:
        _, err = worker.communicate(timeout=300)
    finally:
        postgres.start()
    assert worker.returncode == 1, err[-2000:]
    assert "sweep stopped: the study's storage" in err and "Run the same command again" in err
    time.sleep(5)  # the cut-off trial's heartbeat goes stale
    proc = _sweep(tmp_path, *slow)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = _trials(tmp_path, url=url)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 4 and len({t.number for t in complete}) == 4
    assert len({tuple(sorted(t.params.items())) for t in complete}) == 4  # no trial recorded twice


@pytest.mark.slow
def test_clip_models_sweep_on_validation_loss_without_epochs(tmp_path):
    proc = run_entry_point("sweep.py", tmp_path, "model=clip_logistic", *SMALL, "sweep.n_trials=3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "trials: 3 complete, 0 pruned, 0 failed" in proc.stdout
    trials = _trials(tmp_path, "binary-clip_logistic-builtin")
    assert len(trials) == 3 and all(0 < t.value < 5 for t in trials)  # a log-loss, from the validation groups
    assert trials[0].params["model.c"] == pytest.approx(0.01)  # trial 0 = the defaults
    best_dir = tmp_path / "sweeps" / "binary-clip_logistic-builtin"
    train = run_entry_point(
        "train.py", tmp_path, "--config-dir", str(best_dir), "--config-name", "best_config"
    )
    assert train.returncode == 0, train.stderr[-2000:]
