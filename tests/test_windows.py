import numpy as np
import pandas as pd
import pytest

from liftsense.pose.features import FeatureConfig, FeatureScaler, WindowFeaturizer, sliding_starts
from liftsense.pose.gaps import interpolate_short_gaps, valid_frames
from liftsense.pose.landmarks import BP, KEPT_LANDMARKS
from liftsense.pose.normalize import normalize_clip
from liftsense.pose.sequences import PoseSequences


def test_sliding_starts_edges():
    assert sliding_starts(14, 15, 5).tolist() == []
    assert sliding_starts(15, 15, 5).tolist() == [0]
    assert sliding_starts(30, 15, 5).tolist() == [0, 5, 10, 15]
    assert sliding_starts(31, 15, 5).tolist() == [0, 5, 10, 15]
    assert sliding_starts(20, 15, 1).tolist() == list(range(6))


def _clip(n, rng, start=0.0):
    base = rng.uniform(0.3, 0.7, (33, 3))
    lm = np.zeros((n, 33, 4), np.float32)
    lm[..., :3] = base + np.linspace(0, 0.1, n)[:, None, None] + start
    lm[..., 3] = 0.99
    return lm


def _seqs(clips, exercises):
    meta = pd.DataFrame(
        {
            "sequence_id": [f"c{i}" for i in range(len(clips))],
            "exercise": exercises,
            "label": "correct",
            "correct": True,
            "group": "g",
        }
    )
    return PoseSequences.from_clips(clips, meta, fps=30, source="test")


def test_windows_shape_and_per_exercise_length(rng):
    seqs = _seqs([_clip(40, rng), _clip(40, rng)], ["squat", "curl"])
    cfg = FeatureConfig(window=15, stride=5, per_exercise_window={"squat": 20})
    w = WindowFeaturizer(cfg).transform(seqs)
    n_squat, n_curl = len(sliding_starts(40, 20, 5)), len(sliding_starts(40, 15, 5))
    assert w.x.shape == (n_squat + n_curl, 20, 61)
    curl = w.x[w.clip_index == 1]
    assert np.all(curl[:, :5] == 0) and np.all(np.any(curl[:, 5:] != 0, axis=-1))  # left-padded


def test_gap_policies_count_and_handle_missing_frames(rng):
    clip = _clip(45, rng)
    clip[20:23] = np.nan  # a short gap: 3 frames with no detection
    clip[30, KEPT_LANDMARKS[:12], 3] = 0.1  # a frame where most kept landmarks are barely visible
    seqs = _seqs([clip], ["squat"])
    interp = WindowFeaturizer(FeatureConfig(gap_policy="interpolate", max_gap=5)).transform(seqs)
    drop = WindowFeaturizer(FeatureConfig(gap_policy="drop")).transform(seqs)
    mask = WindowFeaturizer(FeatureConfig(gap_policy="mask", max_missing_fraction=0.3)).transform(seqs)
    assert interp.counts.frames_missing == drop.counts.frames_missing == 4
    assert interp.counts.frames_interpolated == 4 and interp.counts.windows_dropped == 0
    # windows touching frames 20-22 or 30 are dropped: starts 10, 15, 20 (20-22) and 20, 25, 30 (30)
    assert drop.counts.windows_dropped == len({10, 15, 20, 25, 30})
    assert mask.x.shape[-1] == 62 and mask.counts.frames_masked == 4
    assert set(np.unique(mask.x[..., -1])) <= {0.0, 1.0} and (mask.x[..., -1] == 0).any()
    assert np.isfinite(mask.x).all() and np.isfinite(interp.x).all()


def test_interpolation_is_linear_and_never_extrapolates():
    v = np.arange(10, dtype=float)[:, None, None] * np.ones((10, 2, 3))
    valid = np.ones(10, bool)
    valid[[0, 4, 5]] = False
    filled, now = interpolate_short_gaps(np.where(valid[:, None, None], v, np.nan), valid, max_gap=2)
    assert now.tolist() == [False] + [True] * 9
    np.testing.assert_allclose(filled[4:6], v[4:6])
    _, none = interpolate_short_gaps(v, valid, max_gap=1)
    assert not none[4] and not none[5]


def test_valid_frames_treats_missing_visibility_as_visible(rng):
    clip = _clip(3, rng)
    clip[..., 3] = np.nan  # 3-D data carries no visibility
    clip[2, BP["left_knee"], 0] = np.nan
    assert valid_frames(clip, 0.5).tolist() == [True, True, False]


