"""The BentoML service over real HTTP: a real `bentoml serve` on a free port of 127.0.0.1, started and stopped
here. Each API answers what the library answers on the same real input; a heart-rate stream survives a restart
of the service with identical readings; bad input gets a 400 naming the field, never a 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from serving.local import REPO, LocalServer
from serving.schemas import WindowVerdict
from tests.conftest import SMALL_POSTURE, require_real_data, run_entry_point

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LocalServer(tmp_path_factory.mktemp("service")).start()
    yield srv
    srv.stop()


def _url_safe(text: str) -> str:
    return text.replace("+", "-").replace("/", "_").rstrip("=")


def pack_window(window: np.ndarray) -> str:
    """A window or clip as the service's packed form: little-endian float32 in base64."""
    import base64

    return base64.b64encode(np.asarray(window, dtype="<f4").tobytes()).decode()


def _json_clip(landmarks: np.ndarray) -> list:
    return np.where(np.isfinite(landmarks), landmarks.astype(float), None).tolist()


def test_judge_answers_what_the_coach_answers_on_a_real_squat(server):
    require_real_data("pose", "squat_3d")
    from liftsense.coach import LandmarkClip, coach_clip
    from liftsense.datasets.real import load_squat_3d

    clip = load_squat_3d().clip(0)
    world = clip[..., :3]
    body = {
        "exercise": "squat",
        "clip": {"fps": 30.0, "landmarks": _json_clip(clip), "world": _json_clip(world)},
    }
    r = server.post("judge", body)
    assert r.status_code == 200, r.text
    expected = coach_clip(LandmarkClip(clip, 30.0, "clip", world), "squat").to_dict()
    assert r.json() == expected
    assert len(expected["reps"]) == 1
    packed = {"fps": 30.0, "landmarks_packed": pack_window(clip), "world_packed": pack_window(world)}
    r = server.post("judge", {"exercise": "squat", "clip": packed})
    assert r.status_code == 200 and r.json() == expected  # the same clip as float32 in base64
    for bad, field in [({"world_packed": pack_window(world)[:-8]}, "world_packed"),
                       ({"landmarks": body["clip"]["landmarks"]}, "exactly one"),
                       ({"landmarks_packed": "not base64!"}, "base64")]:  # fmt: skip
        r = server.post("judge", {"exercise": "squat", "clip": packed | bad})
        assert r.status_code == 400 and field in r.text, (bad.keys(), r.text[:300])


def test_a_heart_rate_stream_survives_a_restart_with_identical_readings(tmp_path):
    require_real_data("spc2015", "training")
    from liftsense.ppg import StreamingEstimator, load_spc2015

    rec = load_spc2015()[0]
    n = min(rec.ppg.shape[1], int(60 * rec.fs))
    chunks = [(s, min(s + 250, n)) for s in range(0, n, 250)]  # 2 s chunks, as the band sends them
    reference = StreamingEstimator(fs=rec.fs, n_ppg=rec.ppg.shape[0])
    expected = []
    for s, e in chunks:
        expected += [x.to_dict() for x in reference.push(rec.ppg[:, s:e], rec.acc[:, s:e], seq=s)]
    expected += [x.to_dict() for x in reference.flush()]

    def send(srv: LocalServer, s: int, e: int, last: bool, stream: str = "band-1") -> list[dict]:
        body = {"stream_id": stream, "first_sequence": s, "fs": rec.fs, "ppg": rec.ppg[:, s:e].tolist(),
                "acc": rec.acc[:, s:e].tolist(), "end_of_stream": last}  # fmt: skip
        r = srv.post("heart_rate", body)
        assert r.status_code == 200, r.text
        return r.json()["readings"]

    got = []
    srv = LocalServer(tmp_path).start()
    try:
        half = len(chunks) // 2
        for s, e in chunks[:half]:
            got += send(srv, s, e, False)
        srv.stop()  # the service goes away mid-stream; a new process takes over from the same state directory
        srv = LocalServer(tmp_path).start()
        for k, (s, e) in enumerate(chunks[half:]):
            got += send(srv, s, e, k == len(chunks) - half - 1)
        uninterrupted = []  # the same stream, start to end in one service process
        for k, (s, e) in enumerate(chunks):
            uninterrupted += send(srv, s, e, k == len(chunks) - 1, stream="band-2")
    finally:
        srv.stop()
    assert got == uninterrupted  # the restart changed nothing, to the last bit
    keys = ("window_index", "end_sample", "reason")
    assert [{k: g[k] for k in keys} for g in got] == [{k: x[k] for k in keys} for x in expected]
    for k in ("bpm", "sqi", "confidence"):  # the library in this process: equal up to floating-point rounding
        a = np.array([np.nan if g[k] is None else g[k] for g in got], dtype=float)
        b = np.array([np.nan if x[k] is None else x[k] for x in expected], dtype=float)
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True), k
    assert sum(g["bpm"] is not None for g in got) >= 0.5 * len(got)


