"""Without ../shared (a fresh clone elsewhere): every command that needs real data says in one line what is missing,
what it is for and where to get it; the built-in data still validates and trains."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT, run_entry_point


def _env(tmp_path) -> dict[str, str]:
    env = {
        **os.environ,
        "LIFTSENSE_DATA_DIR": str(tmp_path / "no-shared-data"),
        "LIFTSENSE_HOME": str(tmp_path),
    }
    env.pop("CI", None)  # CI itself must have the data: there a missing dataset is an error (exit 2)
    return env


def test_training_on_absent_real_data_says_what_is_missing_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFTSENSE_DATA_DIR", str(tmp_path / "no-shared-data"))
    proc = run_entry_point("train.py", tmp_path, "data=squat_3d", "model=clip_logistic")
    said = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in said, said[-2000:]
    (line,) = [x for x in said.splitlines() if "not found" in x]
    assert "squat_3d" in line and "real squat clips" in line and "github.com/PrashCode5321" in line


def test_the_data_gate_skips_absent_real_data_in_one_line_and_passes_on_built_in_data(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "data_validation", "ci"], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert sum("-> PASS" in x for x in lines) == 3  # landmarks, ppg and hr built-in data
    (skipped,) = [x for x in lines if x.startswith("skipped")]
    assert "7 real datasets" in skipped and "python -m liftsense.datasets.paths" in skipped
    assert "not found" not in proc.stderr
    env = {**_env(tmp_path), "CI": "true"}
    in_ci = subprocess.run(
        [sys.executable, "-m", "data_validation", "ci"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert in_ci.returncode == 2  # CI must validate the real data, never skip it, and says so first
    assert "CI must validate them" in in_ci.stderr and "no-shared-data" in in_ci.stderr
    assert "-> PASS" not in in_ci.stdout
