"""`PoseSequences`: a set of labelled landmark clips, stored flat (frames concatenated, clip offsets).

Every data source (the synthesiser, the real datasets, the landmark-table files that the extraction CLI
writes) becomes one of these, so features, splits and training never care where the data came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from liftsense.pose.landmarks import N_BLAZEPOSE

#: One row per clip. `label` is "correct" or a fault name; `group` is what splits must keep together.
META_COLUMNS = ("sequence_id", "exercise", "label", "correct", "group")


@dataclass
class PoseSequences:
    """Clips of 33 BlazePose landmarks × (x, y, z, visibility); NaN rows mark frames with no detection."""

    landmarks: np.ndarray  # (total_frames, 33, 4) float32
    offsets: np.ndarray  # (n_clips + 1,) int64; clip i is landmarks[offsets[i]:offsets[i+1]]
    #: one row per clip, META_COLUMNS at least. Also given as its columns (a dict of lists): the table is then
    #: built when first read, and `column` reads them without it (the coach judges a set without the table:
    #: building it took a tenth of a judged set)
    meta: pd.DataFrame
    fps: float = 30.0
    source: str = "unknown"
    #: per exercise, the kept landmarks this source never records (a dataset that saved only some joints):
    #: features and gates then know the NaN there is by design, not a failed detection
    absent: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.meta, dict):
            self._meta_columns = self.__dict__.pop("meta")  # read through __getattr__, built on first use
        if self.landmarks.ndim != 3 or self.landmarks.shape[1:] != (N_BLAZEPOSE, 4):
            raise ValueError(f"landmarks must be (frames, {N_BLAZEPOSE}, 4), got {self.landmarks.shape}")
        if (
            self.offsets[0] != 0
            or self.offsets[-1] != len(self.landmarks)
            or np.any(np.diff(self.offsets) < 0)
        ):
            raise ValueError("offsets must start at 0, end at the frame count and never decrease")
        columns = self.__dict__.get("_meta_columns")
        rows = len(self.meta) if columns is None else len(next(iter(columns.values()), ()))
        if rows != len(self.offsets) - 1 or (columns and len({len(v) for v in columns.values()}) > 1):
            raise ValueError(f"{rows} metadata rows for {len(self.offsets) - 1} clips")
        missing = [c for c in META_COLUMNS if c not in (self.meta.columns if columns is None else columns)]
        if missing:
            raise ValueError(f"clip metadata lacks columns {missing}")
        if columns is None:
            self.meta = self.meta.reset_index(drop=True)

    def __getattr__(self, name: str):
        """`meta` given as columns: the table, built once, now (only missing attributes come here)."""
        columns = self.__dict__.get("_meta_columns")
        if name != "meta" or columns is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self.meta = pd.DataFrame(columns, dtype=object)
        return self.meta

    def column(self, name: str) -> np.ndarray:
        """One metadata column as an array, without building the table when it was given as columns."""
        columns = self.__dict__.get("_meta_columns")
        if columns is not None and "meta" not in self.__dict__:
            return np.asarray(columns[name], dtype=object)
        return self.meta[name].to_numpy()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def clip(self, i: int) -> np.ndarray:
        return self.landmarks[self.offsets[i] : self.offsets[i + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def subset(self, indices: np.ndarray | list[int]) -> PoseSequences:
        """The clips at `indices`, in that order (used by splits and per-exercise filters)."""
        idx = np.asarray(indices, dtype=int)
        parts = [self.clip(i) for i in idx]
        lengths = np.array([len(p) for p in parts], dtype=np.int64)
        landmarks = np.concatenate(parts) if parts else np.zeros((0, N_BLAZEPOSE, 4), np.float32)
        return PoseSequences(
            landmarks=landmarks,
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            meta=self.meta.iloc[idx].reset_index(drop=True),
            fps=self.fps,
            source=self.source,
            absent=self.absent,
        )

    @staticmethod
    def from_clips(
        clips: list[np.ndarray], meta: pd.DataFrame | dict[str, list], fps: float, source: str
    ) -> PoseSequences:
        lengths = np.array([len(c) for c in clips], dtype=np.int64)
        return PoseSequences(
            landmarks=np.concatenate(clips, dtype=np.float32),
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            meta=meta,
            fps=fps,
            source=source,
        )

    def declare_absent(self) -> None:
        """Record, per exercise, the kept landmarks that no frame of any of its clips holds."""
        from liftsense.pose.landmarks import KEPT_LANDMARKS, KEPT_NAMES

        clip = np.repeat(np.arange(len(self)), self.lengths())
        exercise = self.meta["exercise"].astype(str).to_numpy()
        self.absent = {}
        for name in dict.fromkeys(exercise):
            frames = self.landmarks[np.isin(clip, np.flatnonzero(exercise == name))][
                :, list(KEPT_LANDMARKS), 0
            ]
            never = ~np.isfinite(frames).any(axis=0)
            if never.any():
                self.absent[name] = tuple(n for n, gone in zip(KEPT_NAMES, never, strict=True) if gone)

    def summary(self) -> dict[str, int | float]:
        missing = np.isnan(self.landmarks[:, :, 0]).all(axis=1)
        return {
            "clips": len(self),
            "frames": len(self.landmarks),
            "frames_missing": int(missing.sum()),
            "groups": int(self.meta["group"].nunique()),
            "correct_fraction": float(self.meta["correct"].mean()) if len(self) else float("nan"),
        }
