"""Assemble the built-in dataset: subjects, clips, reps, camera and noise, all from one seed."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from liftsense.pose.sequences import PoseSequences
from liftsense.pose.synth.camera import Camera, add_sensor_noise
from liftsense.pose.synth.faults import EXERCISES, FAULTS
from liftsense.pose.synth.programs import PROGRAMS
from liftsense.pose.synth.skeleton import Body, build_landmarks

SIDE_VIEW_EXERCISES = frozenset({"leg_raise"})


@dataclass
class SynthConfig:
    seed: int = 0
    clips_per_exercise: int = 384  # conf/data/builtin.yaml
    subjects: int = 24
    correct_fraction: float = 0.25  # the paper's roughly 1:3 correct:incorrect balance
    fps: float = 30.0
    reps: tuple[int, int] = (2, 5)
    rep_seconds: tuple[float, float] = (1.4, 3.6)
    rom_jitter: float = 0.08  # per-rep range-of-motion variation
    dropout_rate: float = 0.01
    exercises: list[str] = field(default_factory=lambda: list(EXERCISES))


def rep_phase(rng: np.random.Generator, cfg: SynthConfig) -> tuple[np.ndarray, np.ndarray]:
    """Phase p(t) in [0, 1] and the alternating side (+1 left, -1 right) of each frame."""
    p, sides, _ = rep_phase_with_reps(rng, cfg)
    return p, sides


def rep_phase_with_reps(
    rng: np.random.Generator, cfg: SynthConfig
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
    """`rep_phase` plus the truth of each rep: (first frame of the way down, first frame at the far point,
    last frame of the way back), so rep counting and boundaries can be checked exactly."""
    n_reps = int(rng.integers(cfg.reps[0], cfg.reps[1] + 1))
    base = rng.uniform(*cfg.rep_seconds)
    phases, sides = [np.zeros(int(rng.uniform(0.3, 1.0) * cfg.fps))], [np.ones(0)]
    sides[0] = np.ones(len(phases[0]))
    first_side = rng.choice([-1.0, 1.0])
    reps: list[tuple[int, int, int]] = []
    for r in range(n_reps):
        dur = base * rng.uniform(0.85, 1.15)
        down = max(int(dur * rng.uniform(0.4, 0.6) * cfg.fps), 4)
        hold = int(rng.uniform(0.0, 0.3) * cfg.fps)
        up = max(int(dur * cfg.fps) - down, 4)
        amp = 1.0 + rng.normal(0, cfg.rom_jitter)
        seg = (
            np.concatenate(
                [
                    (1 - np.cos(np.linspace(0, np.pi, down))) / 2,
                    np.ones(hold),
                    (1 + np.cos(np.linspace(0, np.pi, up))) / 2,
                    np.zeros(int(rng.uniform(0.0, 0.4) * cfg.fps)),
                ]
            )
            * amp
        )
        start = sum(len(x) for x in phases)
        reps.append((start, start + down - 1, start + down + hold + up - 1))
        phases.append(seg)
        sides.append(np.full(len(seg), first_side * (1 if r % 2 == 0 else -1)))
    tail = np.zeros(int(rng.uniform(0.3, 1.0) * cfg.fps))
    phases.append(tail)
    sides.append(np.full(len(tail), sides[-1][-1] if len(sides[-1]) else 1.0))
    return np.clip(np.concatenate(phases), 0, 1.2), np.concatenate(sides), reps


def _habit(rng: np.random.Generator) -> dict:
    return {
        "stance": rng.uniform(0.18, 0.26),
        "lean": rng.uniform(-3, 6),
        "toe_out": rng.uniform(3, 20),
        "knee": rng.uniform(-3, 4),
    }


def synth_clip(
    cfg: SynthConfig,
    subjects: list[tuple[Body, dict]],
    exercise: str,
    k: int,
    label: str,
    still: bool = False,
) -> tuple[np.ndarray, int, list[tuple[int, int, int]]]:
    """Clip `k` of an exercise: (frames, 33, 4) image landmarks, its subject and its reps' true frames.

    `still`: the lifter holds the start position for the whole clip (no reps), seen through the same camera
    and sensor noise: what a rep counter must not count.
    """
    clip_rng = np.random.default_rng([cfg.seed, EXERCISES.index(exercise), k])
    subject = int(clip_rng.integers(cfg.subjects))
    body, habit = subjects[subject]
    p, side, reps = rep_phase_with_reps(clip_rng, cfg)
    if still:
        p, reps = np.zeros_like(p), []
    pose = PROGRAMS[exercise](p, side, body, clip_rng, None if label == "correct" else label, habit)
    world = build_landmarks(body, pose)
    cam = Camera.sample(clip_rng, side_view=exercise in SIDE_VIEW_EXERCISES)
    return add_sensor_noise(cam.project(world), cam, clip_rng, cfg.dropout_rate), subject, reps


def synth_subjects(cfg: SynthConfig) -> list[tuple[Body, dict]]:
    """The config's subjects (body and habits), drawn first from the config's seed."""
    rng = np.random.default_rng(cfg.seed)
    return [(Body.sample(rng), _habit(rng)) for _ in range(cfg.subjects)]


def generate(cfg: SynthConfig | None = None) -> PoseSequences:
    """Deterministic for a given config: the same seed gives the same bytes."""
    cfg = cfg or SynthConfig()
    subjects = synth_subjects(cfg)
    clips, rows = [], []
    for exercise in cfg.exercises:
        faults = [f.name for f in FAULTS[exercise]]
        n_correct = round(cfg.clips_per_exercise * cfg.correct_fraction)
        labels = ["correct"] * n_correct + [
            faults[k % len(faults)] for k in range(cfg.clips_per_exercise - n_correct)
        ]
        for k, label in enumerate(labels):
            clip, subject, _ = synth_clip(cfg, subjects, exercise, k, label)
            clips.append(clip)
            rows.append(
                {
                    "sequence_id": f"synth_{exercise}_{k:03d}",
                    "exercise": exercise,
                    "label": label,
                    "correct": label == "correct",
                    "group": f"subject_{subject:02d}",
                }
            )
    return PoseSequences.from_clips(
        clips, pd.DataFrame(rows), fps=cfg.fps, source=f"synthetic(seed={cfg.seed})"
    )
