"""An MLflow tracking server for a team: `mlflow server` with a PostgreSQL backend and a local artifact root that the
server itself serves (`--serve-artifacts`), so trainers, sweeps, promotion and the service need only its URL.

`make tracking-server` (`python -m serving.tracking_server`) runs it on http://127.0.0.1:5000 with a PostgreSQL
cluster kept in ./.liftsense/postgres and artifacts in ./.liftsense/mlflow-artifacts; `--backend-store-uri` points it
at a PostgreSQL server you already run instead. Then, in any shell:

    export MLFLOW_TRACKING_URI=http://127.0.0.1:5000
    python training/train.py model=cnn        # and sweep.py, promote.py, `make serve`: all through the server

Tests and benchmarks use `TrackingServer` directly, on a free port.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from serving.local import REPO, free_port, stop_process_group, wait_for_http


def sqlalchemy_url(postgres_url: str) -> str:
    """MLflow's SQLAlchemy wants the driver named: psycopg 3 is the one the project installs."""
    if postgres_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + postgres_url.removeprefix("postgresql://")
    return postgres_url


class TrackingServer:
    """`mlflow server` as a child process; `start()` returns once `/health` answers, `stop()` ends its workers too."""

    def __init__(
        self, backend_store_uri: str, artifacts: Path, port: int | None = None, workers: int = 1
    ) -> None:
        self.backend_store_uri = sqlalchemy_url(backend_store_uri)
        self.artifacts = Path(artifacts).resolve()
        self.port = port or free_port()
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.log_path = self.artifacts.parent / f"mlflow-server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--backend-store-uri",
            self.backend_store_uri,
            "--artifacts-destination",
            str(self.artifacts),
            "--serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]

    def start(self, timeout_s: float = 120.0) -> TrackingServer:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(), cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True
            )
        if wait_for_http(
            self.proc, f"{self.url}/health", timeout_s, lambda: f"mlflow server exited:\n{self.log_tail()}"
        ):
            return self
        self.stop()
        raise RuntimeError(f"mlflow server was not up within {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process_group(self.proc)

    def __enter__(self) -> TrackingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.tracking_server", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument(
        "--home", type=Path, default=REPO / ".liftsense", help="where the cluster and artifacts live"
    )
    parser.add_argument(
        "--backend-store-uri",
        help="an existing PostgreSQL database (postgresql://user@host:port/db) to use instead",
    )
    args = parser.parse_args(argv)
    from serving.postgres import PostgresServer

    postgres = None
    try:
        if args.backend_store_uri:
            backend = args.backend_store_uri
        else:
            postgres = PostgresServer(data_dir=args.home / "postgres").start()
            backend = postgres.create_database("mlflow", exist_ok=True)
        server = TrackingServer(backend, args.home / "mlflow-artifacts", port=args.port, workers=2).start()
    except (FileNotFoundError, RuntimeError) as exc:
        if postgres:
            postgres.stop()
        print(f"tracking server not started: {exc}", file=sys.stderr)
        return 1
    print(
        f"MLflow tracking server on {server.url} (runs and registry in {backend}, artifacts in {server.artifacts})"
    )
    print(f"  export MLFLOW_TRACKING_URI={server.url}    # then train, sweep, promote and serve through it")
    print(f"  open {server.url}/#/experiments to see the runs; Ctrl-C stops the server and PostgreSQL")
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop and server.proc and server.proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if postgres:
            postgres.stop()
    if server.proc and server.proc.returncode not in (0, -signal.SIGTERM, None) and not stop:
        print(f"mlflow server exited:\n{server.log_tail()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
