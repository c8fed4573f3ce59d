"""The LiftSense landmark table: the file format the extraction CLI writes and training reads.

One row per frame, in a CSV or Parquet file (chosen by extension):

| column | meaning |
|---|---|
| `sequence_id` | clip name (str); rows of one clip are contiguous or sorted by `frame_index` |
| `frame_index` | 0-based frame number within the clip (int) |
| `timestamp_s` | seconds from the clip start (float) |
| `<landmark>_x`, `_y` | BlazePose image coordinates normalised to [0, 1] by width and height |
| `<landmark>_z` | BlazePose depth, roughly the scale of x, origin at the hips (smaller is nearer) |
| `<landmark>_visibility` | BlazePose visibility in [0, 1] |
| `world_<landmark>_x`, `_y`, `_z` | optional: BlazePose world landmarks, metres, origin between the hips |
| `exercise`, `label`, `group` | optional, constant per clip: exercise name, "correct" or a fault name, split group |

`<landmark>` runs over the 33 BlazePose names in `liftsense.pose.landmarks.BLAZEPOSE_NAMES`.
A frame with no person detected keeps its row with empty (NaN) coordinates and visibility: data is never dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from liftsense.pose.landmarks import BLAZEPOSE_NAMES, N_BLAZEPOSE
from liftsense.pose.normalize import world_clip
from liftsense.pose.sequences import PoseSequences

LANDMARK_COLUMNS: tuple[str, ...] = tuple(
    f"{name}_{c}" for name in BLAZEPOSE_NAMES for c in ("x", "y", "z", "visibility")
)
WORLD_COLUMNS: tuple[str, ...] = tuple(f"world_{name}_{c}" for name in BLAZEPOSE_NAMES for c in "xyz")
INDEX_COLUMNS = ("sequence_id", "frame_index", "timestamp_s")
LABEL_COLUMNS = ("exercise", "label", "group")


class LandmarkTableError(ValueError):
    """A landmark table that cannot be read as one; the message names the file and the problem."""


def frames_to_table(
    sequence_id: str, landmarks: np.ndarray, fps: float, world: np.ndarray | None = None, **labels: str
) -> pd.DataFrame:
    """One clip's (frames, 33, 4) landmarks (and (frames, 33, 3) world landmarks, if any) as table rows."""
    n = len(landmarks)
    df = pd.DataFrame(landmarks.reshape(n, N_BLAZEPOSE * 4), columns=list(LANDMARK_COLUMNS))
    if world is not None:
        if world.shape != (n, N_BLAZEPOSE, 3):
            raise ValueError(f"world landmarks must be ({n}, {N_BLAZEPOSE}, 3), got {world.shape}")
        df = pd.concat(
            [df, pd.DataFrame(world.reshape(n, N_BLAZEPOSE * 3), columns=list(WORLD_COLUMNS))], axis=1
        )
    df.insert(0, "timestamp_s", np.arange(n) / fps)
    df.insert(0, "frame_index", np.arange(n))
    df.insert(0, "sequence_id", sequence_id)
    for key, value in labels.items():
        if key not in LABEL_COLUMNS:
            raise ValueError(f"unknown label column {key!r}; expected one of {LABEL_COLUMNS}")
        df[key] = value
    return df


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    elif path.suffix == ".csv":
        df.to_csv(path, index=False, float_format="%.6g")
    else:
        raise LandmarkTableError(
            f"{path}: unsupported landmark-table extension {path.suffix!r} (use .csv or .parquet)"
        )
    return path


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise LandmarkTableError(f"{path}: no such landmark table")
    try:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix == ".csv":
            df = pd.read_csv(path, dtype={"sequence_id": str, "group": str})
        else:
            raise LandmarkTableError(f"{path}: unsupported landmark-table extension {path.suffix!r}")
    except LandmarkTableError:
        raise
    except Exception as exc:  # pandas raises many types for a corrupt file
        raise LandmarkTableError(f"{path}: unreadable landmark table ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in (*INDEX_COLUMNS, *LANDMARK_COLUMNS) if c not in df.columns]
    if missing:
        raise LandmarkTableError(f"{path}: missing {len(missing)} columns, e.g. {missing[:4]}")
    return df


def table_to_sequences(
    df: pd.DataFrame,
    labels: pd.DataFrame | None = None,
    fps: float | None = None,
    source: str = "table",
    coordinates: str = "image",
) -> PoseSequences:
    """Group table rows into clips. Labels come from the table's own columns or from `labels` (by sequence_id).

    `coordinates="world"`: the clips hold the world landmarks (feet held still, `pose.normalize.world_clip`)
    with the image visibility, for a model trained on 3-D joints; a table without world columns is refused.
    """
    if coordinates == "world" and not all(c in df.columns for c in WORLD_COLUMNS):
        raise LandmarkTableError(
            "this model was trained on 3-D joints and needs world landmarks, but the table has no world_* "
            "columns: extract the videos again (python -m liftsense.pose.extract) to get them"
        )
    df = df.sort_values(["sequence_id", "frame_index"], kind="stable")
    if labels is not None:
        df = df.drop(columns=[c for c in LABEL_COLUMNS if c in df.columns]).merge(
            labels, on="sequence_id", how="left", validate="many_to_one"
        )
    if fps is None:
        ts = df.groupby("sequence_id")["timestamp_s"].diff().dropna()
        fps = float(1.0 / ts.median()) if len(ts) and ts.median() > 0 else 30.0
    clips, rows = [], []
    for seq_id, frames in df.groupby("sequence_id", sort=False):
        image = frames[list(LANDMARK_COLUMNS)].to_numpy(np.float32).reshape(-1, N_BLAZEPOSE, 4)
        clips.append(world_clip(world_landmarks(frames), image, fps) if coordinates == "world" else image)
        first = frames.iloc[0]
        label = str(first["label"]) if "label" in frames and pd.notna(first["label"]) else "unknown"
        rows.append(
            {
                "sequence_id": str(seq_id),
                "exercise": str(first["exercise"])
                if "exercise" in frames and pd.notna(first["exercise"])
                else "unknown",
                "label": label,
                "correct": label == "correct",
                "group": str(first["group"])
                if "group" in frames and pd.notna(first["group"])
                else str(seq_id),
            }
        )
    return PoseSequences.from_clips(clips, pd.DataFrame(rows), fps=fps, source=source)


def world_landmarks(frames: pd.DataFrame) -> np.ndarray | None:
    """One clip's world landmarks (frames, 33, 3), or None for a table written without them (older tables)."""
    if not all(c in frames.columns for c in WORLD_COLUMNS):
        return None
    return frames[list(WORLD_COLUMNS)].to_numpy(np.float32).reshape(-1, N_BLAZEPOSE, 3)


def sequences_to_table(seqs: PoseSequences) -> pd.DataFrame:
    parts = []
    for i, row in seqs.meta.iterrows():
        parts.append(
            frames_to_table(
                str(row["sequence_id"]),
                seqs.clip(int(i)),
                seqs.fps,
                exercise=str(row["exercise"]),
                label=str(row["label"]),
                group=str(row["group"]),
            )
        )
    return pd.concat(parts, ignore_index=True)
