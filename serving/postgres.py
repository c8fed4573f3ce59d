"""A local PostgreSQL server from Debian's binaries: `initdb`, then `pg_ctl` on 127.0.0.1. Throwaway for tests and
benchmarks (a temporary directory on a free port, removed after), or kept in a folder for `make tracking-server`.

PostgreSQL refuses to run as root; as root the server runs as the unprivileged `nobody` (runuser), in a directory it owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "liftsense"


def postgres_bin(name: str) -> str | None:
    """A PostgreSQL program from PATH, else from Debian's /usr/lib/postgresql/<version>/bin (the newest)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """`with PostgresServer() as pg: pg.url("mydb")`. `restart()` stops and starts it on the same port and data."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        """Without `data_dir`: a temporary cluster, removed on close. With it: the cluster kept there across runs."""
        missing = [n for n in ("initdb", "pg_ctl", "createdb", "psql") if postgres_bin(n) is None]
        if missing:
            raise FileNotFoundError(
                f"PostgreSQL's {', '.join(missing)} not found: install Debian's postgresql package"
            )
        self.port = port or free_port()
        self.keep = data_dir is not None
        self.root = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="liftsense-pg-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self._as:
            os.chmod(self.root, 0o755)
            for path in (self.root, *self.root.rglob("*")):
                shutil.chown(path, "nobody")

    def _run(self, name: str, *args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [*self._as, postgres_bin(name) or name, *args], capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{name} {' '.join(args)} failed: {proc.stderr[-2000:]}\n{log}")
        return proc

    def start(self) -> PostgresServer:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8")
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root}"
        if not self.keep:
            options += " -F"  # no fsync: a throwaway server
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str, exist_ok: bool = False) -> str:
        if exist_ok and self._database_exists(name):
            return self.url(name)
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return self.url(name)

    def _database_exists(self, name: str) -> bool:
        query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
        psql = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-d", "postgres", "-tAc", query]
        return self._run(*psql).stdout.strip() == "1"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        try:
            self.stop()
        finally:
            if not self.keep:
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