def test_body_normalisation_removes_position_and_scale(rng):
    xyz = rng.normal(size=(10, 17, 3))
    moved = 3.0 * xyz + np.array([5.0, -2.0, 1.0])
    np.testing.assert_allclose(normalize_clip(xyz, "body"), normalize_clip(moved, "body"), atol=1e-9)
    assert not np.allclose(normalize_clip(xyz, "raw"), normalize_clip(moved, "raw"))


def test_canonical_normalisation_removes_camera_yaw(rng):
    xyz = rng.normal(size=(10, 17, 3))
    a = np.radians(35)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    np.testing.assert_allclose(
        normalize_clip(xyz, "canonical"), normalize_clip(xyz @ rot.T, "canonical"), atol=1e-9
    )


def test_scaler_fits_train_only_and_keeps_padding(rng):
    x = rng.normal(5, 2, (50, 15, 4)).astype(np.float32)
    x[:, :3] = 0  # padding
    s = FeatureScaler().fit(x)
    z = s.transform(x)
    assert np.all(z[:, :3] == 0)
    assert abs(z[:, 3:].mean()) < 0.05 and abs(z[:, 3:].std() - 1) < 0.05
    with pytest.raises(RuntimeError):
        FeatureScaler().transform(x)
    np.testing.assert_allclose(FeatureScaler.from_state(s.state()).transform(x), z)


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="normalization"):
        FeatureConfig(normalization="pixels")
    with pytest.raises(ValueError, match="gap_policy"):
        FeatureConfig(gap_policy="ignore")


def test_metrics_vote_per_clip_and_break_down_by_label():
    from liftsense.evaluation.metrics import evaluate

    meta = pd.DataFrame({
        "sequence_id": ["a", "b", "c"], "exercise": ["squat", "squat", "curl"],
        "label": ["correct", "knees caving", "correct"], "correct": [True, False, True], "group": ["g1", "g2", "g3"],
    })  # fmt: skip
    # clip a: 2 of 3 windows say correct; clip b: both say incorrect; clip c: both say correct, narrowly
    proba = np.array([[0.2, 0.8], [0.3, 0.7], [0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.4, 0.6], [0.45, 0.55]])
    clip_index = np.array([0, 0, 0, 1, 1, 2, 2])
    m = evaluate(proba, clip_index, meta, ["incorrect", "correct"], "binary")
    assert m["clip_accuracy"] == 1.0 and m["clip_f1"] == 1.0
    assert m["window_accuracy"] == pytest.approx(6 / 7)
    assert m["label_knees_caving_clip_accuracy"] == 1.0 and m[
        "baseline_always_correct_clip_f1"
    ] == pytest.approx(0.8)
    assert m["squat_window_accuracy"] == pytest.approx(4 / 5)


def test_fused_cnn_predicts_like_the_trained_one():
    import torch

    from liftsense.models.form_classifier import FormClassifier

    torch.manual_seed(0)
    clf = FormClassifier("cnn", n_features=61, classes=["incorrect", "correct"], preprocessing={})
    clf.train()
    x = torch.randn(64, 15, 61)
    clf.net(x).sum().backward()  # one step of training-mode use so BatchNorm statistics move
    with torch.no_grad():
        for bn in (m for m in clf.net.modules() if isinstance(m, torch.nn.BatchNorm1d)):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
    clf.eval()
    with torch.no_grad():
        expected = torch.softmax(clf.net(x), 1).numpy()
    np.testing.assert_allclose(clf.predict_proba(x.numpy()), expected, atol=1e-5)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in clf.inference_network().modules())


def test_inference_cache_stays_out_of_the_state_dict():
    from liftsense.models.form_classifier import FormClassifier

    clf = FormClassifier("cnn", n_features=61, classes=["incorrect", "correct"], preprocessing={})
    keys = set(clf.state_dict())
    clf.predict_proba(np.zeros((2, 15, 61), np.float32))
    assert set(clf.state_dict()) == keys
    import pickle

    restored = pickle.loads(pickle.dumps(clf))
    assert "_inference_net" not in restored.__dict__
    np.testing.assert_allclose(
        restored.predict_proba(np.ones((2, 15, 61), np.float32)),
        clf.predict_proba(np.ones((2, 15, 61), np.float32)),
        atol=1e-6,
    )
    fused = clf.inference_network()
    clf.train()
    assert clf.inference_network() is not fused  # rebuilt after training mode


