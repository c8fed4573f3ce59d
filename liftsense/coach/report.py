"""The coach's typed report: one row per rep, then the set summary; printable and JSON-able."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

#: what the lifter is told for a named fault (squat_3d's, exercise_correction's and the synthesiser's labels,
#: push-ups' "wrong")
CUES: dict[str, str] = {
    "no depth": "go deeper: hips to knee height",
    "insufficient_depth": "go deeper: hips to knee height",
    "heels lifting": "keep your heels down",
    "heels_lifting": "keep your heels down",
    "toes lifting": "keep your whole foot on the floor",
    "bending forward": "chest up, less forward lean",
    "excessive_forward_lean": "chest up, less forward lean",
    "forward_lean": "chest up, less forward lean",
    "knees caving": "push your knees out over your toes",
    "knees_caving": "push your knees out over your toes",
    "knee_caving": "push your knees out over your toes",
    "partial_range": "use the full range of motion",
    "small_range": "use the full range of motion",
    "low_knee": "lift the knee higher",
    "partial_lockout": "lock out fully at the top",
    "torso_swing": "keep your torso still",
    "elbow_drift": "keep your elbows by your sides",
    "lean_back": "stand tall: do not lean back to lift the weight",
    "knee_over_toe": "keep your front knee behind your toes",
    "hips_too_high": "lower your hips into a straight line",
    "hips_too_low": "lift your hips into a straight line",
    "incorrect": "check your form on this rep",
    "wrong": "keep a straight body line and go lower",
}


def cue_for(verdict: str | None) -> str | None:
    if verdict is None or verdict == "correct":
        return None
    return CUES.get(verdict, f"fix: {verdict.replace('_', ' ')}")


@dataclass
class RepReport:
    rep: int
    start_s: float
    end_s: float
    top_deg: float | None  # the driving angle at the start position
    bottom_deg: float | None  # ... and at the far point of the rep
    depth_hips_above_knees: float | None  # squats: leg lengths at the bottom (<= 0: hips at or below knees)
    down_s: float | None
    pause_s: float | None
    up_s: float | None
    verdict: str | None  # "correct", a fault name, or None (no reading)
    probability: float | None
    cue: str | None
    no_reading: str | None = None  # why there is no verdict
    features_outside_training_range: float | None = (
        None  # share of the model's features outside its training range
    )


@dataclass
class SetSummary:
    reps: int
    judged: int
    mean_down_s: float | None
    mean_pause_s: float | None
    mean_up_s: float | None
    faults: dict[str, int]
    correct: int


@dataclass
class CoachReport:
    source: str
    exercise: str
    fps: float
    frames: int
    duration_s: float
    driving_signal: str
    model: str | None
    reps: list[RepReport] = field(default_factory=list)
    summary: SetSummary | None = None
    refused: str | None = None  # the whole clip is not judged (not this exercise, no person...)
    warnings: list[str] = field(default_factory=list)

    def summarise(self) -> CoachReport:
        def mean(key: str) -> float | None:
            vals = [getattr(r, key) for r in self.reps if getattr(r, key) is not None]
            return round(float(np.mean(vals)), 2) if vals else None

        judged = [r for r in self.reps if r.verdict is not None]
        self.summary = SetSummary(
            reps=len(self.reps),
            judged=len(judged),
            mean_down_s=mean("down_s"),
            mean_pause_s=mean("pause_s"),
            mean_up_s=mean("up_s"),
            faults=dict(Counter(r.verdict for r in judged if r.verdict != "correct")),
            correct=sum(r.verdict == "correct" for r in judged),
        )
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def text(self) -> str:
        """The terminal view: a header, a row per rep, the set summary, warnings."""
        head = f"{self.source}: {self.exercise}, {self.duration_s:.1f} s, {self.frames} frames at {self.fps:.0f} fps"
        lines = [head + (f", model {self.model}" if self.model else ", no form model")]
        if self.refused:
            lines.append(f"  no reading: {self.refused}")
        if self.reps:
            lines.append(
                f"  {'rep':>3} {'start':>6} {'end':>6} {'top':>5} {'bottom':>6} {'depth':>6} "
                f"{'down':>5} {'pause':>5} {'up':>5}  verdict"
            )
        for r in self.reps:
            verdict = (
                f"{r.verdict} ({r.probability:.2f})" + (f": {r.cue}" if r.cue else "")
                if r.verdict is not None
                else f"no reading: {r.no_reading}"
            )
            lines.append(
                f"  {r.rep:>3} {r.start_s:>6.2f} {r.end_s:>6.2f} {_num(r.top_deg, 5, 0)} {_num(r.bottom_deg, 6, 0)} "
                f"{_num(r.depth_hips_above_knees, 6, 2)} {_num(r.down_s, 5, 2)} {_num(r.pause_s, 5, 2)} "
                f"{_num(r.up_s, 5, 2)}  {verdict}"
            )
        if self.summary is not None and not self.refused:
            s = self.summary
            faults = ", ".join(f"{k} x{v}" for k, v in s.faults.items()) or "none"
            lines.append(
                f"  set: {s.reps} reps, {s.judged} judged ({s.correct} correct); tempo down/pause/up "
                f"{_num(s.mean_down_s, 0, 2).strip()}/{_num(s.mean_pause_s, 0, 2).strip()}/"
                f"{_num(s.mean_up_s, 0, 2).strip()} s; faults: {faults}"
            )
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _num(x: float | None, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if x is None else f"{x:>{width}.{digits}f}"
