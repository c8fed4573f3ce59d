"""A throwaway PostgreSQL server for tests and benchmarks: Debian's binaries, `initdb` in a temporary directory, `pg_ctl`
on a free port on 127.0.0.1, stopped (and its directory removed) after.

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

    def __init__(self) -> None:
        missing = [n for n in ("initdb", "pg_ctl", "createdb") if postgres_bin(n) is None]
        if missing:
            raise FileNotFoundError(
                f"PostgreSQL's {', '.join(missing)} not found: install Debian's postgresql package"
            )
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="liftsense-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self._as:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "nobody")

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
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root} -F"  # -F: no fsync, a test server
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return self.url(name)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
