"""The lifter's live page, as an ASGI app the service mounts at /live (`serving.service`).

Mounted into the service rather than served beside it: the page's form verdicts then come from the very models
the service's `judge` answers with (loaded once, from the registry), through the same `liftsense.coach` code, and
`make serve` shows the page with no second server to run. The heart-rate and rest panel reads the gateway's
server-sent events straight from the browser (`GET /events?band=N` on the gateway's status port).

Routes (under /live):
- `/`: the page; `/static/*`: its script and style; `/vendor/pose/*`: npm's `@mediapipe/pose` (its WASM and
  models, for pose estimation in the browser, offline).
- `/config.json`: the exercises, the gateway's status URL and which pose estimation the page uses by default.
- WebSocket `/ws/form`: landmarks in, per frame; the coach's state out (rep count, tempo, the last rep's verdict
  and cue) and, at the end of a set, the set's report.
- WebSocket `/ws/pose`: camera frames (JPEG) in; the server's BlazePose landmarks and the coach's state out. The
  other way to run pose estimation, kept for measuring it against the browser (see docs/live_page.md).
"""

from __future__ import annotations

import json
import logging
import math
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("liftsense.page")

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
#: where `npm ci` puts the browser's pose estimator (package.json at the project root)
POSE_ASSETS = REPO_ROOT / "node_modules" / "@mediapipe" / "pose"
#: the coach's frame grid: frames from the browser (as fast as pose estimation goes) are put on it
COACH_FPS = 30.0
#: one frame's landmarks message is ~5 kB; a JPEG frame up to this size is accepted for server-side pose
MAX_IMAGE_BYTES = 2 * 1024 * 1024
#: which pose estimation the page uses unless told (`?pose=server`): the faster one measured (docs/live_page.md)
DEFAULT_POSE = os.environ.get("LIFTSENSE_PAGE_POSE", "server")

#: (exercise) -> (form model or None, its name): the service's own loaded champions
FormModels = Callable[[str], tuple[Any, str | None]]


class FormSession:
    """One set being lifted in front of one page: frames in, the coach's state out (`liftsense.coach.LiveCoach`)."""

    def __init__(self, exercise: str, models: FormModels) -> None:
        from liftsense.coach import LiveCoach, rep_signal_of

        self.exercise = rep_signal_of(exercise).exercise  # ValueError names the unknown exercise
        model, name = models(self.exercise)
        self.coach = LiveCoach(self.exercise, COACH_FPS, model, name)

    def push(self, t_ms: float, image, world) -> dict:
        """One frame taken at `t_ms` (the page's clock, ms): the state to show."""
        import numpy as np

        if not isinstance(t_ms, int | float) or not math.isfinite(t_ms):
            raise ValueError(f"t: must be the frame's capture time in ms (a finite number), got {t_ms!r}")
        image = np.full((33, 4), np.nan, np.float32) if image is None else _landmarks(image, 4, "lm")
        world = None if world is None else _landmarks(world, 3, "world")
        state = self.coach.push_at(t_ms / 1000.0, image, world)
        out: dict[str, Any] = {
            "t": t_ms,
            "reps": state.reps,
            "verdict": state.last_verdict,
            "cue": state.last_cue,
            "message": state.message,
        }
        report = self.coach.report
        if report is not None and report.reps:
            last = report.reps[-1]
            end_t = self.coach.time_of_frame(self.coach.buffer_start + last.end_s * self.coach.fps)
            out |= {
                "rep": last.rep,
                "rep_end_t": None if end_t is None else round(end_t * 1000.0, 1),
                "tempo": {"down_s": last.down_s, "pause_s": last.pause_s, "up_s": last.up_s},
                "range_deg": [last.top_deg, last.bottom_deg],
                "probability": last.probability,
            }
        return out

    def finish(self) -> dict:
        """The set's report (as `judge` returns it) and a short summary for the session view."""
        report = self.coach.report
        if report is None:
            return {"set_done": {"exercise": self.exercise, "reps": 0, "faults": {}, "report": None}}
        body = json.loads(report.to_json())  # JSON-safe (no NaN), as `judge` answers
        faults: dict[str, int] = {}
        for r in report.reps:
            if r.verdict and r.verdict != "correct":
                faults[r.verdict] = faults.get(r.verdict, 0) + 1
        return {
            "set_done": {
                "exercise": self.exercise,
                "reps": self.coach.reps,
                "faults": faults,  # of the reps in the report: the set's last 60 s
                "report": body,
            }
        }


def _landmarks(value, width: int, field: str):
    """A (33, width) float array from JSON, or ValueError naming the field and what is wrong."""
    import numpy as np

    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: must be 33 rows of {width} numbers") from None
    if arr.shape != (33, width):
        raise ValueError(f"{field}: must be 33 rows of {width} numbers, got shape {arr.shape}")
    return np.where(np.isfinite(arr), arr, np.nan)  # infinity is no position: missing, as NaN is


