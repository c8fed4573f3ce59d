"""Rep-level features on built geometry: a stick-figure squat and push-up with known faults, seen by cameras."""

import numpy as np
import pandas as pd
import pytest

from liftsense.pose.landmarks import KEPT, KEPT_LANDMARKS, N_BLAZEPOSE
from liftsense.pose.rep_features import floor_frame, plank_features, standing_rep_features
from tests.conftest import labelled_meta

LEG = 0.8  # standing hip height above the ankles


def squat_clip(heel_lift=0.0, knee_cave=0.0, lean_deg=10.0, frames=50) -> np.ndarray:
    """World frame: x = the lifter's left, y up, z forward (toes). Stands, squats once, stands."""
    # 0 standing (the first and last 15 frames), 1 at the bottom, held for a few frames
    u = np.zeros(frames)
    u[15 : frames - 15] = np.minimum(
        1.3 * np.sin(np.pi * np.arange(1, frames - 29) / (frames - 29)) ** 2, 1.0
    )
    xyz = np.zeros((frames, len(KEPT), 3))

    def put(name, x, y, z):
        xyz[:, KEPT[name]] = np.stack(np.broadcast_arrays(x, y, z), axis=-1)

    lift = heel_lift * u
    for side, sx in (("left", 1.0), ("right", -1.0)):
        put(f"{side}_heel", sx * 0.12, lift, -0.05)
        put(f"{side}_foot_index", sx * 0.14, 0.0, 0.15)
        put(f"{side}_ankle", sx * 0.12, 0.1 + lift, 0.0)
        put(f"{side}_knee", sx * (0.14 + 0.04 * u - knee_cave * u), 0.5 - 0.1 * u, 0.2 * u)
        put(f"{side}_hip", sx * 0.12, 0.1 + LEG - 0.4 * u, -0.25 * u)
    lean = np.radians(lean_deg) * (0.3 + u)
    hip = 0.5 * (xyz[:, KEPT["left_hip"]] + xyz[:, KEPT["right_hip"]])
    shoulder = hip + 0.5 * np.stack([0 * u, np.cos(lean), np.sin(lean)], axis=1)
    for side, sx in (("left", 1.0), ("right", -1.0)):
        put(f"{side}_shoulder", shoulder[:, 0] + sx * 0.18, shoulder[:, 1], shoulder[:, 2])
        put(f"{side}_elbow", shoulder[:, 0] + sx * 0.2, shoulder[:, 1] - 0.25, shoulder[:, 2] + 0.1)
        put(f"{side}_wrist", shoulder[:, 0] + sx * 0.2, shoulder[:, 1] - 0.3, shoulder[:, 2] + 0.35)
    put("nose", shoulder[:, 0], shoulder[:, 1] + 0.25, shoulder[:, 2] + 0.1)
    return xyz


