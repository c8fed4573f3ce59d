"""The gateway's goals on 127.0.0.1: how many bands at 125 Hz it holds with nothing lost, its CPU (goal: at most
one core) with heart rate, phases and rests computed for every band, the acknowledgement latency (goal p99 <= 100
ms) and a sample's receipt to its processing (goal p99 <= 1 s beyond the estimator's own look-ahead).

    python benchmarks/bench_gateway.py [--bands 50 100 200] [--seconds 60]

The gateway runs as its own process (`python -m serving.gateway`), so its CPU is measured apart from the bands',
which this process emulates in real time (speed 1): each band sends a 25-sample frame every 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import write  # noqa: E402


def _cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children (the gateway's processing runs in a child)."""
    import os

    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            _, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_once(n_bands: int, seconds: float) -> dict:
    from serving.gateway import Journal
    from serving.gateway.emulate import EmulatedBand, band_sources

    port, status_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "journal.sqlite"
        proc = subprocess.Popen(
            [sys.executable, "-m", "serving.gateway", "--port", str(port), "--status-port", str(status_port),
             "--journal", str(journal)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            proc.stdout.readline()
            bands = [EmulatedBand(i + 1, ppg, acc, seed=i) for i, (ppg, acc) in enumerate(band_sources("synthetic", n_bands, seconds))]  # fmt: skip
            cpu0, t0 = _cpu_s(proc.pid), time.monotonic()

            async def play():
                return await asyncio.gather(*(b.run("127.0.0.1", port) for b in bands))

            stats = asyncio.run(play())
            wall = time.monotonic() - t0
            cpu = _cpu_s(proc.pid) - cpu0
            with urllib.request.urlopen(f"http://127.0.0.1:{status_port}/status", timeout=10) as r:
                status = json.loads(r.read())
        finally:
            proc.terminate()
            proc.wait(10)
        j = Journal(journal)
        stored = sum(len(j.samples(b.band_id, boot)[0]) for b in bands for boot, _, _ in b.boots)
        sent = sum(b.produced for b in bands)
        readings = j.db.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
    return {
        "bands": n_bands,
        "seconds": seconds,
        "wall_s": round(wall, 1),
        "gateway_cores": round(cpu / wall, 3),
        "samples_sent": sent,
        "samples_stored": stored,
        "samples_lost": sent - stored,
        "reconnects": sum(s.connects - 1 for s in stats),
        "ack_latency_ms": status["ack_latency_ms"],
        "processing_latency_ms": status["processing_latency_ms"],
        "readings": readings,
        "corrupt_frames": status["counters"]["corrupt_frames"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bands", type=int, nargs="+", default=[50, 100, 200])
    ap.add_argument("--seconds", type=float, default=60.0)
    a = ap.parse_args()
    rows = []
    for n in a.bands:
        r = run_once(n, a.seconds)
        rows.append(r)
        print(
            f"{r['bands']:>4} bands x {r['seconds']:.0f} s: gateway {r['gateway_cores']:.2f} cores, ack p50 "
            f"{r['ack_latency_ms'].get('p50')} ms p99 {r['ack_latency_ms'].get('p99')} ms, receipt to reading p50 "
            f"{r['processing_latency_ms'].get('p50')} ms p99 {r['processing_latency_ms'].get('p99')} ms, "
            f"{r['readings']} readings, "
            f"{r['samples_lost']} of {r['samples_sent']} samples lost, {r['reconnects']} reconnects "
            f"(wall {r['wall_s']} s)",
            flush=True,
        )
    print(f"wrote {write('gateway', {'runs': rows})}")


if __name__ == "__main__":
    main()
