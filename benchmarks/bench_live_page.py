"""Where the live page should estimate pose: in the browser (npm's @mediapipe/pose) or on the server (the service's
BlazePose over the page's WebSocket), measured in headless chromium with a real clip as the camera.

    python benchmarks/bench_live_page.py [--seconds 25] [--runs 3] [--modes server,browser-cpu,...]

For each way, the page runs for `--seconds` after its first skeleton; reported: camera frame to skeleton on screen
(p50, p95; goal p95 <= 100 ms), the skeletons drawn per second, and the time to the first skeleton. Medians over
`--runs` fresh pages. The service runs with an empty registry: pose and drawing do not depend on the form model.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import ROOT, table, write

#: (name, the page's query string)
MODES = {
    "server": "pose=server",
    "browser-cpu": "pose=browser&inference=cpu&complexity=1",
    "browser-cpu-lite": "pose=browser&inference=cpu&complexity=0",
    "browser-webgl": "pose=browser&inference=gpu&complexity=1",
}


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


def one_run(pw, url: str, camera: Path, seconds: float) -> dict:
    from serving.page.fake_camera import chromium_args

    browser = pw.chromium.launch(
        executable_path="/usr/bin/chromium", headless=True, args=chromium_args(camera)
    )
    try:
        page = browser.new_page()
        t0 = time.perf_counter()
        page.goto(url)
        page.wait_for_function("() => liftsense.metrics.skeleton_ms.length > 0", timeout=120_000)
        first = time.perf_counter() - t0
        page.evaluate("() => { liftsense.metrics.skeleton_ms.length = 0; }")
        time.sleep(seconds)
        ms = page.evaluate("() => liftsense.metrics.skeleton_ms")
    finally:
        browser.close()
    return {
        "p50_ms": _percentile(ms, 50),
        "p95_ms": _percentile(ms, 95),
        "skeletons_per_s": len(ms) / seconds,
        "first_skeleton_s": first,
    }


def main() -> None:
    from playwright.sync_api import sync_playwright

    from liftsense.datasets.paths import data_dir
    from serving.local import LocalServer
    from serving.page.fake_camera import write_y4m

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=25.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--modes", default=",".join(MODES))
    a = ap.parse_args()
    video = data_dir() / "pose" / "media" / "videos" / "barbell_curl.mp4"
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        camera = Path(tmp) / "clip.y4m"
        write_y4m(video, camera)
        server = LocalServer(Path(tmp) / "service").start()
        try:
            for mode in a.modes.split(","):
                url = f"{server.url}/live/?exercise=barbell_curl&band=999&{MODES[mode]}"
                runs = [one_run(pw, url, camera, a.seconds) for _ in range(a.runs)]
                row = {"mode": mode} | {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                rows.append(row)
                print(f"  {mode}: {row}", flush=True)
        finally:
            server.stop()
    print(table(rows, ["mode", "p50_ms", "p95_ms", "skeletons_per_s", "first_skeleton_s"]))
    path = write("live_page", {"video": str(video.relative_to(video.parents[3])), "seconds": a.seconds,
                               "runs": a.runs, "rows": rows})  # fmt: skip
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