def test_denoise_answers_the_papers_pipeline(server):
    from liftsense.ppg import spectral_clean
    from liftsense.ppg.baselines import lasso_motion_artifact
    from liftsense.ppg.filters import bandpass
    from liftsense.ppg.synth import synth_recording

    rec = synth_recording(duration_s=8.0, seed=4)
    r = server.post("denoise", {"fs": rec.fs, "ppg": rec.ppg[0].tolist(), "acc": rec.acc.tolist()})
    assert r.status_code == 200, r.text
    clean = bandpass(rec.ppg[0], rec.fs)  # the paper's steps, spelled out here
    artifact = lasso_motion_artifact(clean, bandpass(rec.acc, rec.fs))
    assert np.allclose(r.json()["motion_removed"], clean - artifact)
    assert np.allclose(r.json()["bandpassed"], clean)
    tracker_clean, tracker_fs = spectral_clean(rec.ppg[0], rec.acc, rec.fs)
    assert np.allclose(r.json()["spectral_cleaned"], tracker_clean) and r.json()["spectral_fs"] == tracker_fs
    r = server.post("denoise", {"fs": 4.0, "ppg": [0.0] * 20, "acc": [[0.0] * 20] * 3})
    assert r.status_code == 400 and "fs" in r.text  # 4 Hz cannot hold a 0.5-4 Hz band


def test_classify_windows_without_a_network_gives_no_reading_with_the_reason(server):
    frame = [[0.5, 0.5, 0.0, 0.9]] * 33
    r = server.post("classify_windows", {"windows": [{"landmarks": [frame] * 15}] * 2})
    assert r.status_code == 200, r.text
    assert [w["verdict"] for w in r.json()] == [None, None]
    assert all("no window network" in w["no_reading"] for w in r.json())


def test_bad_input_is_a_400_naming_what_is_wrong(server):
    frame = [[0.5, 0.5, 0.0, 0.9]] * 33
    cases = [
        ({"exercise": "bench press", "clip": {"fps": 30.0, "landmarks": [frame] * 5}}, "exercise"),
        ({"exercise": "squat", "clip": {"fps": 30.0, "landmarks": [[[0.5, 0.5, 0.0]] * 33]}}, "landmarks"),
        ({"exercise": "squat", "clip": {"fps": 0.0, "landmarks": [frame]}}, "fps"),
        ({"exercise": "squat", "clip": {"fps": 30.0, "landmarks": []}}, "landmarks"),
        (
            {
                "exercise": "squat",
                "clip": {"fps": 30.0, "landmarks": [frame], "world": [[[0, 0, 0]] * 33] * 2},
            },
            "world",
        ),
    ]
    for body, field in cases:
        r = server.post("judge", body)
        assert r.status_code == 400 and field in r.text, (body, r.status_code, r.text[:300])
    r = server.post("judge", content=b'{"exercise": "squat", "clip": {"fps": NaN, "landmarks": []}}')
    assert r.status_code == 400
    r = server.post("judge", content=b"not json")
    assert r.status_code == 400
    import pickle

    r = server.post(  # BentoML would unpickle it, running whatever the sender put in
        "judge",
        content=pickle.dumps({"exercise": "squat"}),
        headers={"Content-Type": "application/vnd.bentoml+pickle"},
    )
    assert r.status_code == 415 and "application/json" in r.text
    ok = {"stream_id": "x", "first_sequence": 0, "fs": 125.0, "ppg": [[0.0] * 10], "acc": [[0.0] * 10] * 3}
    assert server.post("heart_rate", ok).status_code == 200
    for change, field in [
        ({"fs": 64.0}, "Hz"),
        ({"acc": [[0.0] * 9] * 3}, "samples"),
        ({"stream_id": "a b"}, "stream_id"),
    ]:
        r = server.post("heart_rate", ok | change)
        assert r.status_code == 400 and field in r.text, (change, r.text[:300])


