"""The coach: a landmark clip of one set in, a per-rep report out (count, range of motion, tempo, verdict).

`coach_clip` is the one function the CLI, `training/evaluate.py` and the service call. It needs no MLflow,
Hydra or server: the form model is passed in (see `load_form_model`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from liftsense.coach.exercises import RepSignal, driving_signal, rep_signal_of
from liftsense.coach.report import CoachReport, RepReport, cue_for
from liftsense.coach.segment import Rep, segment_reps
from liftsense.pose.gaps import valid_frames
from liftsense.pose.landmarks import BP, KEPT_LANDMARKS
from liftsense.pose.normalize import world_clip
from liftsense.pose.sequences import PoseSequences
from liftsense.pose.series_stats import finite_median, nan_percentiles

#: frames of standing kept around each rep when it is judged (the clip models compare bottom with standing)
JUDGE_MARGIN_S = 0.3
#: a rep whose driving landmarks are out of view for more than this share of it gets no verdict
MAX_MISSING_SHARE = 0.3
MIN_TRACKED_FRAMES = 5
#: a long clip in which the tracked body moves less than this (torso lengths) is probably someone standing by
STILL_BODY_TORSO = 0.15
STILL_BODY_MIN_S = 8.0


@dataclass
class LandmarkClip:
    """One set as BlazePose landmarks: image (frames, 33, 4) and, when extracted, world (frames, 33, 3) metres."""

    landmarks: np.ndarray
    fps: float
    source: str
    world: np.ndarray | None = None
    _world_clip: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.landmarks.ndim != 3 or self.landmarks.shape[1:] != (33, 4):
            raise ValueError(f"{self.source}: landmarks must be (frames, 33, 4), got {self.landmarks.shape}")
        if self.world is not None and self.world.shape != (len(self.landmarks), 33, 3):
            raise ValueError(f"{self.source}: world landmarks must be ({len(self.landmarks)}, 33, 3)")
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise ValueError(f"{self.source}: frame rate must be positive, got {self.fps}")

    def world_or_image(self) -> np.ndarray:
        """(frames, 33, 4): world coordinates (`pose.normalize.world_clip`) with the image visibility when
        there are any, else the image landmarks. Computed once per clip (depth and judging both read it)."""
        if self.world is None:
            return self.landmarks
        if self._world_clip is None:
            self._world_clip = world_clip(self.world, self.landmarks, self.fps)
        return self._world_clip


def _trunk_vectors(landmarks: np.ndarray) -> np.ndarray | None:
    """Hips -> shoulders midpoints in the picture (x right, y down), detected frames only; None under 3."""
    mid = {
        p: 0.5 * (landmarks[:, BP[f"left_{p}"], :2] + landmarks[:, BP[f"right_{p}"], :2])
        for p in ("hip", "shoulder")
    }
    trunk = mid["shoulder"] - mid["hip"]
    ok = np.isfinite(trunk).all(axis=1) & (np.linalg.norm(trunk, axis=1) > 0)
    return trunk[ok] if ok.sum() >= 3 else None


def _trunk_from_vertical(landmarks: np.ndarray) -> float | None:
    """Median angle (degrees) between the trunk (hips -> shoulders) and the image vertical over detected frames."""
    trunk = _trunk_vectors(landmarks)
    if trunk is None:
        return None
    return finite_median(np.degrees(np.arctan2(np.abs(trunk[:, 0]), np.abs(trunk[:, 1]))))  # finite frames


def _trunk_direction(landmarks: np.ndarray) -> np.ndarray | None:
    """Median unit vector hips -> shoulders in the picture (x right, y down) over detected frames."""
    trunk = _trunk_vectors(landmarks)
    if trunk is None:
        return None
    d = np.median(trunk / np.linalg.norm(trunk, axis=1, keepdims=True), axis=0)
    return d / np.linalg.norm(d) if np.linalg.norm(d) > 0 else None


#: quarter turns of the picture, clockwise: (image x, y) and (world x, y) of a point after the turn
_TURNS = {
    90: (lambda x, y: (1 - y, x), lambda x, y: (-y, x)),
    180: (lambda x, y: (1 - x, 1 - y), lambda x, y: (-x, -y)),
    270: (lambda x, y: (y, 1 - x), lambda x, y: (y, -x)),
}


def upright_turn(clip: LandmarkClip) -> int:
    """The clockwise quarter turns (degrees) that would make the trunk point up in the picture; 0 if it does."""
    d = _trunk_direction(clip.landmarks)
    if d is None or -d[1] >= np.cos(np.radians(45)):
        return 0
    return 180 if d[1] > abs(d[0]) else (270 if d[0] > 0 else 90)


def turn_clip(clip: LandmarkClip, degrees: int) -> LandmarkClip:
    """The clip as seen in the picture turned clockwise by `degrees` (0, 90, 180 or 270).

    For a video filmed turned without a rotation flag (OpenCV applies the flag when there is one): its landmarks
    are turned, not the video, so nothing is extracted twice.
    """
    if degrees % 360 == 0:
        return clip
    if degrees % 360 not in _TURNS:
        raise ValueError(f"a picture turns by 90, 180 or 270 degrees, not {degrees}")
    image_turn, world_turn = _TURNS[degrees % 360]
    lm = clip.landmarks.copy()
    lm[..., 0], lm[..., 1] = image_turn(clip.landmarks[..., 0], clip.landmarks[..., 1])
    world = None
    if clip.world is not None:
        world = clip.world.copy()
        world[..., 0], world[..., 1] = world_turn(clip.world[..., 0], clip.world[..., 1])
    return LandmarkClip(lm, clip.fps, clip.source, world)


def check_exercise(clip: LandmarkClip, spec: RepSignal) -> str | None:
    """Why this clip does not show the named exercise (the body lies wrong for it), or None."""
    if spec.posture == "any":
        return None
    angle = _trunk_from_vertical(clip.landmarks)
    if angle is None:
        return None
    name = spec.exercise.replace("_", " ")
    if spec.posture == "upright" and angle > 50:
        return f"not a {name}: the body is horizontal in most frames (trunk {angle:.0f} degrees from upright; a push-up or a plank?)"
    if spec.posture == "horizontal" and angle < 40:
        return f"not a {name}: the body is upright in most frames (trunk {angle:.0f} degrees from upright)"
    return None


def _still_body(clip: LandmarkClip) -> str | None:
    duration = len(clip.landmarks) / clip.fps
    kept = clip.landmarks[:, KEPT_LANDMARKS, :2]
    ok = np.isfinite(kept.reshape(len(kept), -1)).all(axis=1)
    if duration < STILL_BODY_MIN_S or ok.sum() < 10:
        return None
    k = kept[ok]
    torso = finite_median(np.linalg.norm(k[:, 1] - k[:, 7], axis=1))  # left shoulder to left hip
    p5, p95 = nan_percentiles(k.reshape(len(k), -1), [5, 95]).reshape(2, *k.shape[1:])
    spread = p95 - p5
    moved = float(np.max(np.linalg.norm(spread, axis=-1)) / max(torso, 1e-6))
    if moved < STILL_BODY_TORSO:
        return (
            f"the tracked body barely moves in {duration:.0f} s (at most {moved:.2f} torso lengths): "
            "the person tracked may not be the one exercising"
        )
    return None


def _depth(xyz: np.ndarray) -> float | None:
    """Squats: hips above knees at the bottom, in standing leg lengths, in the lifter's floor frame."""
    from liftsense.pose.rep_features import floor_frame, standing_series

    finite = np.isfinite(xyz).all(axis=(1, 2))
    if finite.sum() < MIN_TRACKED_FRAMES:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            f = floor_frame(xyz[finite])
        except ValueError:
            return None
        above = standing_series(f)["hip_above_knee"]
    return float(np.nanmin(above)) if np.isfinite(above).any() else None


