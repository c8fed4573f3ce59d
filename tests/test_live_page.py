"""The live page's parts without a browser: the coach on frames that arrive when they can (`push_at`), the page's
form socket (its answers are the coach's, bad frames get errors that name the field), and the gateway's feed for
a band (server-sent events and the after-workout session), over a real gateway and an emulated band."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from liftsense.coach import LandmarkClip, LiveCoach, coach_clip
from liftsense.pose.synth.dataset import SynthConfig, synth_clip, synth_subjects
from serving.gateway.feed import rests
from serving.local import REPO, free_port

CFG = SynthConfig(seed=11)


def test_frames_that_arrive_irregularly_are_put_on_the_coachs_grid_by_linear_interpolation():
    coach = LiveCoach("barbell_curl", fps=10.0)
    times = [0.0, 0.05, 0.31, 0.32, 0.7]  # seconds; each frame's landmarks are 100 * t everywhere
    for t in times:
        coach.push_at(t, np.full((33, 4), 100.0 * t, np.float32))
    grid = np.stack(coach.frames)[:, 0, 0]
    np.testing.assert_allclose(grid, [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0], atol=1e-4)
    assert coach.time_of_frame(3) == pytest.approx(0.3)
    coach.push_at(0.6, np.zeros((33, 4), np.float32))  # late: the grid has moved on, nothing is rewritten
    assert len(coach.frames) == 8 and coach.frames[-1][0, 0] == pytest.approx(70.0)


def test_a_frame_without_the_person_is_not_bridged_by_interpolation():
    coach = LiveCoach("squat", fps=10.0)
    coach.push_at(0.0, np.ones((33, 4), np.float32))
    coach.push_at(0.25, np.full((33, 4), np.nan, np.float32))
    coach.push_at(0.5, np.ones((33, 4), np.float32))
    grid = np.stack(coach.frames)[:, 0, 0]
    assert grid[0] == 1.0 and np.isnan(grid[1:5]).all() and grid[5] == 1.0


def _page_client():
    from starlette.testclient import TestClient

    from serving.page import make_app

    return TestClient(make_app(lambda exercise: (None, None), gateway_url="http://127.0.0.1:1"))


def test_the_form_socket_counts_what_the_coach_counts_on_the_same_frames():
    clip, _, truth = synth_clip(CFG, synth_subjects(CFG), "barbell_curl", 1, "correct")
    expected = coach_clip(LandmarkClip(clip, CFG.fps, "synth"), "barbell_curl", None)
    assert len(expected.reps) == len(truth)
    with _page_client() as client, client.websocket_connect("/ws/form") as ws:
        ws.send_json({"exercise": "barbell_curl"})
        assert ws.receive_json()["ready"] == "barbell_curl"
        states = []
        # the page's 30 frames a second from the synthesiser's own rate, as a browser would send them
        for k, frame in enumerate(clip):
            lm = None if not np.isfinite(frame).all() else frame.tolist()
            ws.send_text(json.dumps({"t": 1000.0 * k / CFG.fps, "lm": lm, "world": None}))
            states.append(ws.receive_json())
        assert states[-1]["reps"] == len(truth)
        first = next(s for s in states if s["reps"] == 1)
        assert first["message"] == "no form model" and first["tempo"]["down_s"] > 0
        assert first["rep_end_t"] <= first["t"]  # a rep is reported when it has ended, never before
        ws.send_text(json.dumps({"end_set": True}))
        done = ws.receive_json()["set_done"]
        assert done["reps"] == len(truth) and done["report"]["exercise"] == "barbell_curl"


def test_the_form_socket_names_what_is_wrong_and_goes_on():
    with _page_client() as client:
        for first in ({"exercise": "handstand"}, ["squat"], "squat"):
            with client.websocket_connect("/ws/form") as ws:
                ws.send_text(json.dumps(first) if not isinstance(first, str) else first)  # the last: not JSON
                assert ws.receive_json()["error"].startswith("exercise:")
        with client.websocket_connect("/ws/form") as ws:
            ws.send_json({"exercise": "squat"})
            ws.receive_json()
            ws.send_text(json.dumps({"t": 0.0, "lm": [[0.5, 0.5, 0.0]] * 33}))
            assert "lm: must be 33 rows of 4 numbers" in ws.receive_json()["error"]
            ws.send_text(json.dumps({"lm": None}))
            assert "'t' missing" in ws.receive_json()["error"]
            for t in ("soon", None, 1e400):  # 1e400: JSON's way to say infinity
                ws.send_text(json.dumps({"t": t, "lm": None}).replace("Infinity", "1e400"))
                assert ws.receive_json()["error"].startswith("t: must be the frame's capture time")
            ws.send_text("[1, 2]")
            assert "error" in ws.receive_json()
            ws.send_bytes(b"\x00" * 20)
            assert "/live/ws/pose" in ws.receive_json()["error"]
            ws.send_text(json.dumps({"t": 5.0, "lm": None}))  # still answering: a frame without a person
            assert ws.receive_json()["reps"] == 0
        with client.websocket_connect("/ws/pose") as ws:
            ws.send_json({"exercise": "squat"})
            ws.receive_json()
            ws.send_bytes(np.float64(1.0).tobytes() + b"not a jpeg")
            assert "not a decodable JPEG" in ws.receive_json()["error"]


def test_the_page_and_its_config_are_served():
    with _page_client() as client:
        page = client.get("/")
        assert page.status_code == 200 and 'id="reps"' in page.text and 'id="hr"' in page.text
        config = client.get("/config.json").json()
        assert "barbell_curl" in config["exercises"] and config["gateway"] == "http://127.0.0.1:1"
        assert client.get("/static/page.js").status_code == 200


def test_each_rest_is_summarised_by_what_ended_it():
    phases = [
        {"t_s": 10.0, "state": "set"},
        {"t_s": 50.0, "state": "rest"},
        {"t_s": 150.0, "state": "set"},
        {"t_s": 190.0, "state": "rest"},
        {"t_s": 230.0, "state": "set"},
        {"t_s": 260.0, "state": "rest"},
    ]
    decisions = [
        {"t_s": 55.0, "kind": "forecast", "reason": "mono", "rest_s": 90.0, "target_hr": 110.0},
        {"t_s": 65.0, "kind": "forecast", "reason": "mono", "rest_s": 80.0, "target_hr": 108.0},
        {
            "t_s": 131.0,
            "kind": "rest_over",
            "reason": "HR 107 <= target 108",
            "rest_s": 81.0,
            "target_hr": 108.0,
        },
        {"t_s": 195.0, "kind": "forecast", "reason": "mono", "rest_s": 120.0, "target_hr": 100.0},
    ]
    rows = rests(phases, decisions, end_s=300.0)
    assert [r["predicted_s"] for r in rows] == [90.0, 120.0, None]
    assert [r["taken_s"] for r in rows] == [81.0, 40.0, 40.0]
    assert rows[0]["ended_by"].startswith("HR 107") and rows[0]["target_hr"] == 108.0
    assert "next set began" in rows[1]["ended_by"] and "still resting" in rows[2]["ended_by"]
    # the last rest ended after the newest reading (the estimator reads ahead of its readings)
    over = {"t_s": 304.0, "kind": "rest_over", "reason": "HR 99 <= target 100", "rest_s": 44.0}
    assert rests(phases, [*decisions, over], end_s=300.0)[2]["taken_s"] == 44.0


@pytest.mark.slow
def test_the_gateway_streams_a_bands_readings_and_rest_to_a_page_and_summarises_the_session(tmp_path):
    import httpx

    port, status = free_port(), free_port()
    gateway = subprocess.Popen(
        [sys.executable, "-m", "serving.gateway", "--port", str(port), "--status-port", str(status),
         "--journal", str(tmp_path / "j.sqlite")], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    band = None
    try:
        url = f"http://127.0.0.1:{status}"
        for _ in range(100):
            try:
                httpx.get(f"{url}/status", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert httpx.get(f"{url}/events?band=one", timeout=5).status_code == 400
        assert httpx.get(f"{url}/session?band=9", timeout=5).status_code == 404
        band = subprocess.Popen(
            [sys.executable, "-m", "serving.gateway.emulate", "--bands", "1", "--port", str(port),
             "--speed", "20", "--seconds", "230"], cwd=REPO, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        events = []
        deadline = time.monotonic() + 90
        with httpx.stream("GET", f"{url}/events?band=1", timeout=30) as response:
            assert response.headers["content-type"] == "text/event-stream"
            assert response.headers["access-control-allow-origin"] == "*"
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                if any(d["kind"] == "rest_over" for e in events for d in e["decisions"]):
                    break
                assert time.monotonic() < deadline, "no rest_over within 90 s"
        readings = [r for e in events for r in e["readings"]]
        times = [r["t_s"] for r in readings]
        assert times == sorted(set(times)) and len(times) > 50  # every reading once, in order
        assert {p["state"] for e in events for p in e["phases"]} == {"set", "rest"}
        rest = next(e["live"]["rest"] for e in events if (e["live"].get("rest") or {}).get("forecast"))
        f = rest["forecast"]
        assert len(f["t_s"]) == len(f["hr"]) == len(f["low"]) == len(f["high"]) and f["target_hr"] > 0
        assert all(lo <= hi for lo, hi in zip(f["low"], f["high"], strict=True))  # the forecast's 10-90% band
        assert f["t_s"][0] > rest["start_s"]  # in stream time, from the rest's start
        delays = [time.time() - e["newest_received_s"] for e in events if e["newest_received_s"]]
        assert delays and min(delays) >= 0
        band.wait(timeout=60)
        session = httpx.get(f"{url}/session?band=1", timeout=10).json()
        first = session["rests"][0]
        assert first["predicted_s"] > 0 and first["taken_s"] > 0 and first["ended_by"].startswith("HR")
        assert len(session["readings"]) >= len(readings)
    finally:
        for proc in (band, gateway):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