def make_app(models: FormModels, gateway_url: str | None = None):
    """The page's Starlette app; `models` gives an exercise's form model (the service passes its own)."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Mount, Route, WebSocketRoute
    from starlette.staticfiles import StaticFiles

    from liftsense.coach import EXERCISE_REPS

    gateway = gateway_url or os.environ.get("LIFTSENSE_GATEWAY_STATUS_URL", "http://127.0.0.1:7101")

    async def index(request):
        return FileResponse(HERE / "static" / "index.html", headers={"Cache-Control": "no-cache"})

    async def config(request):
        return JSONResponse(
            {
                "exercises": sorted(EXERCISE_REPS),
                "gateway": gateway,
                "pose": DEFAULT_POSE,
                "pose_assets": POSE_ASSETS.is_dir(),
                "coach_fps": COACH_FPS,
            }
        )

    async def form_socket(websocket):
        await _serve_form(websocket, models, server_pose=False)

    async def pose_socket(websocket):
        await _serve_form(websocket, models, server_pose=True)

    routes = [
        Route("/", index),
        Route("/config.json", config),
        WebSocketRoute("/ws/form", form_socket),
        WebSocketRoute("/ws/pose", pose_socket),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    if POSE_ASSETS.is_dir():
        routes.append(Mount("/vendor/pose", StaticFiles(directory=POSE_ASSETS), name="pose"))
    return Starlette(routes=routes)


async def _serve_form(websocket, models: FormModels, server_pose: bool) -> None:
    """One page's form stream. The first message names the exercise; then each message is a frame: JSON
    landmarks (`/ws/form`) or 8 bytes of capture time (ms, little-endian double) and a JPEG (`/ws/pose`). A bad
    message is answered with an error naming what is wrong, and the stream goes on."""
    import anyio
    from starlette.websockets import WebSocketDisconnect

    await websocket.accept()
    session: FormSession | None = None
    estimator = None
    try:
        try:
            first = json.loads(await websocket.receive_text())
            if not isinstance(first, dict) or not isinstance(first.get("exercise"), str):
                raise ValueError('the first message must be {"exercise": NAME}')
            session = await anyio.to_thread.run_sync(FormSession, first["exercise"], models)
        except ValueError as exc:  # not JSON, no exercise, or an unknown one
            await websocket.send_json({"error": f"exercise: {exc}"})
            await websocket.close(code=1008)
            return
        await websocket.send_json({"ready": session.exercise, "model": session.coach.model_name})
        if server_pose:
            from liftsense.pose import PoseEstimator

            estimator = await anyio.to_thread.run_sync(PoseEstimator)
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            try:
                if message.get("text") is not None:
                    body = json.loads(message["text"])
                    if body.get("end_set"):
                        done = session.finish()
                        session = await anyio.to_thread.run_sync(FormSession, session.exercise, models)
                        await websocket.send_json(done)
                        continue
                    if server_pose:
                        raise ValueError(
                            "this socket takes frames as bytes: 8-byte capture time, then a JPEG"
                        )
                    out = await anyio.to_thread.run_sync(
                        session.push, body["t"], body.get("lm"), body.get("world")
                    )
                elif message.get("bytes") is not None:
                    if not server_pose:
                        raise ValueError(
                            "this socket takes JSON landmarks; send JPEG frames to /live/ws/pose"
                        )
                    out = await anyio.to_thread.run_sync(_pose_frame, estimator, session, message["bytes"])
                else:
                    continue
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                await websocket.send_json(
                    {"error": str(exc) if not isinstance(exc, KeyError) else f"{exc} missing"}
                )
                continue
            await websocket.send_json(out)
    except WebSocketDisconnect:
        pass
    finally:
        if estimator is not None:
            estimator.close()


def _pose_frame(estimator, session: FormSession, data: bytes) -> dict:
    """Server-side pose: one JPEG frame -> BlazePose landmarks -> the coach. Landmarks go back for the skeleton."""
    import cv2
    import numpy as np

    if len(data) <= 8 or len(data) > MAX_IMAGE_BYTES + 8:
        raise ValueError(
            f"a frame is 8 bytes of time and a JPEG of at most {MAX_IMAGE_BYTES} bytes, got {len(data)}"
        )
    (t_ms,) = struct.unpack("<d", data[:8])
    t0 = time.perf_counter()
    bgr = cv2.imdecode(np.frombuffer(data[8:], np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("the frame is not a decodable JPEG")
    image, world = estimator.process(bgr)
    pose_ms = (time.perf_counter() - t0) * 1000.0
    out = session.push(
        t_ms, image if np.isfinite(image).any() else None, world if np.isfinite(world).any() else None
    )
    lm = None if not np.isfinite(image).any() else np.round(image, 4).tolist()
    return out | {"lm": lm, "pose_ms": round(pose_ms, 1)}