def camera(xyz: np.ndarray, seed: int, flip_y: bool = True) -> np.ndarray:
    """A random camera: rotation, y pointing down (a reflection), cm units, an offset."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    out = xyz @ q.T * 170.0 + np.array([30.0, -80.0, 250.0])
    return out * np.array([1.0, -1.0, 1.0]) if flip_y else out


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("flip_y", [True, False])
def test_floor_frame_undoes_any_camera(seed, flip_y):
    world = squat_clip()
    expected = (world - np.array([0.0, 0.1, 0.0])) / LEG  # origin: standing ankle midpoint; unit: leg length
    np.testing.assert_allclose(floor_frame(camera(world, seed, flip_y)), expected, atol=1e-9)


def test_features_do_not_depend_on_the_camera():
    world = squat_clip(heel_lift=0.05)
    a, b = standing_rep_features(camera(world, 3)), standing_rep_features(camera(world, 4, flip_y=False))
    assert a.keys() == b.keys() and len(a) > 100
    np.testing.assert_allclose([a[k] for k in a], [b[k] for k in a], atol=1e-6)


def test_heel_lift_is_measured_against_the_lifters_own_standing_pose():
    clean = standing_rep_features(camera(squat_clip(heel_lift=0.0), 5))
    lifted = standing_rep_features(camera(squat_clip(heel_lift=0.08), 5))
    assert clean["rep_left_heel_height_change"] == pytest.approx(0.0, abs=1e-9)
    assert lifted["rep_left_heel_height_change"] == pytest.approx(0.08 / LEG)  # in standing leg lengths
    assert lifted["rep_left_foot_pitch_change"] < -5.0  # toes below the heel: the foot tips forward
    assert clean["rep_left_toe_height_change"] == pytest.approx(0.0, abs=1e-9)


def test_knees_caving_and_depth_and_lean():
    good = standing_rep_features(camera(squat_clip(), 6))
    caving = standing_rep_features(camera(squat_clip(knee_cave=0.1), 6))
    assert good["rep_knee_over_ankle_width_bottom"] > 1.2  # knees track out over the feet
    assert caving["rep_knee_over_ankle_width_bottom"] < 0.8
    assert good["rep_knee_over_ankle_width_top"] == pytest.approx(
        caving["rep_knee_over_ankle_width_top"], abs=0.05
    )
    assert good["rep_range_of_motion"] == pytest.approx(0.4 / LEG)
    leaning = standing_rep_features(camera(squat_clip(lean_deg=40.0), 6))
    assert leaning["rep_trunk_lean_bottom"] - good["rep_trunk_lean_bottom"] == pytest.approx(38, abs=3)


def test_too_few_frames_give_no_features_not_made_up_ones():
    clip = camera(squat_clip(), 7)
    clip[4:] = np.nan
    assert standing_rep_features(clip) == {}
    with pytest.raises(ValueError, match="at least 5 frames"):
        floor_frame(clip[:3])


def pushup_clip(sag=0.0, reps=2, frames=60, facing_right=True) -> np.ndarray:
    """Side view in image coordinates (x right, y down): shoulders dip `reps` times; hips off the line by `sag`."""
    depth = (1 - np.cos(2 * np.pi * reps * np.arange(frames) / (frames - 1))) / 2
    xyz = np.zeros((frames, len(KEPT), 3))

    def put(name, x, y):
        xyz[:, KEPT[name], 0], xyz[:, KEPT[name], 1] = x, y

    sh_y = 0.55 + 0.12 * depth
    for side in ("left", "right"):
        put(f"{side}_ankle", 0.2, 0.8)
        put(f"{side}_heel", 0.18, 0.78)
        put(f"{side}_foot_index", 0.22, 0.82)
        put(f"{side}_shoulder", 0.7, sh_y)
        put(f"{side}_wrist", 0.7, 0.8)
        put(f"{side}_elbow", 0.7 - 0.02 - 0.12 * depth, 0.5 * (sh_y + 0.8))
        hip_y = 0.5 * (0.8 + sh_y) + sag
        put(f"{side}_hip", 0.45, hip_y)
        put(f"{side}_knee", 0.32, 0.5 * (0.8 + hip_y))
    put("nose", 0.78, sh_y - 0.03)
    if not facing_right:
        xyz[..., 0] = 1.0 - xyz[..., 0]
    return xyz


@pytest.mark.parametrize("facing_right", [True, False])
def test_pushup_body_line_sign_and_rep_count(facing_right):
    straight = plank_features(pushup_clip(0.0, facing_right=facing_right))
    sagging = plank_features(pushup_clip(0.06, facing_right=facing_right))
    piking = plank_features(pushup_clip(-0.06, facing_right=facing_right))
    assert straight["plank_hip_sag_p50"] == pytest.approx(0.0, abs=1e-9)
    assert sagging["plank_hip_sag_p50"] > 0.05 and piking["plank_hip_sag_p50"] < -0.05
    assert straight["plank_body_line_angle_p50"] == pytest.approx(180.0, abs=1e-6)
    assert straight["plank_reps"] == 2.0 and plank_features(pushup_clip(reps=3))["plank_reps"] == 3.0
    assert straight["plank_elbow_angle_change"] < -40  # elbows bend at the bottom


def test_clip_features_add_rep_sets_and_reject_unknown_ones():
    from liftsense.pose.clip_features import clip_features
    from liftsense.pose.sequences import PoseSequences

    clips = []
    for seed in range(2):
        full = np.full((50, N_BLAZEPOSE, 4), 1.0, dtype=np.float32)
        full[:, list(KEPT_LANDMARKS), :3] = camera(squat_clip(heel_lift=0.05 * seed), seed)
        clips.append(full)
    meta = pd.DataFrame(
        {
            "sequence_id": ["a", "b"],
            "exercise": "squat",
            "label": ["ok", "heels"],
            "correct": [True, False],
            "group": ["g", "g"],
        }
    )
    seqs = PoseSequences.from_clips(clips, meta, fps=30.0, source="test")
    x = clip_features(seqs, rep_sets=("standing_rep",))
    assert len(x) == 2 and "rep_left_heel_height_change" in x and "knee_p5" not in x
    assert x["rep_left_heel_height_change"].iloc[1] > x["rep_left_heel_height_change"].iloc[0] + 0.05
    assert np.isfinite(x.to_numpy()).all()
    with pytest.raises(ValueError, match="unknown rep feature sets"):
        clip_features(seqs, rep_sets=("bench_press",))


def test_floor_normalisation_removes_camera_tilt_and_keeps_y_down():
    from liftsense.pose.normalize import normalize_clip

    world = squat_clip()
    a, b = normalize_clip(camera(world, 8), "floor"), normalize_clip(camera(world, 9, flip_y=False), "floor")
    np.testing.assert_allclose(a, b, atol=1e-9)
    assert a[0, KEPT["nose"], 1] < a[0, KEPT["left_ankle"], 1]  # head above feet with y pointing down
    # canonical only removes yaw: a tilted camera still changes it
    assert not np.allclose(
        normalize_clip(camera(world, 8), "canonical"), normalize_clip(camera(world, 9), "canonical")
    )
    assert np.isnan(normalize_clip(camera(world, 8)[:3], "floor")).all()  # no standing pose: no coordinates


def heel_lift_squats(n: int = 12):
    """Squats through a new camera each, every other one lifting the heels: (clips, meta, sequences, y)."""
    from liftsense.pose.sequences import PoseSequences

    clips, labels = [], []
    for seed in range(n):
        lifted = seed % 2
        full = np.full((50, N_BLAZEPOSE, 4), 1.0, dtype=np.float32)
        full[:, list(KEPT_LANDMARKS), :3] = camera(squat_clip(heel_lift=0.06 * lifted), seed)
        clips.append(full)
        labels.append(1 - lifted)
    meta = labelled_meta(labels, "squat", "heels", n_groups=3)
    return clips, meta, PoseSequences.from_clips(clips, meta, fps=30.0, source="test"), np.array(labels)


def test_clip_model_fits_predicts_and_names_bad_input():
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.pose.sequences import PoseSequences

    clips, meta, seqs, y = heel_lift_squats()
    model = ClipFormModel(["incorrect", "correct"], estimator="logistic", c=1.0).fit(
        seqs.subset(range(8)), y[:8]
    )
    proba = model.predict_proba(seqs.subset(range(8, 12)))
    assert proba.shape == (4, 2) and np.allclose(proba.sum(1), 1)
    np.testing.assert_array_equal(proba.argmax(1), y[8:])  # heel lift, seen through new cameras
    # a clip with 3 tracked frames: no reading (NaN row, class -1), never a verdict from zero-filled features
    blank = [c.copy() for c in clips[8:10]]
    blank[0][3:] = np.nan
    few = PoseSequences.from_clips(blank, meta.iloc[8:10].reset_index(drop=True), fps=30.0, source="test")
    assert np.isnan(model.predict_proba(few)[0]).all() and np.isfinite(model.predict_proba(few)[1]).all()
    assert model.predict(few)[0] == -1 and model.predict(few)[1] == y[9]
    refit = ClipFormModel(["incorrect", "correct"], c=1.0).fit(
        PoseSequences.from_clips(clips[:8] + blank[:1], meta.iloc[:9].reset_index(drop=True), 30.0, "test"),
        y[:9],
    )
    assert refit.skipped_training_clips_ == 1
    with pytest.raises(ValueError, match="single class"):
        ClipFormModel(["incorrect", "correct"]).fit(seqs.subset([0, 2]), y[[0, 2]])
    with pytest.raises(ValueError, match="unknown estimator"):
        ClipFormModel(["incorrect", "correct"], estimator="svm")
    with pytest.raises(RuntimeError, match="fit the model first"):
        ClipFormModel(["incorrect", "correct"]).predict_proba(seqs)


def test_the_forest_grows_the_trees_asked_for_and_old_forests_load():
    """`n_trees` reaches the forest (1000 by default); a count that is no positive integer is refused, and a
    model logged before the option reads as the 300 trees it was fitted with."""
    import pickle

    from liftsense.models.clip_model import ClipFormModel
    from liftsense.models.estimators import FOREST_TREES, fitted_trees

    _, _, seqs, y = heel_lift_squats()
    model = ClipFormModel(["incorrect", "correct"], estimator="forest", n_trees=7).fit(
        seqs.subset(range(8)), y[:8]
    )
    kinds = fitted_trees(model.model_)
    assert sum(len(k.estimators_) for k in kinds) == 7 and all(k.n_jobs == 1 for k in kinds)
    assert ClipFormModel(["incorrect", "correct"]).n_trees == FOREST_TREES == 1000
    for bad in (0, -3, 2.5, True, "300"):
        with pytest.raises(ValueError, match="n_trees is the forest's number of trees"):
            ClipFormModel(["incorrect", "correct"], estimator="forest", n_trees=bad)
    old = pickle.loads(pickle.dumps(model))
    del old.__dict__["n_trees"]
    assert pickle.loads(pickle.dumps(old)).n_trees == 300


def test_the_forest_averages_random_forest_and_extra_trees_by_share():
    """`extra_trees_share` of the trees are extremely randomised and the clip's probability is the two kinds'
    mean; 0 and 1 give one kind alone; by default half for two classes and none for fault classes; a share
    outside [0, 1] is refused; a forest logged before the option loads as the plain random forest it was, and
    judges as before."""
    import pickle

    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    from liftsense.models.clip_model import ClipFormModel
    from liftsense.models.estimators import EXTRA_TREES_SHARE, fitted_trees

    _, _, seqs, y = heel_lift_squats()
    train, test = seqs.subset(range(8)), seqs.subset(range(8, len(seqs)))

    def fitted(share: float) -> ClipFormModel:
        model = ClipFormModel(
            ["incorrect", "correct"], estimator="forest", n_trees=10, extra_trees_share=share
        )
        return model.fit(train, y[:8])

    both = fitted(0.3)
    forest, extra = fitted_trees(both.model_)
    assert isinstance(forest, RandomForestClassifier) and len(forest.estimators_) == 7
    assert isinstance(extra, ExtraTreesClassifier) and len(extra.estimators_) == 3
    x = both._model_input(test, None)
    ok = np.isfinite(x).all(axis=1)
    assert ok.sum() >= 2
    mean = (forest.predict_proba(x[ok]) + extra.predict_proba(x[ok])) / 2
    np.testing.assert_allclose(both.predict_proba(test)[ok], mean, atol=1e-12)
    assert type(fitted(0.0).model_) is RandomForestClassifier
    assert type(fitted(1.0).model_) is ExtraTreesClassifier
    assert ClipFormModel(["incorrect", "correct"]).extra_trees_share == EXTRA_TREES_SHARE == 0.5
    assert ClipFormModel(["correct", "no_depth", "knees_caving"]).extra_trees_share == 0.0  # fault classes
    for bad in (-0.1, 1.5, True, float("nan"), "0.5"):
        with pytest.raises(ValueError, match="extra_trees_share is the share of the forest's trees"):
            ClipFormModel(["incorrect", "correct"], estimator="forest", extra_trees_share=bad)
    plain = fitted(0.0)
    del plain.__dict__["extra_trees_share"]
    old = pickle.loads(pickle.dumps(plain))
    assert old.extra_trees_share == 0.0
    np.testing.assert_array_equal(old.predict_proba(test), plain.predict_proba(test))


def test_nan_percentiles_are_numpys_nanpercentile_column_by_column():
    """The fast path (NaN-free columns in one call) gives nanpercentile's values, NaN columns included."""
    from liftsense.pose.series_stats import nan_percentiles

    values = np.random.default_rng(4).normal(size=(50, 5))
    values[[3, 7], 1] = np.nan  # a cue missing in some frames
    values[:, 3] = np.nan  # a cue never measured
    got = nan_percentiles(values, [5, 50, 95])
    with np.testing.suppress_warnings() as sup:
        sup.filter(RuntimeWarning)
        expected = np.stack([np.nanpercentile(values[:, j], [5, 50, 95]) for j in range(5)], axis=1)
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[:, 3]).all() and np.isfinite(got[:, [0, 1, 2, 4]]).all()


