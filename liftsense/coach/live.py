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

    def push(self, image: np.ndarray, world: np.ndarray | None = None) -> LiveState:
        t0 = time.perf_counter()
        self.frames.append(image)
        self.worlds.append(world if world is not None else np.full((33, 3), np.nan, np.float32))
        keep = int(BUFFER_S * self.fps)
        lm = np.stack(self.frames[-keep:])
        wl = np.stack(self.worlds[-keep:])
        clip = LandmarkClip(lm, self.fps, "live", wl if np.isfinite(wl).any() else None)
        # judge only when the number of complete reps grows: the model runs once per rep
        counted = coach_clip(clip, self.exercise, None)
        if len(counted.reps) > self._judged and self.model is not None:
            counted = coach_clip(clip, self.exercise, self.model, model_name=self.model_name)
        self._judged = max(self._judged, len(counted.reps))
        self.report = counted
        last = counted.reps[-1] if counted.reps else None
        state = LiveState(
            reps=self._judged,
            last_verdict=last.verdict if last else None,
            last_cue=last.cue if last else None,
            message=(last.no_reading if last else counted.refused),
        )
        self.frame_to_cue_ms.append((time.perf_counter() - t0) * 1000.0)
        return state