def _window(rep: Rep, fps: float, n: int) -> slice:
    margin = int(np.rint(JUDGE_MARGIN_S * fps))
    return slice(max(rep.start - margin, 0), min(rep.end + margin + 1, n))


def _rep_rows(clip: LandmarkClip, spec: RepSignal, reps: list[Rep], smooth: np.ndarray) -> list[RepReport]:
    rows = []
    coords = clip.world_or_image() if spec.exercise == "squat" else None  # depth is measured for squats only
    for k, rep in enumerate(reps, start=1):
        top = np.nanmean([smooth[rep.start], smooth[rep.end]])
        depth = None
        if coords is not None:
            depth = _depth(
                coords[_window(rep, clip.fps, len(coords))][:, KEPT_LANDMARKS, :3].astype(np.float64)
            )
        n = rep.end - rep.start + 1
        no_reading = None
        if rep.missing_frames > MAX_MISSING_SHARE * n:
            no_reading = (
                f"the driving landmarks were out of view for {rep.missing_frames / clip.fps:.1f} s of this "
                f"{n / clip.fps:.1f} s rep"
            )
        rows.append(
            RepReport(
                rep=k,
                start_s=round(rep.start / clip.fps, 3),
                end_s=round(rep.end / clip.fps, 3),
                top_deg=_round(top, 1),
                bottom_deg=_round(smooth[rep.far], 1),
                depth_hips_above_knees=_round(depth, 3),
                down_s=round((rep.far_enter - rep.start) / clip.fps, 2),
                pause_s=round((rep.far_leave - rep.far_enter) / clip.fps, 2),
                up_s=round((rep.end - rep.far_leave) / clip.fps, 2),
                verdict=None,
                probability=None,
                cue=None,
                no_reading=no_reading,
            )
        )
    return rows


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def rep_clips(
    clip: LandmarkClip, reps: list[Rep], exercise: str, coordinates: str = "image"
) -> PoseSequences:
    """Each rep (with a little standing around it) as one clip, as the form models are trained on."""
    source = clip.world_or_image() if coordinates == "world" else clip.landmarks
    parts = [source[_window(r, clip.fps, len(source))] for r in reps]
    n = len(reps)
    meta = {  # as columns: a form model reads the exercise without the table (built only if read)
        "sequence_id": [f"{clip.source}#rep{k + 1}" for k in range(n)],
        "exercise": [exercise] * n,
        "label": ["unknown"] * n,
        "correct": [False] * n,
        "group": [clip.source] * n,
    }
    return PoseSequences.from_clips(parts, meta, fps=clip.fps, source=clip.source)


