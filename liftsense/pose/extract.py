"""Pose extraction: video files, image folders or a webcam -> LiftSense landmark table (BlazePose 33 points).

    python -m liftsense.pose.extract clip.mp4 frames_dir/ -o landmarks.parquet --exercise squat --label correct
    python -m liftsense.pose.extract --webcam 0 --max-frames 300 -o me.csv

Uses MediaPipe BlazePose with model_complexity=1, the model that ships inside the mediapipe 0.10.14 wheel
(offline). A file that cannot be read, has an unsupported format or shows no person gets one clear line naming
it; the rest of the batch goes on. Frames with no person keep their row with NaN landmarks.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liftsense.pose.landmarks import N_BLAZEPOSE

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"})
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"})


class ExtractionError(RuntimeError):
    """A source that yields no landmarks; the message names the source and the reason."""


@dataclass
class Extraction:
    sequence_id: str
    landmarks: np.ndarray  # (frames, 33, 4): x, y, z, visibility; NaN where no person was found
    fps: float
    source: str
    world: np.ndarray | None = None  # (frames, 33, 3): BlazePose world landmarks, metres, hip-centred
    problems: list[str] = field(default_factory=list)  # e.g. a truncated video: what was read is kept

    @property
    def detected_fraction(self) -> float:
        return float(np.isfinite(self.landmarks[:, 0, 0]).mean()) if len(self.landmarks) else 0.0


class PoseEstimator:
    """One BlazePose graph. Use one per video (tracking state), `static=True` for unrelated images."""

    def __init__(self, static: bool = False, min_detection_confidence: float = 0.5) -> None:
        import mediapipe as mp

        self._pose = mp.solutions.pose.Pose(
            static_image_mode=static,
            model_complexity=1,
            smooth_landmarks=not static,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=0.5,
        )

    def __call__(self, bgr: np.ndarray) -> np.ndarray:
        """One BGR uint8 frame (as OpenCV decodes it) -> (33, 4); all NaN when no person is found."""
        return self.process(bgr)[0]

    def process(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One BGR frame -> image landmarks (33, 4) and world landmarks (33, 3, metres); NaN without a person."""
        import cv2

        if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
            raise ExtractionError(f"not a BGR uint8 frame: {getattr(bgr, 'shape', None)}")
        with warnings.catch_warnings():  # mediapipe 0.10.14 calls a deprecated protobuf API on every frame
            warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype", category=UserWarning)
            result = self._pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if result.pose_landmarks is None:
            return np.full((N_BLAZEPOSE, 4), np.nan, np.float32), np.full(
                (N_BLAZEPOSE, 3), np.nan, np.float32
            )
        image = np.array([[p.x, p.y, p.z, p.visibility] for p in result.pose_landmarks.landmark], np.float32)
        world = (
            np.array([[p.x, p.y, p.z] for p in result.pose_world_landmarks.landmark], np.float32)
            if result.pose_world_landmarks is not None
            else np.full((N_BLAZEPOSE, 3), np.nan, np.float32)
        )
        return image, world

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def capture_fps(cap, default: float = 30.0) -> float:
    """An opened capture's frame rate, or `default` when the container does not say (or says nonsense)."""
    import cv2

    fps = cap.get(cv2.CAP_PROP_FPS)
    return float(fps) if np.isfinite(fps) and 1.0 <= fps <= 1000.0 else default


def video_frames(cap, max_frames: int | None) -> Iterator[np.ndarray]:
    n = 0
    while max_frames is None or n < max_frames:
        ok, frame = cap.read()
        if not ok or frame is None:
            return
        n += 1
        yield frame


