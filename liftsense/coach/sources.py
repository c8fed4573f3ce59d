"""What the coach reads: a video, an image folder or a landmark table, each as landmark clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liftsense.coach.coach import LandmarkClip

TABLE_EXTENSIONS = frozenset({".csv", ".parquet"})


def read_clips(
    source: Path, max_frames: int | None = None, progress: bool = False
) -> tuple[list[LandmarkClip], list[str]]:
    """Landmark clips of one source (a table may hold several sets) and the problems met on the way.

    Raises `ExtractionError` / `LandmarkTableError` with a message naming the source when nothing can be read.
    """
    if source.suffix.lower() in TABLE_EXTENSIONS and source.is_file():
        return _table_clips(source), []
    from liftsense.pose.extract import extract_any

    ext, problems = extract_any(source, max_frames, progress)
    return [LandmarkClip(ext.landmarks, ext.fps, str(source), ext.world)], problems


def _table_clips(path: Path) -> list[LandmarkClip]:
    from liftsense.pose.table import LANDMARK_COLUMNS, read_table, world_landmarks

    df = read_table(path).sort_values(["sequence_id", "frame_index"], kind="stable")
    clips = []
    for seq_id, frames in df.groupby("sequence_id", sort=False):
        ts = frames["timestamp_s"].diff().dropna()
        fps = float(1.0 / ts.median()) if len(ts) and ts.median() > 0 else 30.0
        lm = frames[list(LANDMARK_COLUMNS)].to_numpy(np.float32).reshape(-1, 33, 4)
        clips.append(LandmarkClip(lm, fps, f"{path}:{seq_id}", world_landmarks(frames)))
    return clips
