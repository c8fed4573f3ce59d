"""The service under load over real HTTP on 127.0.0.1: latency p50/p99 and throughput at 1, 8 and 64 concurrent
clients for each API, classify_windows with adaptive batching on and off, cold start to /readyz, resident memory.

    python benchmarks/bench_service.py [--seconds 5]

The client is a bounded asyncio loop (HTTP/1.1 on asyncio streams, kept alive): each of N clients sends its next
request when the last one returns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import write

#: windows per classify_windows request: bulk scoring of a set's windows, sent packed (float32 in base64)
WINDOWS_PER_REQUEST = 256


def _next_body(api: str, body: dict, client: int, k: int, run: int | str) -> dict:
    """heart_rate: each client streams its own band, 2 s chunk after 2 s chunk (a repeat would be dropped as a
    retransmission and cost nothing); the other APIs send the same body."""
    if api != "heart_rate":
        return body
    n = len(body["ppg"][0])
    return body | {"stream_id": f"bench-{run}-{client}", "first_sequence": k * n}


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, payload: bytes) -> int:
    """One POST on a kept-alive HTTP/1.1 connection; its status (the body is read and dropped)."""
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
    else:  # chunked
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return int(head[0].split()[1])


async def _load(url: str, api: str, body: dict, clients: int, seconds: float, run: int = 0) -> dict:
    """N clients, each on its own kept-alive connection, each sending its next request when the last returns.

    The client is a few lines of HTTP/1.1 over asyncio streams: httpx's client cost more CPU than the server's
    handling on this 2-core machine (its shared pool at 64 connections: 30 requests/s where a threaded client of
    plain http.client measured 220), and the load measured the client. `run` names the heart-rate streams: a
    stream sent again from its start would be dropped as retransmitted, work never done."""
    from urllib.parse import urlsplit

    where = urlsplit(url)
    latencies: list[float] = []
    errors = 0
    failures: dict[str, int] = {}
    encoded = json.dumps(body).encode() if api != "heart_rate" else None
    stop = time.perf_counter() + seconds

    async def one_client(c: int) -> None:
        nonlocal errors
        k = 0
        reader, writer = await asyncio.open_connection(where.hostname, where.port, limit=2**24)
        try:
            while time.perf_counter() < stop:
                # a client sends bytes it has ready: the load is on the server, not on encoding JSON here
                payload = encoded or json.dumps(_next_body(api, body, c, k, f"{clients}-{run}")).encode()
                k += 1
                t0 = time.perf_counter()
                try:
                    errors += await _post(reader, writer, where.path, payload) != 200
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:  # counted; reconnect, go on
                    errors += 1
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(where.hostname, where.port, limit=2**24)
                latencies.append(time.perf_counter() - t0)
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(c) for c in range(clients)))
    wall = time.perf_counter() - t0
    lat = np.array(latencies) * 1000
    return {
        "clients": clients,
        "requests": len(lat),
        "errors": errors,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "requests_per_s": len(lat) / wall,
        "connection_failures": failures,
    }


def _median_of(url: str, api: str, body: dict, clients: int, seconds: float, repeats: int) -> dict:
    """`repeats` loads in a row: the run of median throughput (its latencies), with every run's throughput beside
    it. One 5 s run on this 2-core machine, which also runs the client, varied by up to a third between runs."""
    runs = [asyncio.run(_load(url, api, body, clients, seconds, run=k)) for k in range(repeats)]
    runs.sort(key=lambda r: r["requests_per_s"])
    return runs[len(runs) // 2] | {"requests_per_s_runs": [r["requests_per_s"] for r in runs]}


class _PeakMemory:
    """The whole service's largest resident memory while a load runs, sampled every 0.2 s (the figure after the
    load hides what 64 clients' bodies in flight took): summed over its processes, and proportional (a page the
    workers share counted once). The proportional figure is read only when the resident one reaches a new peak:
    reading it walks every mapping (30 ms of CPU), and at every sample it took 15% of a core from the load."""

    def __init__(self, srv) -> None:
        self.srv, self.peak_bytes, self.peak_pss_bytes = srv, 0, 0

    def __enter__(self) -> _PeakMemory:
        import threading

        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            if self.srv.resident_bytes() > self.peak_bytes:
                rss, pss = self.srv.memory_bytes()
                self.peak_bytes, self.peak_pss_bytes = max(self.peak_bytes, rss), max(self.peak_pss_bytes, pss)  # fmt: skip
            self._stop.wait(0.2)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _bodies() -> dict[str, dict]:
    from liftsense.pose.synth.dataset import SynthConfig, synth_clip, synth_subjects
    from liftsense.ppg.synth import synth_recording

    cfg = SynthConfig(seed=5)
    clip, _, _ = synth_clip(cfg, synth_subjects(cfg), "squat", 0, "correct")
    clip = np.where(np.isfinite(clip), clip, 0.0)
    # judged by the bootstrap's built-in fault model (squats are judged by the squat_3d champion, absent here)
    press, _, _ = synth_clip(cfg, synth_subjects(cfg), "overhead_press", 0, "correct")
    press = np.where(np.isfinite(press), press, 0.0)
    rec = synth_recording(duration_s=2.0, seed=1)
    t = np.arange(-60.0, 0.1, 1.0)
    return {
        "judge": {"exercise": "overhead_press", "clip": {"fps": 30.0, "landmarks": press[:100].tolist()}},
        "judge packed": {
            "exercise": "overhead_press",
            "clip": {"fps": 30.0, "landmarks_packed": pack_window(press[:100])},
        },
        "heart_rate": {"fs": rec.fs, "ppg": rec.ppg.tolist(), "acc": rec.acc.tolist()},
        "rest_forecast": {
            "set_time_s": t.tolist(),
            "set_hr": (100 + 0.6 * (t + 60)).tolist(),
            "set_index": 1,
        },
        "classify_windows": {
            "windows": [
                {"packed": pack_window(clip[k % 80 : k % 80 + 15])} for k in range(WINDOWS_PER_REQUEST)
            ]
        },
    }


def pack_window(window: np.ndarray) -> str:
    import base64

    return base64.b64encode(np.asarray(window, dtype="<f4").tobytes()).decode()


def _models(home: Path) -> str:
    """The served set-up, small: the built-in models trained briefly and promoted by `serving.bootstrap` as
    `make serve` does (its fault model judges the press), and a window network in the paper's 15-frame windows for
    `classify_windows` (the built-in binary champion judges whole clips; served whether or not a short training
    beat its baseline: what matters here is its speed)."""
    import os
    import subprocess

    import mlflow

    from tests.conftest import SMALL_POSTURE, SMALL_WINDOWS

    uri = f"sqlite:///{home / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "LIFTSENSE_HOME": str(home)}
    repo = Path(__file__).resolve().parents[1]
    for command in (
        ["-m", "serving.bootstrap", *SMALL_POSTURE],
        ["training/train.py", "task=binary", "model=cnn", f"logger.tracking_uri={uri}", *SMALL_WINDOWS],
    ):
        proc = subprocess.run([sys.executable, *command], env=env, cwd=repo, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(proc.stderr[-2000:])
    mlflow.set_tracking_uri(uri)
    run = mlflow.search_runs(
        experiment_names=["posture-binary"], order_by=["attributes.start_time DESC"], output_format="list"
    )[0]
    return f"runs:/{run.info.run_id}/model"


def _windows_without_batching(home: Path, model: str, bodies: dict, a: argparse.Namespace) -> list[dict]:
    from serving.local import LocalServer

    srv = LocalServer(home / "nobatch", LIFTSENSE_WINDOW_MODEL=model, LIFTSENSE_BATCHING="0",
                      MLFLOW_TRACKING_URI=f"sqlite:///{home / 'mlflow.db'}").start()  # fmt: skip
    try:
        body = bodies["classify_windows"]
        srv.post("models")  # every model loaded
        srv.post("classify_windows", body)
        url = f"{srv.url}/classify_windows"
        return [_median_of(url, "classify_windows", body, c, a.seconds, a.repeats) for c in a.clients]
    finally:
        srv.stop()


def main() -> None:
    from serving.local import LocalServer

    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 64])
    p.add_argument("--repeats", type=int, default=3, help="loads per row; the row is the median run")
    p.add_argument("--apis", nargs="+", default=None, help="only these APIs (default: all)")
    a = p.parse_args()
    bodies = {k: v for k, v in _bodies().items() if a.apis is None or k.split()[0] in a.apis}
    results: dict = {"apis": {}, "cold_start_s": [], "windows": {}}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        model = _models(home)
        results["models_loaded_s"] = []
        for _ in range(3):  # cold start, three times; then until the first window verdict (the models loaded)
            t0 = time.perf_counter()
            srv = LocalServer(home / "cold", LIFTSENSE_WINDOW_MODEL=model,
                              MLFLOW_TRACKING_URI=f"sqlite:///{home / 'mlflow.db'}").start()  # fmt: skip
            results["cold_start_s"].append(srv.cold_start_s)
            srv.post("models")  # answers once every model has loaded
            results["models_loaded_s"].append(time.perf_counter() - t0)
            srv.stop()
        srv = LocalServer(home / "run", LIFTSENSE_WINDOW_MODEL=model,
                          MLFLOW_TRACKING_URI=f"sqlite:///{home / 'mlflow.db'}").start()  # fmt: skip
        try:
            # every model loaded first: requests in the ~10 s after /readyz wait for theirs (or share the CPU with
            # the loading), reported above as "every model loaded", not as the APIs' latency
            srv.post("models")
            for api, body in bodies.items():
                url = f"{srv.url}/{api.split()[0]}"  # "judge packed": the judge API, the clip packed
                srv.post(api.split()[0], _next_body(api, body, -1, 0, 0))  # warm: models loaded
                with _PeakMemory(srv) as memory:
                    rows = [_median_of(url, api, body, c, a.seconds, a.repeats) for c in a.clients]
                results["apis"][api] = rows
                results["peak_rss_mb"] = max(results.get("peak_rss_mb", 0.0), memory.peak_bytes / 2**20)
                results["peak_pss_mb"] = max(results.get("peak_pss_mb", 0.0), memory.peak_pss_bytes / 2**20)
                results.setdefault("peak_mb_by_api", {})[api] = {
                    "rss": memory.peak_bytes / 2**20,
                    "pss": memory.peak_pss_bytes / 2**20,
                }
            results["workers"] = len(srv.workers())
            rss, pss = srv.memory_bytes()
            results["rss_mb"], results["pss_mb"] = rss / 2**20, pss / 2**20
        finally:
            srv.stop()
        if "classify_windows" in bodies:
            results["windows"]["batching off"] = _windows_without_batching(home, model, bodies, a)
            results["windows"]["batching on"] = results["apis"]["classify_windows"]
    print(
        f"cold start to /readyz: median {statistics.median(results['cold_start_s']):.1f} s of 3 (goal <= 10 s)"
    )
    print(
        f"every model loaded (`models` answers): median {statistics.median(results['models_loaded_s']):.1f} s"
    )
    print(
        f"resident memory of the whole service ({results['workers']} worker(s)): at most "
        f"{results['peak_rss_mb']:.0f} MB summed over its processes during the loads, {results['peak_pss_mb']:.0f} "
        f"MB proportional; {results['rss_mb']:.0f} MB ({results['pss_mb']:.0f} MB) after them (goal <= 1.5 GB)"
    )
    for api, peak in results.get("peak_mb_by_api", {}).items():
        print(f"  peak during {api}: {peak['rss']:.0f} MB summed, {peak['pss']:.0f} MB proportional")
    print(
        f"rows: the median of {a.repeats} runs of {a.seconds:g} s by throughput; req/s of every run beside it"
    )
    print(f"{'api':<18} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>6}  runs")
    for api, rows in results["apis"].items():
        for r in rows:
            runs = ", ".join(f"{x:.0f}" for x in r["requests_per_s_runs"])
            print(
                f"{api:<18} {r['clients']:>7} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['requests_per_s']:>8.1f} {r['errors']:>6}  {runs} {r['connection_failures'] or ''}"
            )
    for mode, rows in results["windows"].items():
        for r in rows:
            runs = ", ".join(f"{x * WINDOWS_PER_REQUEST:,.0f}" for x in r["requests_per_s_runs"])
            print(
                f"classify_windows, {mode}, {r['clients']} clients: {r['requests_per_s'] * WINDOWS_PER_REQUEST:,.0f} windows/s (runs: {runs})"
            )
    print(f"wrote {write('service', results)}")


if __name__ == "__main__":
    main()
