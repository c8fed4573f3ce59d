"""The firmware's Kalman test compares the C filter with a committed reference header; this keeps the header what
the Python reference (`liftsense.ppg.kalman`) computes today, and checks the reference itself on known inputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_real_data

ROOT = Path(__file__).resolve().parents[1]


def test_a_constant_reading_passes_unchanged_and_a_step_is_followed():
    from liftsense.ppg.kalman import kalman_filter

    acc = np.zeros((3, 60), np.float32)
    acc[2] = -1.0
    acc[0, 30:] = 0.5
    out = kalman_filter(acc)
    assert np.array_equal(out[:, :30], acc[:, :30]) and np.array_equal(out[1:], acc[1:])
    assert np.all(np.diff(out[0, 29:34]) > 0) and out[0, 33] > 0.4995 and out[0].max() <= 0.5


@pytest.mark.real_data
def test_the_committed_c_reference_is_what_the_python_filter_computes():
    require_real_data("spc2015")
    spec = importlib.util.spec_from_file_location(
        "gen", ROOT / "firmware" / "tools" / "gen_kalman_reference.py"
    )
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    committed = (ROOT / "firmware" / "tests" / "data" / "kalman_reference.h").read_text()
    assert gen.reference() == committed, "regenerate with firmware/tools/gen_kalman_reference.py"
