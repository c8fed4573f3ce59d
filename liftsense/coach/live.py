"""The live coach: frames in one at a time, the rep count and the last rep's cue out, as soon as a rep ends.

Each frame re-segments the recent buffer (cheap: a few milliseconds for a minute of frames); a rep is judged
once, when it is complete. `frame_to_cue_ms` records how long each frame took from landmarks to state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from liftsense.coach.coach import LandmarkClip, coach_clip
from liftsense.coach.report import CoachReport

#: how much history is segmented per frame (older reps are already counted and judged)
BUFFER_S = 60.0


@dataclass
class LiveState:
    reps: int
    last_verdict: str | None
    last_cue: str | None
    message: str | None  # e.g. "no reading: ..." for the last rep, or why nothing is counted yet


@dataclass
class LiveCoach:
    exercise: str
    fps: float
    model: object | None = None
    model_name: str | None = None
    frames: list[np.ndarray] = field(default_factory=list)
    worlds: list[np.ndarray] = field(default_factory=list)
    report: CoachReport | None = None
    frame_to_cue_ms: list[float] = field(default_factory=list)
    _judged: int = 0

    _t0: float | None = None  # push_at: the stream time of grid frame 0
    _last: tuple[float, np.ndarray, np.ndarray] | None = None  # push_at: the newest frame received

    def push(self, image: np.ndarray, world: np.ndarray | None = None) -> LiveState:
        """One frame at the coach's own rate (a camera or a video that keeps it)."""
        t0 = time.perf_counter()
        self._append(image, world)
        return self._evaluate(t0)

    def push_at(self, t_s: float, image: np.ndarray, world: np.ndarray | None = None) -> LiveState:
        """One frame taken at time `t_s` (s, any origin, increasing): for a source that drops frames (a browser
        estimating pose as fast as it can). The frames are put on the coach's own grid of `fps` frames a second by
        linear interpolation between the frames around each grid time; a landmark missing on either side stays
        missing, so nothing is made up across a frame without the person."""
        t0 = time.perf_counter()
        world = world if world is not None else np.full((33, 3), np.nan, np.float32)
        if self._t0 is None:
            self._t0, self._last = t_s, (t_s, image, world)
            self._append(image, world)
            return self._evaluate(t0)
        t_prev, im_prev, wl_prev = self._last
        if t_s <= t_prev:  # late or repeated: the grid has moved on
            return self._evaluate(t0)
        while (t_grid := self._t0 + len(self.frames) / self.fps) <= t_s:
            w = (t_grid - t_prev) / (t_s - t_prev)
            if w >= 1.0 - 1e-9:  # on a frame's own time: that frame, as it is (0 * NaN would blank it)
                self._append(image, world)
            else:
                self._append((1 - w) * im_prev + w * image, (1 - w) * wl_prev + w * world)
        self._last = (t_s, image, world)
        return self._evaluate(t0)

    def time_of_frame(self, frame: float) -> float | None:
        """push_at's time of a grid frame (None before the first frame)."""
        return None if self._t0 is None else self._t0 + frame / self.fps

    def _append(self, image: np.ndarray, world: np.ndarray | None) -> None:
        self.frames.append(np.asarray(image, np.float32))
        self.worlds.append(
            np.asarray(world, np.float32) if world is not None else np.full((33, 3), np.nan, np.float32)
        )

    def _evaluate(self, t0: float) -> LiveState:
        keep = int(BUFFER_S * self.fps)
        lm = np.stack(self.frames[-keep:])
        wl = np.stack(self.worlds[-keep:])
        clip = LandmarkClip(lm, self.fps, "live", wl if np.isfinite(wl).any() else None)
        # judge only when the number of complete reps grows: the model runs once per rep. The report (and the
        # state's verdict and cue) stay those of the last judging until the next rep, not the count-only pass's
        counted = coach_clip(clip, self.exercise, None)
        if len(counted.reps) > self._judged:
            if self.model is not None:
                counted = coach_clip(clip, self.exercise, self.model, model_name=self.model_name)
            self.report = counted
        elif self.report is None or not self.report.reps:  # no rep yet: the report says why
            self.report = counted
        self._judged = max(self._judged, len(counted.reps))
        last = self.report.reps[-1] if self.report is not None and self.report.reps else None
        state = LiveState(
            reps=self._judged,
            last_verdict=last.verdict if last else None,
            last_cue=last.cue if last else None,
            message=(last.no_reading if last else counted.refused),
        )
        self.frame_to_cue_ms.append((time.perf_counter() - t0) * 1000.0)
        return state
