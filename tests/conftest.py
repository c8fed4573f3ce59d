"""Shared fixtures. Real-data tests skip cleanly when ../shared/data is absent, except in CI where they must run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from liftsense.datasets.paths import GET_DATA_HINT, data_dir


def require_real_data(*parts: str):
    path = data_dir().joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the real-data tests but {path} is missing. {GET_DATA_HINT}")
        pytest.skip(f"{path} is absent. {GET_DATA_HINT}")
    return path


def labelled_meta(labels: list[int], exercise: str, fault: str, n_groups: int):
    """Clip metadata for test clips: label 1 is "correct", 0 the fault; clip i in group i % n_groups."""
    import pandas as pd

    return pd.DataFrame(
        {
            "sequence_id": [f"c{i}" for i in range(len(labels))],
            "exercise": exercise,
            "label": ["correct" if y else fault for y in labels],
            "correct": np.array(labels, bool),
            "group": [f"g{i % n_groups}" for i in range(len(labels))],
        }
    )


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the session (tests create their own databases on it); skips without Debian's
    postgresql package, except in CI, which installs it."""
    from serving.postgres import PostgresServer

    try:
        server = PostgresServer()
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {exc}")
        pytest.skip(str(exc))
    with server:
        yield server


@pytest.fixture(scope="session")
def small_synth():
    from liftsense.pose.synth import SynthConfig, generate

    return generate(SynthConfig(seed=3, clips_per_exercise=8, subjects=6))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


ROOT = Path(__file__).resolve().parents[1]
#: train.py overrides for a small, fast posture job on the built-in data
SMALL_POSTURE = [
    "trainer=smoke",
    "data.synth.clips_per_exercise=6",
    "data.synth.subjects=6",
    "split.n_splits=3",
]
#: the same, in the paper's 15-frame windows (the built-in data judges whole clips by default): many batches an
#: epoch, for tests whose runs must last a while (killed mid-sweep, a server lost mid-training) or need batches
SMALL_WINDOWS = [*SMALL_POSTURE, "features.clip_resample=0"]


@pytest.fixture(autouse=True)
def _no_inherited_tracking_uri(monkeypatch):
    """`mlflow.set_tracking_uri` also exports MLFLOW_TRACKING_URI (for subprocesses), and the entry points honour it:
    one test's store must not become the next test's."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def chromium() -> Path:
    """Debian's chromium for the browser tests: they skip without it, except in CI, which installs it."""
    path = Path("/usr/bin/chromium")
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install Debian's chromium (.ci/run does)")
        pytest.skip("Debian's chromium is not installed")
    return path


def run_entry_point(
    script: str, home: Path, *overrides: str, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    """Run training/<script> as a user would, with its MLflow store and outputs under `home` (./mlflow.db there,
    unless `env` names a MLFLOW_TRACKING_URI: one that MLflow left in this process's environment is not passed on)."""
    environment = {**os.environ, "LIFTSENSE_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true"}
    environment.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "training" / script), *overrides],
        cwd=ROOT,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


_REQUEST_COUNTER = re.compile(
    r'^bentoml_service_request_total\{endpoint="/(\w+)",http_response_code="(\d+)"[^}]*\} ([\d.]+)$'
)


def request_counts(metrics: str, apis: tuple[str, ...]) -> tuple[Counter, Counter]:
    """(requests per API, 5xx answers per API) from a running service's Prometheus text (`/metrics`)."""
    total, errors = Counter(), Counter()
    for line in metrics.splitlines():
        m = _REQUEST_COUNTER.match(line)
        if m and m.group(1) in apis:
            total[m.group(1)] += int(float(m.group(3)))
            if m.group(2).startswith("5") and float(m.group(3)) > 0:
                errors[m.group(1)] += int(float(m.group(3)))
    return total, errors