def test_nan_percentiles_match_nanpercentile_to_the_bit_on_any_shape_and_gaps():
    """Random lengths (1 to 200 frames), scales, ties and NaN patterns, odd percentiles: the same bits."""
    from liftsense.pose.series_stats import nan_percentiles

    rng = np.random.default_rng(7)
    for _ in range(300):
        frames, columns = int(rng.integers(1, 200)), int(rng.integers(1, 40))
        values = rng.normal(size=(frames, columns)) * rng.uniform(0.01, 100)
        values[rng.random(size=values.shape) < rng.uniform(0, 0.6)] = np.nan
        if rng.random() < 0.3:
            values = np.round(values, 1)  # ties
        q = [*rng.uniform(0, 100, size=3).tolist(), 0, 100]
        with np.testing.suppress_warnings() as sup:
            sup.filter(RuntimeWarning)
            expected = np.nanpercentile(values, q, axis=0)
        np.testing.assert_array_equal(nan_percentiles(values, q), expected)


def test_finite_percentiles_and_median_are_numpys_to_the_bit():
    """The coach's scalar path for NaN-free series: random lengths (1 to 300), scales and ties, odd and even."""
    from liftsense.pose.series_stats import finite_median, finite_percentiles

    rng = np.random.default_rng(11)
    for _ in range(2000):
        values = rng.normal(size=int(rng.integers(1, 300))) * 10 ** rng.uniform(-3, 3)
        if rng.random() < 0.3:
            values = np.round(values, 1)  # ties
        q = [*rng.uniform(0, 100, size=3).tolist(), 0, 2, 50, 98, 100]
        assert finite_percentiles(values, q) == np.percentile(values, q).tolist()
        assert finite_median(values) == float(np.median(values))