def segment(clip: LandmarkClip, exercise: str):
    """(spec, segmentation, signal name) of a clip: the reps the coach will report."""
    spec = rep_signal_of(exercise)
    signal, name = driving_signal(clip.landmarks, spec, world=clip.world)
    return spec, segment_reps(signal, clip.fps, spec), name


def coach_clip(
    clip: LandmarkClip,
    exercise: str,
    model=None,
    references: LandmarkClip | None = None,
    model_name: str | None = None,
    rotate: int = 0,
) -> CoachReport:
    """Count, measure and judge every rep of one set.

    `model`: a form model (a `ClipFormModel`, or a window network with its saved preprocessing), or None for
    counts, range of motion and tempo only. `references`: a clip of the lifter's own good reps, for a
    calibrated model. `rotate`: turn the picture clockwise first (90, 180, 270: a video filmed turned without a
    rotation flag). Bad input never raises here: it becomes a refusal or a per-rep "no reading" with the reason.
    """
    spec = rep_signal_of(exercise)
    n = len(clip.landmarks)
    report = CoachReport(
        source=clip.source,
        exercise=spec.exercise,
        fps=float(clip.fps),
        frames=n,
        duration_s=round(n / clip.fps, 3),
        driving_signal=spec.signal,
        model=model_name,
    )
    if n < 2:
        report.refused = f"a clip of {n} frame{'s' if n != 1 else ''} holds no rep"
        return report.summarise()
    if not (np.isfinite(clip.landmarks[..., 0]) & np.isfinite(clip.landmarks[..., 1])).any():  # any x and y
        report.refused = f"no person detected in any of the {n} frames"
        return report.summarise()
    clip = turn_clip(clip, rotate)
    refusal = check_exercise(clip, spec)
    if refusal and spec.posture == "upright" and (turn := upright_turn(clip)):
        refusal += f"; if the video was filmed turned, --rotate {turn} stands the lifter up"
    if refusal:
        report.refused = refusal
        return report.summarise()
    spec, seg, signal_name = segment(clip, spec.exercise)
    report.driving_signal = signal_name
    if seg.too_short:
        report.warnings.append(
            f"{seg.too_short} movement(s) shorter than {spec.min_rep_s} s not counted as reps"
        )
    if (still := _still_body(clip)) is not None:
        report.warnings.append(still)
    if not seg.reps:
        report.refused = seg.reason or "no complete rep found"
        return report.summarise()
    report.reps = _rep_rows(clip, spec, seg.reps, seg.signal)
    if model is None:
        for r in report.reps:
            r.no_reading = r.no_reading or "no form model"
        return report.summarise()
    try:
        _judge(report, clip, seg.reps, spec.exercise, model, references)
    except ValueError as exc:  # e.g. references missing for a calibrated model: the reps still stand
        for r in report.reps:
            r.no_reading = r.no_reading or str(exc)
    return report.summarise()


