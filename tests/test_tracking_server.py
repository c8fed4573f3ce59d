"""Everything through a real MLflow tracking server (`mlflow server`, PostgreSQL backend, artifacts served by the
server): training, a sweep, promotion and the service find each other by `MLFLOW_TRACKING_URI` alone; and a server
that is down, or goes down mid-training, stops the run with a message and registers nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from serving.local import LocalServer
from serving.tracking_server import TrackingServer
from tests.conftest import ROOT, SMALL_POSTURE, SMALL_WINDOWS, run_entry_point

#: the built-in data at a quarter of its size (864 clips): the clip model still beats its baseline on it, and the
#: sweep no longer dominates this test (150 -> 83 s)
FORM = ["task=fault", "model=clip_logistic", "validation.enabled=false", "data.synth.clips_per_exercise=96"]


@pytest.fixture(scope="module")
def tracking(postgres, tmp_path_factory):
    url = postgres.create_database("mlflow_tracking")
    with TrackingServer(url, tmp_path_factory.mktemp("served-artifacts")) as server:
        yield server


def _run(script: str, home: Path, uri: str, *args: str) -> subprocess.CompletedProcess:
    return run_entry_point(script, home, *args, env={"MLFLOW_TRACKING_URI": uri}, timeout=600)


def test_train_sweep_promote_and_serve_find_each_other_through_the_server(tracking, tmp_path):
    import mlflow

    train = _run("train.py", tmp_path, tracking.url, *SMALL_POSTURE, "model=cnn")
    assert train.returncode == 0, train.stderr[-3000:]
    sweep = _run("sweep.py", tmp_path, tracking.url, *FORM, "sweep.n_trials=2")
    assert sweep.returncode == 0 and "trials: 2 complete" in sweep.stdout, sweep.stderr[-3000:]
    promote = _run("promote.py", tmp_path, tracking.url, "--sweep", *FORM)
    assert promote.returncode == 0 and "-> champion" in promote.stdout, (
        promote.stdout + promote.stderr[-2000:]
    )

    client = mlflow.MlflowClient(tracking.url)
    runs = [
        r
        for name in ("posture-binary", "posture-fault")
        for r in client.search_runs([client.get_experiment_by_name(name).experiment_id])
    ]
    assert len(runs) == 1 + 3  # the CNN run, the sweep's parent run and its two trials
    assert all(r.info.artifact_uri.startswith("mlflow-artifacts:/") for r in runs)  # through the server
    assert (
        len(list(tracking.artifacts.rglob("MLmodel"))) == 3
    )  # the CNN and each trial's model, on the server
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlartifacts").exists()  # nothing local

    srv = LocalServer(tmp_path, MLFLOW_TRACKING_URI=tracking.url).start(timeout_s=120)
    try:
        models = srv.post("models", {}).json()
        frame = [[0.5, 0.5, 0.0, 0.9]] * 33
        judged = srv.post("judge", {"exercise": "curl", "clip": {"fps": 30.0, "landmarks": [frame] * 40}})
    finally:
        srv.stop()
    assert models["tracking_uri"] == tracking.url
    (entry,) = [m for m in models["models"] if m["name"] == "posture-builtin-fault"]
    assert entry["version"] == "1" and entry["serving"] == "model models:/posture-builtin-fault@champion", (
        entry
    )
    assert judged.status_code == 200 and "posture-builtin-fault" in str(judged.json()["model"]), judged.text[
        :500
    ]


def test_a_server_that_is_down_stops_each_command_at_once_with_its_url(tmp_path):
    from serving.local import free_port

    down = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    train = _run("train.py", tmp_path, down, *SMALL_POSTURE, "model=clip_logistic")
    sweep = _run("sweep.py", tmp_path, down, *FORM, "sweep.n_trials=1")
    promote = _run("promote.py", tmp_path, down, "--run-id", "0" * 32, *FORM)
    assert time.monotonic() - t0 < 120  # not MLflow's minutes of retries per call
    for proc in (train, sweep, promote):
        said = proc.stdout + proc.stderr
        assert proc.returncode == 1, said[-2000:]
        assert f"tracking server at {down} does not answer" in said, said[-2000:]
        assert "Traceback" not in said
    assert not (tmp_path / "mlflow.db").exists()


def test_a_server_lost_mid_training_fails_the_run_clearly_and_registers_nothing(postgres, tmp_path):
    """The server is killed once training has started: MLflow's retries (cut short here) give up, training stops
    with a message naming the server, and when the server is back the run is not FINISHED, has no model, and
    promote.py refuses it."""
    import mlflow

    url = postgres.create_database("mlflow_outage")
    server = TrackingServer(url, tmp_path / "artifacts").start()
    env = {
        **os.environ,
        "LIFTSENSE_HOME": str(tmp_path),
        "MLFLOW_TRACKING_URI": server.url,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    }
    args = [*SMALL_WINDOWS, "model=cnn", "trainer.max_epochs=400", "trainer.patience=400"]
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "training" / "train.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        client = mlflow.MlflowClient(server.url)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:  # wait for epochs being logged
            experiment = client.get_experiment_by_name("posture-binary")
            runs = client.search_runs([experiment.experiment_id]) if experiment else []
            if runs and client.get_metric_history(runs[0].info.run_id, "epoch/val_loss"):
                break
            time.sleep(1)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        server.stop()
        stdout, stderr = proc.communicate(timeout=300)
        said = stdout + stderr
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        server.stop()
    assert proc.returncode == 1, said[-3000:]
    assert f"the MLflow tracking server at {server.url} stopped answering" in said, said[-3000:]
    assert "nothing was registered" in said and "Traceback" not in said

    server = TrackingServer(url, tmp_path / "artifacts", port=server.port).start()
    try:
        (run,) = client.search_runs([client.get_experiment_by_name("posture-binary").experiment_id])
        assert run.info.status != "FINISHED"
        assert not list((tmp_path / "artifacts").rglob("MLmodel"))  # no model logged
        promote = _run("promote.py", tmp_path, server.url, "--run-id", run.info.run_id, *SMALL_POSTURE)
        assert client.search_registered_models() == []
    finally:
        server.stop()
    assert promote.returncode == 1 and "not FINISHED" in promote.stderr, promote.stderr[-2000:]
    assert re.search(r"run [0-9a-f]{32} is (RUNNING|FAILED)", promote.stderr)
