"""python -m serving.gateway --port 7100 [--journal .liftsense/gateway.sqlite] [--status-port 7101]"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from serving.gateway.server import Gateway


async def _run(a: argparse.Namespace) -> None:
    gateway = Gateway(a.journal, commit_interval_s=a.commit_ms / 1000)
    port = await gateway.start(a.host, a.port, a.status_port)
    print(f"gateway on {a.host}:{port}, journal {a.journal}" + (f", status on :{a.status_port}/status" if a.status_port else ""), flush=True)  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await gateway.stop()  # what is waiting for the disk is committed first


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m serving.gateway", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7100)
    ap.add_argument("--status-port", type=int, default=None)
    ap.add_argument("--journal", type=Path, default=Path(".liftsense/gateway.sqlite"))
    ap.add_argument(
        "--commit-ms", type=float, default=20.0, help="how often accepted frames are made durable"
    )
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_run(a))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
