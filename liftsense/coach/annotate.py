"""`--annotate`: the video again, with the skeleton, the rep counter and each rep's cue drawn on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from liftsense.coach.report import CoachReport

#: skeleton edges between BlazePose landmarks (the 17 kept ones)
EDGES: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (27, 29), (29, 31), (27, 31), (24, 26), (26, 28), (28, 30), (30, 32), (28, 32),
)  # fmt: skip


def overlay(frame: np.ndarray, landmarks: np.ndarray | None, count: int, cue: str | None) -> np.ndarray:
    """Draw one frame's skeleton (image landmarks (33, 4)), the rep count and the current cue, in place."""
    import cv2

    h, w = frame.shape[:2]
    if landmarks is not None and np.isfinite(landmarks[:, :2]).any():
        pts = {
            i: (int(landmarks[i, 0] * w), int(landmarks[i, 1] * h))
            for i in range(33)
            if np.isfinite(landmarks[i, :2]).all()
        }
        for a, b in EDGES:
            if a in pts and b in pts:
                cv2.line(frame, pts[a], pts[b], (0, 220, 0), 2)
        for i in {i for e in EDGES for i in e} & pts.keys():
            cv2.circle(frame, pts[i], 3, (0, 0, 255), -1)
    cv2.rectangle(frame, (0, 0), (w, 34), (0, 0, 0), -1)
    cv2.putText(frame, f"reps: {count}", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    if cue:
        cv2.putText(frame, cue, (130, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 200, 255), 2)
    return frame


def annotate_video(video: Path, report: CoachReport, out: Path, max_frames: int | None = None) -> Path:
    """Re-read `video` (the landmarks are extracted again: no frame-to-landmark drift) and write `out` (mp4)."""
    import cv2

    from liftsense.pose.extract import PoseEstimator, capture_fps, video_frames

    cap = cv2.VideoCapture(str(video))
    fps = capture_fps(cap, report.fps)
    writer = None
    ends = [(r.end_s, r) for r in report.reps]
    try:
        with PoseEstimator(static=False) as est:
            for k, frame in enumerate(video_frames(cap, max_frames)):
                t = k / fps
                done = [r for end, r in ends if end <= t]
                cue = None
                if done:
                    last = done[-1]
                    cue = last.cue or (last.verdict if last.verdict else f"no reading: {last.no_reading}")
                overlay(frame, est(frame), len(done), cue)
                if writer is None:
                    out.parent.mkdir(parents=True, exist_ok=True)
                    writer = cv2.VideoWriter(
                        str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, frame.shape[1::-1]
                    )
                writer.write(frame)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    return out