def _judge(report: CoachReport, clip, reps: list[Rep], exercise: str, model, references) -> None:
    from liftsense.models.clip_model import ClipFormModel

    if isinstance(model, ClipFormModel):
        coordinates = getattr(model, "coordinates", "image")
        if coordinates == "world" and clip.world is None:
            report.warnings.append(
                "the form model was trained on 3-D joints but this clip has no world landmarks: judged on "
                "image landmarks, expect a distribution shift (extract again to get world landmarks)"
            )
        seqs = rep_clips(clip, reps, exercise, coordinates)
        refs = None
        if references is not None:
            _, ref_seg, _ = segment(references, exercise)
            ref_reps = ref_seg.reps or [Rep(0, 0, len(references.landmarks) - 1, 0, 0, 0)]
            refs = rep_clips(references, ref_reps, exercise, coordinates)
        proba, outside = model.predict_proba_and_shift(seqs, references=refs)
        classes = list(model.classes)
    else:
        from liftsense.pipelines.posture import window_model_clip_proba

        proba, classes = window_model_clip_proba(model, rep_clips(clip, reps, exercise))
        outside = np.full(len(reps), np.nan)
    for r, p, out in zip(report.reps, proba, outside, strict=True):
        r.features_outside_training_range = _round(out, 3)
        if r.no_reading:
            continue
        if not np.isfinite(p).all():
            tracked = valid_frames(seqs.clip(r.rep - 1), 0.5).sum() if isinstance(model, ClipFormModel) else 0
            r.no_reading = (
                f"too few tracked frames in this rep ({tracked}; the model needs {MIN_TRACKED_FRAMES})"
            )
            continue
        best = int(np.argmax(p))
        bar = float(getattr(model, "sure_probability_", 0.0) or 0.0)
        if p[best] < bar:  # the model abstains: a guess this weak would nag or reassure wrongly
            r.no_reading = (
                f"not sure: the best guess, {classes[best]} at {p[best]:.2f}, is below this model's "
                f"confidence bar of {bar:.2f}"
            )
            continue
        r.verdict, r.probability = classes[best], round(float(p[best]), 3)
        r.cue = cue_for(r.verdict)