def test_a_rep_feature_model_leaves_the_clip_percentiles_out():
    """percentile_features=False (real squats by date): only the cues measured against the lifter's own pose."""
    import pickle

    from liftsense.models.clip_model import ClipFormModel
    from liftsense.pose.clip_features import is_rep_feature

    _, _, seqs, y = heel_lift_squats()
    full = ClipFormModel(["incorrect", "correct"], c=1.0).fit(seqs.subset(range(8)), y[:8])
    reps = ClipFormModel(["incorrect", "correct"], c=1.0, percentile_features=False).fit(
        seqs.subset(range(8)), y[:8]
    )
    assert reps.columns_ == [c for c in full.columns_ if is_rep_feature(c)]
    assert len(reps.columns_) < len(full.columns_) and "left_knee_p5" in full.columns_
    assert list(reps.features(seqs).columns) == reps.columns_
    np.testing.assert_array_equal(reps.predict(seqs.subset(range(8, 12))), y[8:])  # new cameras
    for refused in ({"rep_features": False}, {"feature_set": "partial"}):
        with pytest.raises(ValueError, match="percentile_features=False leaves only the rep features"):
            ClipFormModel(["incorrect", "correct"], percentile_features=False, **refused)
    old = pickle.loads(pickle.dumps(full))
    del old.__dict__["percentile_features"]  # a model logged before the option existed
    assert pickle.loads(pickle.dumps(old)).percentile_features is True


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"rep_features": False},
        {"drop_cues": ("hip_height", "depth")},
        {"percentile_features": False},
        {"rep_curves": True, "pool_sides": True, "drop_cues": ("hip_height",)},
    ],
)
def test_a_fitted_models_feature_matrix_is_its_feature_table(small_synth, kw):
    """The judged sets' matrix, built without pandas, holds what the feature table holds in the training columns:
    several exercises (each its own rep set), an exercise unseen in training, dropped cues, a clip too short."""
    from liftsense.models.clip_model import ClipFormModel

    seqs = small_synth
    exercises = seqs.meta["exercise"].astype(str).to_numpy()
    y = seqs.meta["correct"].astype(int).to_numpy()
    unseen = exercises == exercises[-1]
    model = ClipFormModel(["incorrect", "correct"], c=1.0, **kw).fit(
        seqs.subset(np.flatnonzero(~unseen)), y[~unseen]
    )
    assert model._fast_features
    clips = [seqs.clip(i).copy() for i in range(len(seqs))]
    clips[0][2:] = np.nan  # two tracked frames: no reading
    clips[1][:, 27, :3] = clips[1][:, 25, :3]  # the left ankle on the left knee: no knee angle, a NaN cue
    meta = seqs.meta.copy()
    meta.loc[2, "exercise"] = "pushup"  # another rep set: the standing reps' columns are missing, 0
    judged = type(seqs).from_clips(clips, meta, fps=seqs.fps, source=seqs.source)
    fast = model._values(judged)
    ok = model.usable(judged)
    assert not ok[0] and np.isnan(fast[0]).all()
    table = model.features(judged.subset(np.flatnonzero(ok))).to_numpy(np.float64)
    np.testing.assert_array_equal(fast[ok], table)
    before = model._values(seqs)
    zeros, zeros_before = (fast == 0).sum(axis=1), (before == 0).sum(axis=1)
    if model.pool_sides:  # a NaN cue reads 0 and is averaged with its other side's
        assert (fast[1] != before[1]).any()
    else:
        assert zeros[1] > zeros_before[1]  # the NaN cues, as 0
    assert zeros[2] > zeros_before[2] or not model.rep_features  # the columns of a rep set it lacks, as 0
    assert list(model.columns_) == list(model.features(judged.subset([1])).columns)


