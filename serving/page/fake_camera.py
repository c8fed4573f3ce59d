"""A recorded clip as a camera for chromium (`--use-file-for-fake-video-capture`): the browser test and the page's
benchmark play real exercise videos to the page this way, on machines without a camera."""

from __future__ import annotations

from pathlib import Path


def write_y4m(video: str | Path, out: str | Path, width: int = 640) -> int:
    """The clip, resized to `width` (even height), as a YUV4MPEG2 file at its own frame rate; chromium plays it in
    a loop. Returns the number of frames. Raises FileNotFoundError for a clip OpenCV cannot read."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise FileNotFoundError(f"{video}: cannot open video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        height = round(frame.shape[0] * width / frame.shape[1] / 2) * 2
        frames.append(cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA))
    cap.release()
    if not frames:
        raise FileNotFoundError(f"{video}: no frames could be decoded")
    num, den = (30000, 1001) if abs(fps - 29.97) < 0.01 else (round(fps), 1)
    with Path(out).open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{frames[0].shape[0]} F{num}:{den} Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return len(frames)


def chromium_args(camera: str | Path | None) -> list[str]:
    """Headless chromium's flags here (../shared/STACK_NOTES.md): no sandbox as root, camera allowed without a
    prompt, and the clip as the camera when one is given (else the page finds no camera)."""
    args = ["--no-sandbox", "--use-fake-ui-for-media-stream"]
    if camera is not None:
        args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}"]
    return args
