"""`bentoml serve` of this service as a child process on a free port of 127.0.0.1: for tests and benchmarks.

Its BentoML home, heart-rate state and (by default) MLflow registry live under `home`; `stop()` ends the whole
process group. `start()` returns once `/readyz` answers 200 and records how long that took (the cold start).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(
    proc: subprocess.Popen, url: str, timeout_s: float, exited: Callable[[], str], interval_s: float = 0.2
) -> bool:
    """Poll `url` until it answers 200 (True) or `timeout_s` passes (False); if `proc` ends first, raise
    RuntimeError with `exited()`, which says why."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(exited())
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(interval_s)
    return False


def stop_process_group(proc: subprocess.Popen | None, timeout_s: float = 20.0) -> None:
    """SIGTERM a server started with `start_new_session=True` and all its workers; SIGKILL if it lingers."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class LocalServer:
    def __init__(self, home: Path, **env: str) -> None:
        self.home, self.port, self.proc, self.extra_env = Path(home), free_port(), None, env
        self.cold_start_s: float | None = None
        self.log_path = self.home / "bentoml-serve.log"  # the server's own log: its workers and access lines

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> LocalServer:
        env = {
            **os.environ,
            "BENTOML_HOME": str(self.home / "bentoml"),
            "BENTOML_DO_NOT_TRACK": "True",
            "LIFTSENSE_STATE_DIR": str(self.home / "state"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{self.home / 'mlflow.db'}",
            **self.extra_env,
        }
        bentoml = Path(sys.executable).parent / "bentoml"
        cmd = [
            str(bentoml),
            "serve",
            "serving.service:LiftSense",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        t0 = time.perf_counter()
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.PIPE, start_new_session=True
            )
        ready = wait_for_http(
            self.proc,
            f"{self.url}/readyz",
            timeout_s,
            lambda: f"bentoml serve exited: {self.proc.stderr.read().decode()[-3000:]}",
            interval_s=0.1,
        )
        if ready:
            self.cold_start_s = time.perf_counter() - t0
            return self
        self.stop()
        raise RuntimeError(f"bentoml serve was not ready within {timeout_s:.0f} s")

    def wait_until_loaded(self, workers: int, timeout_s: float = 120.0) -> None:
        """Return once `workers` workers have logged that every model is loaded (and `models`' answer read): /readyz
        answers before that, on purpose. Raise TimeoutError naming how many did."""
        from serving.service import MODELS_LOADED

        deadline = time.monotonic() + timeout_s
        while (loaded := self.log_path.read_text(errors="replace").count(MODELS_LOADED)) < workers:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{loaded} of {workers} workers loaded their models within {timeout_s:.0f} s"
                )
            time.sleep(0.1)

    def _processes(self) -> list:
        """The server's process and every process under it (its workers)."""
        import psutil

        root = psutil.Process(self.proc.pid)
        return [root, *root.children(recursive=True)]

    def workers(self) -> list:
        """The processes that answer requests: the server's children (`bentoml serve` itself supervises)."""
        return self._processes()[1:]

    def resident_bytes(self) -> int:
        """The server's resident memory summed over its processes: cheap (memory_bytes walks every mapping, 30 ms
        of CPU for this service)."""
        return sum(p.memory_info().rss for p in self._processes())

    def memory_bytes(self) -> tuple[int, int]:
        """(resident, proportional) memory of the server and every process under it, from one read of each: the
        resident figures summed, and the proportional one, where a page its processes share (the libraries each
        worker maps) counts once, as a container's memory limit counts it."""
        infos = [p.memory_full_info() for p in self._processes()]
        return sum(i.rss for i in infos), sum(i.pss for i in infos)

    def stop(self) -> None:
        stop_process_group(self.proc)
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()

    def post(self, api: str, body=None, **kw):
        import httpx

        return httpx.post(f"{self.url}/{api}", json=body, timeout=120, **kw)
