"""From landmark clips to model windows: the paper's 61 per-frame features, sliding windows, gap handling.

`WindowFeaturizer` is stateless (nothing is learnt from data); `FeatureScaler` is the learnt part and is
fitted on training windows only, scikit-learn style.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from liftsense.pose.angles import joint_angles
from liftsense.pose.gaps import GAP_POLICIES, GapCounts, interpolate_short_gaps, kept_valid_frames
from liftsense.pose.kinematics import KINEMATIC_NAMES, kinematic_cues
from liftsense.pose.landmarks import FEATURE_NAMES, KEPT_LANDMARKS, N_COORD_FEATURES
from liftsense.pose.normalize import NORMALIZATIONS, normalize_clip
from liftsense.pose.sequences import PoseSequences

log = logging.getLogger(__name__)


@dataclass
class FeatureConfig:
    normalization: str = "body"  # raw | body | canonical (see liftsense.pose.normalize)
    include_angles: bool = True
    kinematic: bool = False  # add the per-frame cues of liftsense.pose.kinematics (not in the paper)
    window: int = 15
    stride: int = 5
    per_exercise_window: dict[str, int] = field(default_factory=dict)
    gap_policy: str = "interpolate"  # interpolate | mask | drop
    max_gap: int = 5  # frames; longer gaps are never interpolated
    min_visibility: float = 0.5
    min_visible_fraction: float = 0.5  # of the 17 kept landmarks, per frame
    max_missing_fraction: float = 0.2  # mask policy: windows with more missing frames are dropped
    clip_resample: int = (
        0  # > 0: one window per clip, its valid frames resampled to this many (rep-level model)
    )

    def __post_init__(self) -> None:
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}")
        if self.gap_policy not in GAP_POLICIES:
            raise ValueError(f"gap_policy must be one of {GAP_POLICIES}, got {self.gap_policy!r}")
        if self.window < 1 or self.stride < 1:
            raise ValueError(f"window ({self.window}) and stride ({self.stride}) must be >= 1")
        self.per_exercise_window = dict(self.per_exercise_window)

    def window_for(self, exercise: str) -> int:
        return int(self.per_exercise_window.get(exercise, self.window))

    @property
    def max_window(self) -> int:
        if self.clip_resample > 0:
            return self.clip_resample
        return max([self.window, *self.per_exercise_window.values()])

    def feature_names(self) -> list[str]:
        names = list(FEATURE_NAMES if self.include_angles else FEATURE_NAMES[:N_COORD_FEATURES])
        if self.kinematic:
            names += [f"kin_{n}" for n in KINEMATIC_NAMES]
        if self.gap_policy == "mask":
            names.append("frame_valid")
        return names


@dataclass
class Windows:
    """Model-ready windows. `clip_index` points into the `PoseSequences` they came from."""

    x: np.ndarray  # (n, max_window, n_features) float32, left-padded with zeros for shorter windows
    clip_index: np.ndarray  # (n,) int
    start_frame: np.ndarray  # (n,) int
    counts: GapCounts

    def __len__(self) -> int:
        return len(self.x)


def sliding_starts(n_frames: int, window: int, stride: int) -> np.ndarray:
    """Start frames of every full window; none when the clip is shorter than one window."""
    if n_frames < window:
        return np.zeros(0, dtype=int)
    return np.arange(0, n_frames - window + 1, stride)


def frame_features(landmarks: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """(..., T, 33, 4) -> (..., T, 51 [+10]) per-frame features of one clip or of a batch of clips of the same
    length; invalid frames come out NaN."""
    return kept_frame_features(landmarks[..., KEPT_LANDMARKS, :3], cfg)


def kept_frame_features(kept_xyz: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """`frame_features` of landmarks already cut to the 17 kept ones, (..., T, 17, 3)."""
    if cfg.kinematic and kept_xyz.ndim > 3:
        return np.stack([kept_frame_features(c, cfg) for c in kept_xyz])
    xyz = kept_xyz.astype(np.float64, copy=False)
    normalized = normalize_clip(xyz, cfg.normalization)
    parts = [normalized.reshape(*xyz.shape[:-2], -1)]
    if cfg.include_angles:
        parts.append(joint_angles(xyz))
    if cfg.kinematic:
        # cues need body-relative coordinates whatever the coordinate choice for the model input
        body = normalized if cfg.normalization != "raw" else normalize_clip(xyz, "body")
        parts.append(np.stack(list(kinematic_cues(body).values()), axis=1))
    return np.concatenate(parts, axis=-1)


class WindowFeaturizer:
    """Turns `PoseSequences` into `Windows` according to a `FeatureConfig`."""

    def __init__(self, cfg: FeatureConfig) -> None:
        self.cfg = cfg

    def clip_windows(self, landmarks: np.ndarray, exercise: str) -> tuple[np.ndarray, np.ndarray, GapCounts]:
        """One clip's windows, their start frames and what the gap handling did."""
        x, _, starts, (counts,) = self.clips_windows(landmarks[None], exercise)
        return x, starts, counts

    def clips_windows(
        self, landmarks: np.ndarray, exercise: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[GapCounts]]:
        """The windows of n clips of the same length at once, (n, T, 33, 4): the windows, the clip each came from,
        its start frame, and what the gap handling did per clip. Array work over the whole batch, so that many
        short clips (the service's windows) cost little more than one long one."""
        cfg = self.cfg
        n_clips, n_frames = landmarks.shape[:2]
        # only the 17 kept landmarks are ever used: cut once, before any work over the frames
        kept = np.take(landmarks, KEPT_LANDMARKS, axis=-2)
        valid = kept_valid_frames(kept, cfg.min_visibility, cfg.min_visible_fraction)
        missing = (~valid).sum(axis=1)
        masked = kept[..., :3].astype(np.float64)
        masked[~valid] = np.nan  # a low-visibility frame is treated as missing, never trusted
        interpolated = np.zeros(n_clips, dtype=int)
        if cfg.gap_policy == "interpolate":
            for i in np.flatnonzero(~valid.all(axis=1) & valid.any(axis=1)):
                masked[i], now_valid = interpolate_short_gaps(masked[i], valid[i], cfg.max_gap)
                interpolated[i] = int((now_valid & ~valid[i]).sum())
                valid[i] = now_valid
        feats = kept_frame_features(masked, cfg)
        valid &= np.isfinite(feats).all(axis=-1)  # e.g. a zero-length segment gives no angle
        if cfg.clip_resample > 0:
            x, clip_index, counts = self._whole_clips(feats, valid)
            for c, m, k in zip(counts, missing.tolist(), interpolated.tolist(), strict=True):
                c.frames_missing, c.frames_interpolated = m, k
            return x, clip_index, np.zeros(len(x), int), counts
        window = cfg.window_for(exercise)
        starts = sliding_starts(n_frames, window, cfg.stride)
        bad_before = np.concatenate([np.zeros((n_clips, 1), int), np.cumsum(~valid, axis=1)], axis=1)
        n_bad = bad_before[:, starts + window] - bad_before[:, starts]  # (clips, windows)
        limit = cfg.max_missing_fraction * window if cfg.gap_policy == "mask" else 0
        keep = n_bad <= limit
        masked_frames = np.zeros(n_clips, dtype=int)
        if cfg.gap_policy == "mask":
            masked_frames = (~valid).sum(axis=1)
            feats = np.where(valid[..., None], feats, 0.0)
            feats = np.concatenate([feats, valid[..., None].astype(np.float64)], axis=-1)
        clip_index, start_index = np.nonzero(keep)
        kept_starts = starts[start_index]
        out = np.zeros((len(clip_index), cfg.max_window, feats.shape[-1]), dtype=np.float32)
        frames = kept_starts[:, None] + np.arange(window)
        out[:, cfg.max_window - window :] = feats[clip_index[:, None], frames]
        per_clip = zip(
            missing.tolist(),
            interpolated.tolist(),
            masked_frames.tolist(),
            (~keep).sum(axis=1).tolist(),
            strict=True,
        )
        counts = [
            GapCounts(
                frames=n_frames,
                frames_missing=m,
                frames_interpolated=k,
                frames_masked=f,
                windows=len(starts),
                windows_dropped=d,
                clips_without_window=int(len(starts) == 0),
            )
            for m, k, f, d in per_clip
        ]
        return out, clip_index, kept_starts, counts

    def _whole_clips(
        self, feats: np.ndarray, valid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[GapCounts]]:
        """`_whole_clip` of each clip, in clip order: (windows, the clip of each, counts per clip). The clips with
        every frame valid (nearly all) are resampled together, as the service's many short windows need; the
        others one by one."""
        n_clips, n_frames = valid.shape
        n = self.cfg.clip_resample
        counts = [GapCounts(frames=n_frames) for _ in range(n_clips)]
        x = np.zeros((n_clips, n, feats.shape[-1] + (self.cfg.gap_policy == "mask")), np.float32)
        kept = valid.all(axis=1) if n_frames >= max(3, n // 8) else np.zeros(n_clips, bool)
        if kept.any():
            t = np.linspace(0, n_frames - 1, n)
            lo = np.floor(t).astype(int)
            hi = np.minimum(lo + 1, n_frames - 1)
            w = (t - lo)[:, None]
            good = feats[kept]
            x[kept, :, : feats.shape[-1]] = (1 - w) * good[:, lo] + w * good[:, hi]
            if self.cfg.gap_policy == "mask":
                x[kept, :, -1] = 1.0
            for i in np.flatnonzero(kept):
                counts[i].windows = 1
        for i in np.flatnonzero(~kept):
            one, _, counts[i] = self._whole_clip(feats[i], valid[i], counts[i])
            kept[i] = len(one) == 1
            x[i, :, :] = one[0] if len(one) else 0.0
        return (x if kept.all() else x[kept]), np.flatnonzero(kept), counts

    def _whole_clip(
        self, feats: np.ndarray, valid: np.ndarray, counts: GapCounts
    ) -> tuple[np.ndarray, np.ndarray, GapCounts]:
        """The clip's valid frames, linearly resampled in time to `clip_resample` frames: one window per clip."""
        counts.windows = 1
        n = self.cfg.clip_resample
        if valid.sum() < max(3, n // 8):
            counts.windows_dropped = 1
            counts.clips_without_window = 1
            n_feat = feats.shape[1] + (
                self.cfg.gap_policy == "mask"
            )  # the validity column, as a kept clip has
            return np.zeros((0, n, n_feat), np.float32), np.zeros(0, int), counts
        good = feats[valid]
        t = np.linspace(0, len(good) - 1, n)
        lo = np.floor(t).astype(int)
        hi = np.minimum(lo + 1, len(good) - 1)
        w = (t - lo)[:, None]
        out = (1 - w) * good[lo] + w * good[hi]
        if self.cfg.gap_policy == "mask":
            out = np.concatenate([out, np.ones((n, 1))], axis=1)
        return out[None].astype(np.float32), np.zeros(1, int), counts

    def transform(self, seqs: PoseSequences) -> Windows:
        """Every clip's windows, in clip order; clips of the same length and window are featurised together."""
        lengths = seqs.lengths()
        exercises = seqs.meta["exercise"].astype(str).to_numpy()
        groups: dict[tuple[int, str], list[int]] = {}
        for i, (length, exercise) in enumerate(zip(lengths, exercises, strict=True)):
            groups.setdefault((int(length), exercise), []).append(i)
        per_clip: list[tuple[np.ndarray, np.ndarray]] = [None] * len(seqs)  # type: ignore[list-item]  # every slot is filled below
        total = GapCounts()
        for (length, exercise), members in groups.items():
            batch = (
                np.stack([seqs.clip(i) for i in members]) if length else np.zeros((len(members), 0, 33, 4))
            )
            x, clip_index, starts, counts = self.clips_windows(batch, exercise)
            bounds = np.searchsorted(clip_index, np.arange(len(members) + 1))  # clip_index is sorted
            for k, i in enumerate(members):
                mine = slice(bounds[k], bounds[k + 1])
                per_clip[i] = (x[mine], starts[mine])
                total.add(counts[k])
                if counts[k].windows_dropped:
                    total.per_clip_dropped[str(seqs.meta.at[i, "sequence_id"])] = counts[k].windows_dropped
        log.info("windows: %s", total.as_dict())
        if not len(seqs):
            n_feat = len(self.cfg.feature_names())
            empty = np.zeros(0, int)
            return Windows(np.zeros((0, self.cfg.max_window, n_feat), np.float32), empty, empty, total)
        return Windows(
            x=np.concatenate([x for x, _ in per_clip]),
            clip_index=np.concatenate([np.full(len(x), i) for i, (x, _) in enumerate(per_clip)]).astype(int),
            start_frame=np.concatenate([starts for _, starts in per_clip]).astype(int),
            counts=total,
        )


class FeatureScaler:
    """Per-feature standardisation, fitted on training windows only (padding zeros excluded)."""

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> FeatureScaler:
        frames = x.reshape(-1, x.shape[-1]).astype(np.float64)
        frames = frames[np.any(frames != 0, axis=1)]
        if len(frames) == 0:
            raise ValueError("cannot fit a scaler on zero frames")
        self.mean_ = frames.mean(axis=0)
        std = frames.std(axis=0)
        self.scale_ = np.where(std > 1e-8, std, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised float32 windows, padding frames (all zeros) left at zero. Worked in float32, in place: the
        float64 temporaries cost as much as the window network itself on a 256-window request."""
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError("FeatureScaler.transform called before fit")
        x = np.asarray(x, dtype=np.float32)
        out = np.subtract(x, self.mean_.astype(np.float32))
        out /= self.scale_.astype(np.float32)
        out[~np.any(x, axis=-1)] = 0.0
        return out

    def state(self) -> dict[str, list[float]]:
        assert self.mean_ is not None and self.scale_ is not None
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, list[float]]) -> FeatureScaler:
        s = cls()
        s.mean_ = np.asarray(state["mean"], dtype=np.float64)
        s.scale_ = np.asarray(state["scale"], dtype=np.float64)
        return s
