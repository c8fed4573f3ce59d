"""Training weights by group: a session whose clips all share one verdict must not teach the verdict."""

import numpy as np
import pandas as pd
import pytest

from liftsense.models.group_balance import group_weights
from tests.test_calibration import CLASSES, lifters

META = pd.DataFrame(
    {
        "group": ["mixed"] * 4 + ["all_faulty"] * 3 + ["small_mixed"] * 2,
        "correct": [1, 0, 0, 0, 0, 0, 0, 1, 0],  # mixed, all_faulty, small_mixed
    }
)


def test_group_weights_leave_out_single_verdict_groups_and_balance_the_rest():
    np.testing.assert_array_equal(group_weights(META, "none"), np.ones(9))
    np.testing.assert_array_equal(group_weights(META, "drop"), [1, 1, 1, 1, 0, 0, 0, 1, 1])
    w = group_weights(META, "weight")
    assert (w[4:7] == 0).all() and w[w > 0].mean() == pytest.approx(1.0)
    # each kept group weighs the same, half on each verdict
    assert w[:4].sum() == pytest.approx(w[7:].sum())
    assert w[0] == pytest.approx(w[1:4].sum()) and w[7] == pytest.approx(w[8])
    with pytest.raises(ValueError, match="unknown group_balance"):
        group_weights(META, "stratify")


def test_a_session_of_only_faulty_clips_cannot_become_the_verdict():
    """Session c keeps only two faulty clips: under `drop` it teaches nothing (the fit equals one without it),
    and both balancing policies count it as left out."""
    from liftsense.models.clip_model import ClipFormModel

    seqs = lifters({"a": 5.0, "b": 30.0, "c": 18.0})
    y = seqs.meta["correct"].astype(int).to_numpy()
    only_faulty = np.flatnonzero(seqs.meta["group"] == "c")[:2]
    keep = np.concatenate([np.flatnonzero(seqs.meta["group"] != "c"), only_faulty])
    seqs, y = seqs.subset(keep), y[keep]
    seqs.meta.loc[seqs.meta["group"] == "c", "correct"] = False
    y[seqs.meta["group"].to_numpy() == "c"] = 0

    dropped = ClipFormModel(CLASSES, c=1.0, group_balance="drop").fit(seqs, y)
    assert dropped.unbalanced_training_clips_ == 2
    plain = ClipFormModel(CLASSES, c=1.0).fit(seqs, y)
    assert plain.unbalanced_training_clips_ == 0
    weighted = ClipFormModel(CLASSES, estimator="forest", group_balance="weight").fit(seqs, y)
    assert weighted.unbalanced_training_clips_ == 2
    # the dropped model was fitted without group c: it equals a model fitted on a and b alone
    ab = np.flatnonzero(seqs.meta["group"] != "c")
    alone = ClipFormModel(CLASSES, c=1.0).fit(seqs.subset(ab), y[ab])
    np.testing.assert_allclose(dropped.predict_proba(seqs), alone.predict_proba(seqs))


def test_balancing_groups_of_one_verdict_each_is_refused_with_the_reason():
    from liftsense.models.clip_model import ClipFormModel

    seqs = lifters({"a": 5.0, "b": 30.0})
    scenes = seqs.meta.assign(
        group=[f"scene{i}" for i in range(len(seqs))]
    )  # one clip per group: push-up data
    seqs.meta = scenes
    y = seqs.meta["correct"].astype(int).to_numpy()
    with pytest.raises(ValueError, match="no group holds both correct and faulty clips"):
        ClipFormModel(CLASSES, group_balance="drop").fit(seqs, y)
    with pytest.raises(ValueError, match="unknown group_balance"):
        ClipFormModel(CLASSES, group_balance="yes")


def test_window_networks_balance_groups_by_dropping_and_sampling():
    import torch

    from liftsense.pipelines.posture import Split, _balance_groups, _loader
    from liftsense.pose.features import Windows
    from liftsense.pose.gaps import GapCounts

    seqs = lifters({"a": 5.0, "b": 30.0})
    seqs.meta.loc[seqs.meta["group"] == "b", "correct"] = False  # b: a session of faulty clips only
    clip_index = np.repeat(np.arange(len(seqs)), 3)  # 3 windows per clip
    x = np.arange(len(clip_index), dtype=np.float32)[:, None, None]
    y = seqs.meta["correct"].astype(int).to_numpy()[clip_index]
    train = Split(seqs, Windows(x, clip_index, np.zeros_like(clip_index), GapCounts()), x, y)

    dropped, n = _balance_groups(train, "drop")
    assert n == 18 and len(dropped.x) == 18 and dropped.weights is None
    assert set(seqs.meta["group"].to_numpy()[dropped.windows.clip_index]) == {"a"}
    same, n = _balance_groups(train, "none")
    assert n == 0 and np.array_equal(same.x, train.x) and same.weights is None

    weighted, _ = _balance_groups(train, "weight")
    # group a: 4 correct and 2 faulty clips, so a faulty window is drawn twice as often as a correct one
    w = weighted.weights
    assert w[weighted.y == 0][0] == pytest.approx(2 * w[weighted.y == 1][0])
    loader = _loader(weighted, 6, True, seed=0)
    assert sum(len(yb) for _, yb in loader) == 18  # an epoch draws as many windows as there are
    drawn = torch.cat([yb for _ in range(10) for _, yb in loader])
    assert 0.4 < drawn.float().mean() < 0.6  # about half correct, where plain shuffling gives 4 in 6
    only_b = seqs.subset(np.arange(6, 12))
    b_windows = Windows(x[:18], clip_index[:18], np.zeros(18, int), GapCounts())
    with pytest.raises(ValueError, match="no group holds both"):
        _balance_groups(Split(only_b, b_windows, x[:18], np.zeros(18, int)), "weight")
