"""`make demo`: the whole product on one machine, on 127.0.0.1. Ctrl-C stops it all.

    python -m serving.demo [--port 3000] [--gateway-port 7100] [--status-port 7101] [--speed 1] [--seconds 0]
        [--no-bootstrap] [--home .liftsense/demo]

It starts the service (`bentoml serve`, with the live page at /live), the wristband gateway (rest forecasts from
the service), and one emulated band replaying a simulated strength session (sets and rests, 125 Hz PPG and
acceleration) through the gateway's real protocol; then prints the page's URL. Like `make serve`, it first trains
and promotes the built-in models the registry lacks (`serving.bootstrap`) unless told not to.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from serving.local import REPO


def _wait_http(url: str, timeout_s: float, proc: subprocess.Popen, name: str) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with status {proc.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} was not ready at {url} within {timeout_s:.0f} s")


class Demo:
    """The demo's processes, each in its own process group so that one signal stops it and its children."""

    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def _start(self, name: str, cmd: list[str], env: dict) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def run(self) -> str:
        a = self.a
        home = Path(a.home).resolve()
        home.mkdir(parents=True, exist_ok=True)
        journal = home / "gateway.sqlite"
        for stale in home.glob("gateway.sqlite*"):  # each demo replays its session from the start
            stale.unlink()
        service = f"http://127.0.0.1:{a.port}"
        status = f"http://127.0.0.1:{a.status_port}"
        env = {**os.environ, "BENTOML_DO_NOT_TRACK": "True", "LIFTSENSE_GATEWAY_STATUS_URL": status}
        env.setdefault("LIFTSENSE_STATE_DIR", str(home / "state"))
        py = sys.executable
        if not a.no_bootstrap:
            subprocess.run([py, "-m", "serving.bootstrap"], cwd=REPO, env=env, check=True)
        bentoml = str(Path(py).parent / "bentoml")
        svc = self._start("service", [bentoml, "serve", "serving.service:LiftSense", "--host", "127.0.0.1",
                                      "--port", str(a.port)], env)  # fmt: skip
        gw = self._start("gateway", [py, "-m", "serving.gateway", "--port", str(a.gateway_port), "--status-port",
                                     str(a.status_port), "--journal", str(journal), "--service", service], env)  # fmt: skip
        _wait_http(f"{service}/readyz", 120, svc, "the service")
        _wait_http(f"{status}/status", 30, gw, "the gateway")
        self._start("band", [py, "-m", "serving.gateway.emulate", "--bands", "1", "--first-band-id", str(a.band),
                             "--port", str(a.gateway_port), "--speed", str(a.speed), "--seconds", str(a.seconds)],
                    env)  # fmt: skip
        return f"{service}/live/?band={a.band}&exercise={a.exercise}"

    def stop(self) -> None:
        """SIGTERM to each process group (the band first, the service last), SIGKILL after 20 s."""
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m serving.demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--port", type=int, default=3000, help="the service and its page")
    ap.add_argument("--gateway-port", type=int, default=7100)
    ap.add_argument("--status-port", type=int, default=7101, help="the gateway's status and events")
    ap.add_argument("--band", type=int, default=1)
    ap.add_argument("--exercise", default="squat", help="the page's exercise at start")
    ap.add_argument("--speed", type=float, default=1.0, help="the band replays at this many times real time")
    ap.add_argument("--seconds", type=float, default=0.0, help="of the session to replay (0: all 30 minutes)")
    ap.add_argument("--no-bootstrap", action="store_true", help="do not train missing built-in models first")
    ap.add_argument("--home", default=str(REPO / ".liftsense" / "demo"), help="the demo's journal and state")
    a = ap.parse_args(argv)
    demo = Demo(a)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does: children included
    try:
        url = demo.run()
        print(f"LiftSense demo: open {url}  (Ctrl-C stops it all)", flush=True)
        while all(p.poll() is None for name, p in demo.procs if name != "band"):
            time.sleep(0.5)
        dead = [name for name, p in demo.procs if name != "band" and p.poll() is not None]
        print(f"the {' and the '.join(dead)} stopped: stopping the demo", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.stop()
        print("demo stopped", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