def test_classify_windows_answers_what_the_network_answers(tmp_path, monkeypatch):
    proc = run_entry_point("train.py", tmp_path, *SMALL_POSTURE, "model=cnn")
    assert proc.returncode == 0, proc.stderr[-3000:]
    import mlflow

    from liftsense.coach import classify_windows, load_window_model
    from liftsense.pose.synth.dataset import SynthConfig, synth_clip, synth_subjects

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    (run,) = mlflow.search_runs(experiment_names=["posture-binary"], output_format="list")
    model_uri = f"runs:/{run.info.run_id}/model"
    cfg = SynthConfig(seed=21)
    clip, _, _ = synth_clip(cfg, synth_subjects(cfg), "squat", 0, "correct")
    windows = np.stack([clip[s : s + 15] for s in range(0, 150, 15)])
    windows[3, :, :, :] = np.nan  # a window without a person
    network = load_window_model(model_uri, uri)[0]
    expected, classes = classify_windows(network, windows)
    import liftsense.coach.models as coach_models

    monkeypatch.setattr(coach_models, "WINDOWS_PER_PASS", 3)  # the 10 windows in passes of 3, 3, 3 and 1
    in_passes, _ = classify_windows(network, windows)
    np.testing.assert_allclose(in_passes, expected, rtol=0, atol=1e-6)
    assert np.isnan(in_passes[3]).all() and np.isfinite(np.delete(in_passes, 3, axis=0)).all()
    # batches of at most 4 windows: each 10-window request is split across calls and joined back in order
    srv = LocalServer(tmp_path, LIFTSENSE_WINDOW_MODEL=model_uri, LIFTSENSE_BATCH_WINDOWS="4").start()
    try:
        r = srv.post("classify_windows", {"windows": [{"landmarks": _json_clip(w)} for w in windows]})
        packed = srv.post("classify_windows", {"windows": [{"packed": pack_window(w)} for w in windows]})
        url_safe = srv.post(  # the URL-safe alphabet without padding decodes to the same bytes
            "classify_windows",
            {"windows": [{"packed": _url_safe(pack_window(w))} for w in windows]},
        )
        not_b64 = srv.post("classify_windows", {"windows": [{"packed": "not base64!"}]})
        short = srv.post("classify_windows", {"windows": [{"packed": pack_window(windows[0, :14])}]})
        both = srv.post(
            "classify_windows",
            {"windows": [{"packed": pack_window(windows[0]), "landmarks": _json_clip(windows[0])}]},
        )
    finally:
        srv.stop()
    assert r.status_code == 200, r.text
    got = r.json()
    assert got[3]["verdict"] is None and got[3]["no_reading"]
    for g in got:  # the answer is written to JSON without BentoML's model: it must still be the declared one
        assert set(g) == set(WindowVerdict.model_fields)
        WindowVerdict.model_validate(g, strict=True)
    for g, p in zip(got, expected, strict=True):
        if np.isfinite(p).all():
            assert g["verdict"] == classes[int(np.argmax(p))]
            assert np.allclose([g["probabilities"][c] for c in classes], p, atol=1e-4)
    assert packed.status_code == 200 and packed.json() == got  # the same windows, as float32 in base64
    assert url_safe.status_code == 200 and url_safe.json() == got
    assert not_b64.status_code == 400 and "base64" in not_b64.text
    assert not_b64.json()["detail"][0]["loc"] == ["windows", 0, "packed"]
    assert short.status_code == 400 and "packed" in short.text
    assert both.status_code == 400 and "exactly one" in both.text