def _progress(total: int | None, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", disable=not enabled, leave=False)


def _track_capture(
    cap, max_frames: int | None, total: int | None, desc: str, progress: bool
) -> tuple[list, list, float]:
    """Run one tracking BlazePose over an opened OpenCV capture; always releases it.

    Returns image landmarks, world landmarks and the frame rate (30 when the container does not say)."""

    fps = capture_fps(cap)
    rows, worlds = [], []
    try:
        with PoseEstimator(static=False) as est, _progress(total, desc, progress) as bar:
            for frame in video_frames(cap, max_frames):
                image, world = est.process(frame)
                rows.append(image)
                worlds.append(world)
                bar.update()
    finally:
        cap.release()
    return rows, worlds, float(fps)


def extract_video(path: Path, max_frames: int | None = None, progress: bool = True) -> Extraction:
    import cv2

    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise ExtractionError(f"{path}: unsupported video format {path.suffix!r}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ExtractionError(f"{path}: cannot open video (corrupt or unreadable file)")
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    rows, worlds, fps = _track_capture(cap, max_frames, total, path.name, progress)
    if not rows:
        raise ExtractionError(f"{path}: no frames could be decoded (corrupt or unreadable file)")
    out = Extraction(path.stem, np.stack(rows), float(fps), str(path), np.stack(worlds))
    expected = min(total, max_frames) if total and max_frames else total
    if expected and len(rows) < 0.95 * expected:
        out.problems.append(
            f"{path}: truncated or corrupt video: decoded {len(rows)} of the {expected} frames its header announces"
        )
    if out.detected_fraction == 0:
        raise ExtractionError(f"{path}: no person detected in any of {len(rows)} frames")
    return out


def read_image(path: Path) -> np.ndarray:
    import cv2

    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise ExtractionError(f"{path}: unsupported image format {path.suffix!r}")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ExtractionError(f"{path}: cannot decode image (corrupt or unreadable file)")
    return img


def extract_image(path: Path) -> Extraction:
    with PoseEstimator(static=True) as est:
        lm = est(read_image(path))[None]
    out = Extraction(path.stem, lm, 1.0, str(path))
    if out.detected_fraction == 0:
        raise ExtractionError(f"{path}: no person detected")
    return out


def extract_image_folder(
    folder: Path, fps: float = 30.0, progress: bool = True
) -> tuple[Extraction, list[str]]:
    """Images of a folder in name order as one sequence (a frame dump); unreadable files are reported, not fatal."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    problems = [
        f"{p}: unsupported image format {p.suffix!r}"
        for p in files
        if p.suffix.lower() not in IMAGE_EXTENSIONS
    ]
    if not images:
        raise ExtractionError(f"{folder}: no images with a supported extension ({sorted(IMAGE_EXTENSIONS)})")
    rows = []
    with PoseEstimator(static=True) as est, _progress(len(images), folder.name, progress) as bar:
        for p in images:
            try:
                rows.append(est(read_image(p)))
            except ExtractionError as exc:
                problems.append(str(exc))
                rows.append(np.full((N_BLAZEPOSE, 4), np.nan, dtype=np.float32))  # keep frame numbering
            bar.update()
    out = Extraction(folder.name, np.stack(rows), fps, str(folder))
    if out.detected_fraction == 0:
        raise ExtractionError(f"{folder}: no person detected in any of {len(images)} images")
    return out, problems


def extract_webcam(index: int, max_frames: int, progress: bool = True) -> Extraction:
    import cv2

    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        raise ExtractionError(f"webcam {index}: cannot open the camera")
    rows, worlds, fps = _track_capture(cap, max_frames, max_frames, f"webcam {index}", progress)
    if not rows:
        raise ExtractionError(f"webcam {index}: no frames received")
    return Extraction(
        f"webcam{index}_{time.strftime('%Y%m%d_%H%M%S')}",
        np.stack(rows),
        float(fps),
        f"webcam:{index}",
        np.stack(worlds),
    )


def extract_any(
    source: Path, max_frames: int | None = None, progress: bool = True
) -> tuple[Extraction, list[str]]:
    if not source.exists():
        raise ExtractionError(f"{source}: no such file or folder")
    if source.is_dir():
        return extract_image_folder(source, progress=progress)
    suffix = source.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        ext = extract_video(source, max_frames, progress)
        return ext, list(ext.problems)
    if suffix in IMAGE_EXTENSIONS:
        return extract_image(source), []
    raise ExtractionError(
        f"{source}: unsupported format {source.suffix!r} (videos: {sorted(VIDEO_EXTENSIONS)}, images: {sorted(IMAGE_EXTENSIONS)})"
    )


def unique_sequence_id(job: Path | int, fallback: str, seen: set[str]) -> str:
    """A clip id unique within one table: the source's path relative to the working directory, without its
    extension (two `squat.mp4` from different folders stay two clips), and `#2`, `#3`... for a repeat."""
    import os

    if isinstance(job, Path):
        rel = os.path.relpath(job.resolve()) if job.is_absolute() else str(job)
        base = str(Path(rel).with_suffix("")) if job.suffix else rel.rstrip("/")
    else:
        base = fallback
    seq_id, k = base, 1
    while seq_id in seen:
        k += 1
        seq_id = f"{base}#{k}"
    seen.add(seq_id)
    return seq_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sources", nargs="*", type=Path, help="video files, image files or image folders")
    parser.add_argument("--webcam", type=int, default=None, help="webcam index to record from")
    parser.add_argument("--max-frames", type=int, default=None, help="stop each video/webcam after N frames")
    parser.add_argument("-o", "--output", type=Path, required=True, help="landmark table (.parquet or .csv)")
    parser.add_argument("--exercise", default=None)
    parser.add_argument("--label", default=None, help='"correct" or a fault name')
    parser.add_argument(
        "--group", default=None, help="split group (person, session); defaults to the sequence id"
    )
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if not args.sources and args.webcam is None:
        parser.error("give at least one source or --webcam")
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    import pandas as pd

    from liftsense.pose.table import frames_to_table, write_table

    tables, failures = [], []
    seen_ids: set[str] = set()
    jobs: list[Path | int] = [*args.sources] + ([args.webcam] if args.webcam is not None else [])
    for job in jobs:
        try:
            if isinstance(job, int):
                ext, problems = extract_webcam(job, args.max_frames or 300, not args.no_progress), []
            else:
                ext, problems = extract_any(job, args.max_frames, not args.no_progress)
        except ExtractionError as exc:
            failures.append(str(exc))
            log.error("skipped %s", exc)
            continue
        except Exception as exc:  # never let one bad source crash the batch
            failures.append(f"{job}: {type(exc).__name__}: {exc}")
            log.error("skipped %s: %s: %s", job, type(exc).__name__, exc)
            continue
        for p in problems:
            log.warning("in %s: %s", job, p)
        labels = {
            k: v for k, v in (("exercise", args.exercise), ("label", args.label), ("group", args.group)) if v
        }
        seq_id = unique_sequence_id(job, ext.sequence_id, seen_ids)
        tables.append(frames_to_table(seq_id, ext.landmarks, ext.fps, world=ext.world, **labels))
        log.info(
            "%s: %d frames, person found in %.0f%%", job, len(ext.landmarks), 100 * ext.detected_fraction
        )
    if tables:
        path = write_table(pd.concat(tables, ignore_index=True), args.output)
        log.info("wrote %s (%d sequences)", path, len(tables))
    log.info("%d of %d sources extracted", len(tables), len(jobs))
    if failures:
        log.error("failed: %d\n  %s", len(failures), "\n  ".join(failures))
    return 0 if not failures else (2 if tables else 1)


if __name__ == "__main__":
    sys.exit(main())
