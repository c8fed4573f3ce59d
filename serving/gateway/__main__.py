"""python -m serving.gateway --port 7100 [--journal .liftsense/gateway.sqlite] [--status-port 7101]
    [--service http://127.0.0.1:3000]

Rest forecasts come from the service when `--service` is given, else from the library in process. With
`--export FILE.csv` it writes the journal's sessions in the session schema (docs/session_schema.md) and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from serving.gateway.server import Gateway


async def _run(a: argparse.Namespace) -> None:
    gateway = Gateway(a.journal, commit_interval_s=a.commit_ms / 1000, service=a.service)
    port = await gateway.start(a.host, a.port, a.status_port)
    where = f", status on :{a.status_port}/status" if a.status_port else ""
    print(f"gateway on {a.host}:{port}, journal {a.journal}{where}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await gateway.stop()  # what is waiting for the disk is committed (and processed) first


def export(journal: Path, out: Path) -> int:
    from liftsense.resthr.sessions import validate, write_sessions
    from serving.gateway.journal import Journal
    from serving.gateway.processing import session_table

    table = session_table(Journal(journal))
    if table.empty:
        print(f"{journal}: no readings to export")
        return 1
    path = write_sessions(validate(table, source=str(journal)), out)
    print(f"wrote {path}: {table['id'].nunique()} sessions, {len(table)} rows")
    return 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m serving.gateway", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7100)
    ap.add_argument("--status-port", type=int, default=None)
    ap.add_argument("--journal", type=Path, default=Path(".liftsense/gateway.sqlite"))
    ap.add_argument("--service", default=None, help="the LiftSense service's URL, for rest forecasts")
    ap.add_argument(
        "--commit-ms", type=float, default=20.0, help="how often accepted frames are made durable"
    )
    ap.add_argument(
        "--export", type=Path, default=None, help="write the sessions to this CSV/Parquet and exit"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    if a.export:
        return export(a.journal, a.export)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_run(a))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