def test_a_body_over_the_size_limit_is_a_413_before_it_is_read(tmp_path):
    import httpx

    srv = LocalServer(tmp_path, LIFTSENSE_MAX_BODY_BYTES="100000").start()
    try:
        frame = [[0.5, 0.5, 0.0, 0.9]] * 33
        big = {"exercise": "squat", "clip": {"fps": 30.0, "landmarks": [frame] * 200}}  # ~170 kB
        r = srv.post("judge", big)
        assert r.status_code == 413 and "over the limit" in r.text

        def chunks():  # no Content-Length: counted as it streams in
            yield b'{"exercise": "squat", "clip": {"fps": 30.0, "landmarks": ['
            for k in range(200):
                yield (b"," if k else b"") + json.dumps([frame]).encode()[1:-1]
            yield b"]}}"

        r = httpx.post(f"{srv.url}/judge", content=chunks(), timeout=60)
        assert r.status_code == 413
        small = {"exercise": "squat", "clip": {"fps": 30.0, "landmarks": [frame] * 20}}
        assert srv.post("judge", small).status_code == 200
    finally:
        srv.stop()


def test_models_says_what_answers_when_the_registry_is_empty(server):
    r = server.post("models", {})
    assert r.status_code == 200
    entries = r.json()["models"]
    assert {e["name"] for e in entries} >= {"posture-squat_3d-fault", "posture-builtin-binary"}
    posture = [e for e in entries if e["task"] != "rest_hr"]
    assert all(e["version"] is None and "nothing registered" in e["serving"] for e in posture)
    (rest,) = [e for e in entries if e["task"] == "rest_hr"]
    assert rest["serving"].startswith("baseline:") and rest["validation_metric"]


def test_rest_forecast_and_update_answer_what_the_library_answers_on_a_real_set(server):
    require_real_data("hr", "garmin_strength_fit")
    from liftsense.datasets.loaders import load_sessions
    from liftsense.resthr import SetDone, fitted_rest_forecaster
    from liftsense.resthr.sessions import bouts

    bout = next(b for b in bouts(load_sessions({"name": "rest_garmin"}), 5.0, 600.0) if b.index >= 1)
    ok = np.isfinite(bout.set_hr)
    body = {"set_time_s": (bout.set_time[ok] - bout.set_time[ok][-1]).tolist(), "set_hr": bout.set_hr[ok].tolist(),
            "set_index": bout.index}  # fmt: skip
    forecaster = fitted_rest_forecaster()
    done = SetDone(np.array(body["set_time_s"]), np.array(body["set_hr"]), bout.index)
    r = server.post("rest_forecast", body)
    assert r.status_code == 200, r.text
    assert r.json() == forecaster.forecast(done).__dict__
    assert r.json()["produced_by"] and len(r.json()["hr"]) == 36  # every 5 s for 3 minutes
    rest_ok = np.isfinite(bout.rest_hr) & (bout.rest_time <= 30)
    update = {
        "done": body,
        "rest_time_s": bout.rest_time[rest_ok].tolist(),
        "rest_hr": bout.rest_hr[rest_ok].tolist(),
    }
    r = server.post("rest_update", update)
    assert r.status_code == 200, r.text
    assert r.json() == forecaster.update(done, bout.rest_time[rest_ok], bout.rest_hr[rest_ok]).__dict__
    bad = server.post("rest_forecast", body | {"set_time_s": body["set_time_s"][::-1]})
    assert bad.status_code == 400 and "set_time_s" in bad.text