def test_the_rep_curve_follows_each_cue_from_the_standing_pose():
    """Known geometry: the heels rise with the squat's depth profile; standing frames read 0 on every cue."""
    from liftsense.pose.rep_features import CURVE_POINTS, CURVE_PREFIX, standing_rep_and_curve_features

    lifted = camera(squat_clip(heel_lift=0.08), 5)
    both = standing_rep_and_curve_features(lifted)
    summaries = standing_rep_features(lifted)
    assert {
        k: both[k] for k in summaries
    } == summaries  # the rep features, unchanged, and the curve beside them
    curve = {k: v for k, v in both.items() if k.startswith(CURVE_PREFIX)}
    assert len(curve) == len(both) - len(summaries) == 29 * CURVE_POINTS
    u = np.zeros(50)  # squat_clip's depth profile: standing for 15 frames at each end
    u[15:35] = np.minimum(1.3 * np.sin(np.pi * np.arange(1, 21) / 21) ** 2, 1.0)
    moments = np.linspace(0, 49, CURVE_POINTS)
    heel = [curve[f"rep_curve_left_heel_height_{k:02d}"] for k in range(CURVE_POINTS)]
    np.testing.assert_allclose(heel, np.interp(moments, np.arange(50), 0.08 * u / LEG), atol=1e-9)
    assert all(
        abs(curve[f"rep_curve_{cue}_00"]) < 1e-9 for cue in ("left_knee_angle", "trunk_lean", "hip_height")
    )
    assert curve["rep_curve_left_knee_angle_07"] < -30.0  # the knee bends on the way down
    other = standing_rep_and_curve_features(camera(squat_clip(heel_lift=0.08), 9, flip_y=False))
    np.testing.assert_allclose([other[k] for k in curve], list(curve.values()), atol=1e-6)  # any camera


