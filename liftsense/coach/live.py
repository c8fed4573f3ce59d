"""The live coach: frames in one at a time, the rep count and the last rep's cue out, as soon as a rep ends.

Each frame re-segments the recent buffer (cheap: a few milliseconds for a minute of frames); a rep is judged
once, when it is complete. Reps are counted by where they lie in the whole stream, so a set longer than the
buffer keeps counting. `frame_to_cue_ms` records how long each frame took from landmarks to state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from liftsense.coach.coach import LandmarkClip, coach_clip
from liftsense.coach.report import CoachReport

#: how much history is segmented per frame (older reps are already counted and judged)
BUFFER_S = 60.0
#: a rep found again by a later segmentation may start a frame or two earlier than it did: not a new rep
SAME_REP_FRAMES = 3


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
    frames: list[np.ndarray] = field(
        default_factory=list
    )  # the buffer: the newest frames (at most 2 buffers)
    worlds: list[np.ndarray] = field(default_factory=list)
    report: CoachReport | None = (
        None  # the last judged segmentation of the buffer (times from `buffer_start`)
    )
    buffer_start: int = 0  # the stream frame of `report`'s first frame
    frame_to_cue_ms: list[float] = field(default_factory=list)
    _judged: int = 0  # reps counted (and judged) so far in the whole stream
    _last_rep_end: int = -1  # the stream frame where the last counted rep ended
    _dropped: int = 0  # stream frames already gone from the buffer
    _t0: float | None = None  # push_at: the time of stream frame 0
    _last: tuple[float, np.ndarray, np.ndarray] | None = None  # push_at: the newest frame received

    @property
    def reps(self) -> int:
        """Reps counted so far in the whole stream (the report holds only the buffer's)."""
        return self._judged

    @property
    def frames_seen(self) -> int:
        return self._dropped + len(self.frames)

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
        while (t_grid := self._t0 + self.frames_seen / self.fps) <= t_s:
            w = (t_grid - t_prev) / (t_s - t_prev)
            if w >= 1.0 - 1e-9:  # on a frame's own time: that frame, as it is (0 * NaN would blank it)
                self._append(image, world)
            else:
                self._append((1 - w) * im_prev + w * image, (1 - w) * wl_prev + w * world)
        self._last = (t_s, image, world)
        return self._evaluate(t0)

    def time_of_frame(self, frame: float) -> float | None:
        """push_at's time of a stream frame (None before the first frame)."""
        return None if self._t0 is None else self._t0 + frame / self.fps

    def _append(self, image: np.ndarray, world: np.ndarray | None) -> None:
        self.frames.append(np.asarray(image, np.float32))
        self.worlds.append(
            np.asarray(world, np.float32) if world is not None else np.full((33, 3), np.nan, np.float32)
        )
        keep = int(BUFFER_S * self.fps)
        if len(self.frames) > 2 * keep:  # memory stays bounded however long the stream
            gone = len(self.frames) - keep
            del self.frames[:gone], self.worlds[:gone]
            self._dropped += gone

    def _evaluate(self, t0: float) -> LiveState:
        keep = int(BUFFER_S * self.fps)
        start = max(self.frames_seen - keep, 0)
        lm = np.stack(self.frames[start - self._dropped :])
        wl = np.stack(self.worlds[start - self._dropped :])
        clip = LandmarkClip(lm, self.fps, "live", wl if np.isfinite(wl).any() else None)
        # judge only when a rep ends that was not counted before: the model runs once per rep. The report (and the
        # state's verdict and cue) stay those of the last judging until the next rep, not the count-only pass's
        counted = coach_clip(clip, self.exercise, None)
        new = [r for r in counted.reps if start + r.start_s * self.fps > self._last_rep_end - SAME_REP_FRAMES]
        if new:
            if self.model is not None:
                counted = coach_clip(clip, self.exercise, self.model, model_name=self.model_name)
            self.report, self.buffer_start = counted, start
            self._judged += len(new)
            self._last_rep_end = start + round(new[-1].end_s * self.fps)
        elif self.report is None or not self.report.reps:  # no rep yet: the report says why
            self.report, self.buffer_start = counted, start
        last = self.report.reps[-1] if self.report is not None and self.report.reps else None
        state = LiveState(
            reps=self._judged,
            last_verdict=last.verdict if last else None,
            last_cue=last.cue if last else None,
            message=(last.no_reading if last else counted.refused),
        )
        self.frame_to_cue_ms.append((time.perf_counter() - t0) * 1000.0)
        return state
