"""`--webcam N`: live coaching from a camera; the count and the cue are printed as soon as a rep ends.

`play_as_camera` runs the same loop over a recorded video, frame by frame at its own pace, so the frame-to-cue
latency can be measured on a machine without a camera (benchmarks/bench_coach.py).
"""

from __future__ import annotations

import logging
import time

from liftsense.coach.live import LiveCoach
from liftsense.coach.report import CoachReport

log = logging.getLogger(__name__)


def _loop(cap, exercise: str, model, model_name: str | None, max_frames: int | None, echo: bool):

    from liftsense.pose.extract import PoseEstimator, capture_fps, video_frames

    fps = capture_fps(cap)
    live = LiveCoach(exercise, fps, model, model_name)
    latencies: list[float] = []
    shown = (0, None)
    try:
        with PoseEstimator(static=False) as est:
            for frame in video_frames(cap, max_frames):
                t0 = time.perf_counter()
                image, world = est.process(frame)
                state = live.push(image, world)
                latencies.append((time.perf_counter() - t0) * 1000.0)
                if echo and (state.reps, state.last_cue) != shown:
                    shown = (state.reps, state.last_cue)
                    cue = state.last_cue or state.last_verdict or state.message or ""
                    print(f"reps {state.reps}  {cue}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        cap.release()
    return live, latencies


def run_webcam(
    index: int, exercise: str, model, model_name: str | None, max_frames: int | None
) -> CoachReport | None:
    import cv2

    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        log.error("webcam %d: cannot open the camera", index)
        return None
    live, _ = _loop(cap, exercise, model, model_name, max_frames, echo=True)
    return live.report


def play_as_camera(
    video: str, exercise: str, model=None, max_frames: int | None = None
) -> tuple[CoachReport | None, list[float]]:
    """The webcam loop over a recorded clip: (final report, frame-to-cue latency per frame in ms)."""
    import cv2

    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise FileNotFoundError(f"{video}: cannot open video")
    live, latencies = _loop(cap, exercise, model, None, max_frames, echo=False)
    return live.report, latencies
