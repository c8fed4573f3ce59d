"""The service's request schemas alone (no server): packed float32 fields refuse infinities wherever they are,
and keep NaN, which is how a missing landmark is sent."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from pydantic import ValidationError

from serving.schemas import LandmarkClipIn, WindowIn


def _packed(values: np.ndarray) -> str:
    return base64.b64encode(np.asarray(values, dtype="<f4").tobytes()).decode()


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, 7, 15 * 33 * 4 - 1])
def test_an_infinity_anywhere_in_a_packed_window_is_refused_by_name(bad, where):
    window = np.random.default_rng(0).normal(size=15 * 33 * 4)
    window[where] = bad
    with pytest.raises(ValidationError, match="packed: infinite values"):
        WindowIn.model_validate_json(f'{{"packed": "{_packed(window)}"}}')


def test_nan_is_a_missing_landmark_not_an_error():
    window = np.full((15, 33, 4), np.nan)
    got = WindowIn.model_validate_json(f'{{"packed": "{_packed(window)}"}}').array
    assert got.shape == (15, 33, 4) and np.isnan(got).all()


def test_a_packed_window_of_the_wrong_size_says_how_many_frames_it_got():
    with pytest.raises(ValidationError, match="15 frames of 33 x 4 float32 values, got 14 frames"):
        WindowIn.model_validate_json(f'{{"packed": "{_packed(np.zeros((14, 33, 4)))}"}}')


def test_an_infinity_in_a_packed_clip_is_refused_by_field():
    clip = np.zeros((20, 33, 4))
    clip[19, 32, 0] = np.inf
    with pytest.raises(ValidationError, match="landmarks_packed: infinite values"):
        LandmarkClipIn.model_validate_json(f'{{"fps": 30, "landmarks_packed": "{_packed(clip)}"}}')