@pytest.mark.filterwarnings("ignore:Mean of empty slice")  # the all-NaN series; its caller silences this too
def test_the_rep_curve_interpolates_over_a_cues_gaps_and_never_invents_one():
    from liftsense.pose.rep_features import CURVE_POINTS, _curve

    frames = 20
    ramp = np.arange(frames, dtype=float)
    gappy = ramp.copy()
    gappy[[3, 4, 11]] = np.nan  # a ratio undefined while the ankles overlap
    lonely = np.full(frames, np.nan)
    lonely[5] = 1.0  # one frame: no shape to draw
    top = np.zeros(frames, dtype=bool)
    top[:2] = True  # standing: the first two frames, mean 0.5
    curve = _curve({"ramp": ramp, "gappy": gappy, "lonely": lonely}, top)
    moments = np.linspace(0, frames - 1, CURVE_POINTS)
    for name in ("ramp", "gappy"):
        np.testing.assert_allclose(
            [curve[f"rep_curve_{name}_{k:02d}"] for k in range(CURVE_POINTS)], moments - 0.5
        )
    assert all(np.isnan(curve[f"rep_curve_lonely_{k:02d}"]) for k in range(CURVE_POINTS))


def test_pooled_sides_are_the_mean_of_each_left_right_pair():
    import pickle

    from liftsense.models.clip_model import ClipFormModel
    from liftsense.pose.clip_features import pool_sides, side_sources

    x = pd.DataFrame(
        {
            "left_knee_p5": [1.0, 3.0],
            "nose_p5": [7.0, 8.0],
            "right_knee_p5": [3.0, 5.0],
            "left_wrist_p5": [9.0, 9.0],
        }
    )
    pooled = pool_sides(x)
    assert list(pooled.columns) == ["both_knee_p5", "nose_p5", "left_wrist_p5"]  # a lone side stays as it is
    assert pooled["both_knee_p5"].tolist() == [2.0, 4.0] and pooled["nose_p5"].tolist() == [7.0, 8.0]
    first, second = side_sources(list(pooled.columns))
    assert first == ["left_knee_p5", "nose_p5", "left_wrist_p5"]
    assert second == ["right_knee_p5", "nose_p5", "left_wrist_p5"]

    _, _, seqs, y = heel_lift_squats()
    model = ClipFormModel(["incorrect", "correct"], c=1.0, rep_curves=True, pool_sides=True)
    model.fit(seqs.subset(range(8)), y[:8])
    assert "rep_curve_both_heel_height_08" in model.columns_ and "both_knee_p5" in model.columns_
    assert not any(c.startswith("rep_curve_left_") for c in model.columns_)
    np.testing.assert_array_equal(model.predict(seqs.subset(range(8, 12))), y[8:])  # new cameras
    plain = ClipFormModel(["incorrect", "correct"], c=1.0).fit(seqs.subset(range(8)), y[:8])
    assert not any(c.startswith("rep_curve_") or "both_" in c for c in plain.columns_)
    with pytest.raises(ValueError, match="rep_curves adds to the rep features"):
        ClipFormModel(["incorrect", "correct"], rep_curves=True, rep_features=False)
    with pytest.raises(ValueError, match="need feature_set='body'"):
        ClipFormModel(["incorrect", "correct"], pool_sides=True, feature_set="partial")
    old = pickle.loads(pickle.dumps(plain))
    del old.__dict__["rep_curves"], old.__dict__["pool_sides"]  # a model logged before the options existed
    again = pickle.loads(pickle.dumps(old))
    assert again.rep_curves is False and again.pool_sides is False
    np.testing.assert_array_equal(again.predict_proba(seqs), plain.predict_proba(seqs))


@pytest.mark.parametrize("classes", [2, 4])
def test_the_logistic_pipelines_probabilities_are_scikit_learns(classes):
    """The clip models' numpy shortcut for the standardised logistic pipeline answers what scikit-learn answers."""
    from sklearn.ensemble import RandomForestClassifier

    from liftsense.models.estimators import logistic, predict_proba

    rng = np.random.default_rng(classes)
    x = rng.normal(size=(120, 9)) * rng.uniform(0.1, 50, size=9) + rng.normal(size=9) * 10
    y = rng.integers(0, classes, size=120)
    model = logistic(0.5).fit(x, y)
    new = rng.normal(size=(7, 9)) * 20
    np.testing.assert_allclose(predict_proba(model, new), model.predict_proba(new), rtol=1e-12, atol=1e-15)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)  # any other model: as usual
    np.testing.assert_array_equal(predict_proba(forest, new), forest.predict_proba(new))