def test_whole_clip_resampling_keeps_ends_and_skips_missing_frames(rng):
    clip = _clip(40, rng)
    clip[10:13] = np.nan  # long enough to stay missing with max_gap=2
    seqs = _seqs([clip, _clip(2, rng)], ["squat", "squat"])
    cfg = FeatureConfig(clip_resample=16, max_gap=2, normalization="raw", include_angles=False)
    w = WindowFeaturizer(cfg).transform(seqs)
    assert w.x.shape == (1, 16, 51) and w.clip_index.tolist() == [0]  # 2 frames: below the minimum of 3
    assert w.counts.clips_without_window == 1
    from liftsense.pose.landmarks import KEPT_LANDMARKS

    first, last = clip[0, KEPT_LANDMARKS, :3].ravel(), clip[-1, KEPT_LANDMARKS, :3].ravel()
    np.testing.assert_allclose(w.x[0, 0], first, rtol=1e-6)
    np.testing.assert_allclose(w.x[0, -1], last, rtol=1e-6)
    assert np.all(np.diff(w.x[0, :, 0]) > 0)  # the ramp stays monotonic across the skipped gap


@pytest.mark.parametrize("normalization", ["raw", "body", "canonical", "floor"])
@pytest.mark.parametrize("gap_policy", ["interpolate", "drop", "mask"])
@pytest.mark.parametrize("clip_resample", [0, 30])
def test_a_batch_of_clips_is_featurised_as_each_clip_alone(rng, normalization, gap_policy, clip_resample):
    """The service featurises thousands of windows as one array: no clip may leak into another (a batch-wide
    median torso, a shared yaw, a gap filled from the next clip). Whole clips too: complete ones are resampled
    together, the others one by one, and the batch keeps clip order."""
    clips = [_clip(20, rng, start=0.1 * k) * (1 + k) for k in range(4)]
    clips[1][5:7] = np.nan  # a short gap
    clips[2][:] = np.nan  # no person at all
    clips[3][:, KEPT_LANDMARKS[:12], 3] = 0.1  # barely visible throughout
    cfg = FeatureConfig(normalization=normalization, gap_policy=gap_policy, clip_resample=clip_resample)
    featurizer = WindowFeaturizer(cfg)
    x, clip_index, starts, counts = featurizer.clips_windows(np.stack(clips), "squat")
    for k, clip in enumerate(clips):
        alone_x, alone_starts, alone_counts = featurizer.clip_windows(clip.copy(), "squat")
        np.testing.assert_allclose(x[clip_index == k], alone_x, atol=1e-6)
        assert starts[clip_index == k].tolist() == alone_starts.tolist()
        assert counts[k] == alone_counts
    assert counts[2].windows_dropped == counts[2].windows > 0  # the empty clip yields nothing, and says so


def test_metadata_given_as_columns_is_the_same_table_built_only_when_read():
    """The coach passes a judged set's metadata as columns: a model reads the exercise without the table; the
    table, when read, is what the DataFrame form gives; bad metadata is refused either way."""
    import pickle

    lm = np.random.default_rng(0).normal(size=(9, 33, 4)).astype(np.float32)
    columns = {
        "sequence_id": ["a", "b"], "exercise": ["squat", "curl"], "label": ["unknown"] * 2,
        "correct": [False, True], "group": ["g"] * 2,
    }  # fmt: skip
    lazy = PoseSequences.from_clips([lm[:4], lm[4:]], columns, fps=30.0, source="x")
    assert list(lazy.column("exercise")) == ["squat", "curl"] and "meta" not in vars(lazy)
    assert list(pickle.loads(pickle.dumps(lazy)).column("group")) == ["g", "g"]
    table = PoseSequences.from_clips([lm[:4], lm[4:]], pd.DataFrame(columns, dtype=object), 30.0, "x").meta
    pd.testing.assert_frame_equal(lazy.meta, table)
    assert "meta" in vars(lazy) and list(lazy.subset([1]).column("sequence_id")) == ["b"]
    with pytest.raises(ValueError, match="2 metadata rows for 1 clips"):
        PoseSequences.from_clips([lm], columns, fps=30.0, source="x")
    with pytest.raises(ValueError, match=r"lacks columns \['group'\]"):
        PoseSequences.from_clips(
            [lm[:4], lm[4:]], {k: v for k, v in columns.items() if k != "group"}, 30.0, "x"
        )
    with pytest.raises(AttributeError):
        lazy.no_such_attribute  # noqa: B018