def test_the_bento_builds_offline_with_the_projects_own_pins(tmp_path):
    import tomllib

    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    listed = [
        ln for ln in (REPO / "serving" / "requirements.txt").read_text().splitlines() if ln and ln[0] != "#"
    ]
    assert listed == pins, "serving/requirements.txt must list pyproject.toml's dependencies, in order"
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "True",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    bentoml = Path(sys.executable).parent / "bentoml"
    proc = subprocess.run(
        [str(bentoml), "build"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list((tmp_path / "bentoml" / "bentos" / "liftsense").glob("*/bento.yaml"))


def test_bootstrap_trains_and_promotes_what_the_registry_lacks_once(tmp_path):
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "LIFTSENSE_HOME": str(tmp_path),
    }
    cmd = [sys.executable, "-m", "serving.bootstrap", *SMALL_POSTURE, "validation.enabled=false"]
    first = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "posture-builtin-binary v1:" in first.stdout and "posture-builtin-fault v1:" in first.stdout
    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and "training" not in second.stdout  # nothing trained twice
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    for name in ("posture-builtin-binary", "posture-builtin-fault"):
        (version,) = client.search_model_versions(f"name = '{name}'")
        promoted = "champion" in client.get_registered_model(name).aliases
        assert promoted == (version.tags["promotion_decision"] == "champion")  # the baseline rule decided


def test_a_champion_that_never_beat_its_baseline_is_not_served(tmp_path):
    """A version made champion by hand (or promoted before the baseline check existed) carries no proof that it
    beats always answering the majority class: the service answers without it and says why."""
    proc = run_entry_point("train.py", tmp_path, *SMALL_POSTURE, "model=clip_logistic", "task=fault")
    assert proc.returncode == 0, proc.stderr[-3000:]
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = mlflow.search_runs(experiment_names=["posture-fault"], output_format="list")
    name = "posture-builtin-fault"
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", name).version
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", version)  # no promote.py, no check
    frame = [[0.5, 0.5, 0.0, 0.9]] * 33
    srv = LocalServer(tmp_path, LIFTSENSE_WORKERS="2").start()
    try:
        judged = srv.post("judge", {"exercise": "curl", "clip": {"fps": 30.0, "landmarks": [frame] * 40}})
        srv.wait_until_loaded(workers=2)
        # the registry changes under a running service before anyone asks: every worker names what it loaded
        mlflow.MlflowClient().delete_registered_model_alias(name, "champion")
        models = srv.post("models", {}).json()["models"]
        for _ in range(4):  # a new connection each, so both workers answer
            assert srv.post("models", {}).json()["models"] == models
    finally:
        srv.stop()
    assert judged.status_code == 200 and judged.json()["model"] is None, judged.text[:500]
    (entry,) = [m for m in models if m["name"] == name]
    assert (
        entry["version"] == str(version)
        and "never checked against its baseline: not served" in entry["serving"]
    )


def test_a_registry_rest_network_competes_with_the_simple_forecasters_on_the_services_validation_rests(
    tmp_path,
):
    """A rest network that beat its baseline at promotion is offered; it answers only if it also beats the simple
    forecasters on the rests the service validates on, and `models` and every forecast say which answered."""
    proc = run_entry_point(
        "train.py", tmp_path, "task=rest_hr", "model=rest_lstm", "trainer=rest_smoke",
        "data.sim.subjects=8", "data.sim.sessions_per_subject=2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    import mlflow

    from liftsense.registry import BASELINE_TAG

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = mlflow.search_runs(experiment_names=["rest-hr"], output_format="list")
    name, client = "rest-hr-rest_builtin", mlflow.MlflowClient()
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", name).version
    client.set_registered_model_alias(name, "champion", version)
    client.set_model_version_tag(name, version, BASELINE_TAG, "true")  # as promote.py tags a winner
    t = np.arange(-40.0, 0.1, 1.0)
    srv = LocalServer(tmp_path).start()
    try:
        forecast = srv.post(
            "rest_forecast", {"set_time_s": t.tolist(), "set_hr": (110 + 0.5 * (t + 40)).tolist()}
        )
        models = srv.post("models", {}).json()["models"]
    finally:
        srv.stop()
    (entry,) = [m for m in models if m["task"] == "rest_hr"]
    uri = f"models:/{name}@champion"
    scores = {
        k.removeprefix("val_mae_60s "): v for k, v in entry["validation_metric"].items() if "val_mae" in k
    }
    assert uri in scores and len(scores) == 3, scores
    best = min(scores, key=scores.get)
    assert forecast.status_code == 200 and forecast.json()["produced_by"].startswith(best), forecast.text[
        :300
    ]
    if best == uri:
        assert entry["serving"] == f"model {uri}" and entry["version"] == str(version)
    else:
        assert "did not beat the simple forecasters on the service's validation rests" in entry["serving"]
