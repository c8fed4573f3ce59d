"""Shared fixtures. Real-data tests skip cleanly when ../shared/data is absent, except in CI where they must run."""

from __future__ import annotations

import os
import subprocess
import sys
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


def run_entry_point(script: str, home: Path, *overrides: str) -> subprocess.CompletedProcess:
    """Run training/<script> as a user would, with its MLflow store and outputs under `home`."""
    env = {**os.environ, "LIFTSENSE_HOME": str(home), "MLFLOW_DISABLE_TELEMETRY": "true"}
    return subprocess.run(
        [sys.executable, str(ROOT / "training" / script), *overrides],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
