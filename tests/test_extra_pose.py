"""The small real form datasets (exercise_correction, posetrainer) and the image-plane features that read them."""

from __future__ import annotations

import numpy as np
import pytest

from liftsense.pose.landmarks import BP, N_BLAZEPOSE
from tests.conftest import labelled_meta, require_real_data

#: a lifter seen from the side, facing +x (image y down), in pixels: standing straight
STANDING = {
    "nose": (110.0, 20.0),
    "shoulder": (100.0, 50.0),
    "elbow": (100.0, 90.0),
    "wrist": (100.0, 130.0),
    "hip": (100.0, 150.0),
    "knee": (100.0, 200.0),
    "ankle": (100.0, 250.0),
    "heel": (95.0, 255.0),
    "foot_index": (115.0, 255.0),
}


def side_view(
    points: dict[str, tuple[float, float]], frames: int = 10, sides=("left", "right")
) -> np.ndarray:
    """(frames, 33, 4) with only the given joints (both sides at the same spot), z NaN, visibility NaN."""
    lm = np.full((frames, N_BLAZEPOSE, 4), np.nan, dtype=np.float32)
    for part, (x, y) in points.items():
        names = [part] if part == "nose" else [f"{side}_{part}" for side in sides]
        for name in names:
            lm[:, BP[name], :2] = (x, y)
    return lm


def test_openpose_neck_restores_a_lost_shoulder_and_depth_stays_missing():
    from liftsense.datasets.extra_pose import openpose18_to_blazepose

    index = np.full(18, -1, dtype=np.int16)
    index[[0, 2, 5]] = [BP["nose"], BP["right_shoulder"], BP["left_shoulder"]]
    kp = np.full((2, 18, 3), np.nan, dtype=np.float32)
    kp[:, 0] = (50, 10, 0.9)
    kp[:, 1] = (50, 40, 0.8)  # neck
    kp[:, 2] = (40, 40, 0.7)  # right shoulder
    kp[1, 5] = (61, 41, 0.6)  # left shoulder seen in frame 1 only
    out = openpose18_to_blazepose(kp, index)
    assert out.shape == (2, N_BLAZEPOSE, 4)
    np.testing.assert_allclose(out[0, BP["left_shoulder"], :2], (60, 40))  # 2 * neck - right shoulder
    np.testing.assert_allclose(out[1, BP["left_shoulder"], :2], (61, 41))  # a seen shoulder is kept as seen
    assert np.isnan(out[..., 2]).all()  # 2-D data: no depth, never a zero
    assert np.isnan(out[..., 3]).all()  # OpenPose confidence is not BlazePose visibility
    assert np.isnan(out[:, BP["left_knee"]]).all()


def test_partial_features_measure_known_geometry_and_ignore_mirroring():
    from liftsense.pose.partial_features import partial_clip_features

    lean = dict(STANDING, shoulder=(100.0 - 100.0 * np.tan(np.radians(20)), 50.0))  # 20 degrees back
    f = partial_clip_features(side_view(lean))
    assert f["trunk_lean_back_p50"] == pytest.approx(20.0, abs=0.01)
    mirrored = side_view({k: (400.0 - x, y) for k, (x, y) in lean.items()})
    assert partial_clip_features(mirrored)["trunk_lean_back_p50"] == pytest.approx(20.0, abs=0.01)
    straight = partial_clip_features(side_view(STANDING))
    assert straight["knee_angle_p50"] == pytest.approx(180.0)
    assert straight["elbow_above_shoulder_p50"] == pytest.approx(-0.4)  # 40 px below, torso 100 px
    assert straight["knee_past_toe_p50"] == pytest.approx(-0.15)  # knee 15 px behind the toes
    assert straight["hip_above_body_line_p50"] == pytest.approx(0.0)
    # a plank facing +x, hips 10 px above the shoulder-ankle line: "hips too high" is + (up), mirrored too
    plank = {"nose": (310.0, 95.0), "shoulder": (300.0, 100.0), "hip": (200.0, 90.0), "ankle": (100.0, 100.0)}
    for points in (plank, {k: (400.0 - x, y) for k, (x, y) in plank.items()}):
        high = partial_clip_features(side_view(points))
        torso = np.hypot(100.0, 10.0)
        assert high["hip_above_body_line_p50"] == pytest.approx(10.0 / torso, rel=1e-3)


def test_partial_features_leave_unseen_joints_missing_and_refuse_short_clips():
    from liftsense.pose.partial_features import partial_clip_features

    upper = {k: v for k, v in STANDING.items() if k in ("nose", "shoulder", "elbow", "wrist", "hip")}
    f = partial_clip_features(side_view(upper))
    assert np.isnan(f["knee_angle_p50"]) and np.isnan(f["knee_past_toe_p50"])
    assert f["elbow_angle_p50"] == pytest.approx(180.0)
    assert partial_clip_features(side_view(upper, frames=4)) == {}  # fewer than 5 frames with a torso
    no_hips = {k: v for k, v in upper.items() if k != "hip"}
    assert partial_clip_features(side_view(no_hips)) == {}


def test_partial_clip_model_imputes_training_medians_not_zeros():
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.pose.sequences import PoseSequences

    rng = np.random.default_rng(0)
    clips, labels = [], []
    for i in range(24):
        faulty = i % 2 == 1
        tilt = (25.0 if faulty else 2.0) + rng.normal(0, 2)
        lean = dict(STANDING, shoulder=(100.0 - 100.0 * np.tan(np.radians(tilt)), 50.0))
        clip = side_view(lean, frames=12)
        if i == 4:
            clip[:, [BP["left_knee"], BP["right_knee"]]] = np.nan  # one clip lost its knees
        clips.append(clip)
        labels.append(int(not faulty))
    meta = labelled_meta(labels, "barbell_curl", "lean_back", n_groups=4)
    seqs = PoseSequences.from_clips(clips, meta, fps=30.0, source="test")
    model = ClipFormModel(["incorrect", "correct"], feature_set="partial").fit(seqs, np.array(labels))
    column = model.columns_.index("knee_angle_p50")
    assert model.fill_[column] == pytest.approx(180.0)  # the median of the clips that have knees, not 0
    short = seqs.subset([0])
    short.landmarks[4:] = np.nan
    proba = model.predict_proba(seqs.subset([1, 2]))
    assert (proba.argmax(axis=1) == [0, 1]).all()
    assert np.isnan(model.predict_proba(short)).all()  # 4 frames with a torso: no reading
    with pytest.raises(ValueError, match="feature_set"):
        ClipFormModel(["a", "b"], feature_set="full body")


def test_exercise_correction_loads_form_labels_with_declared_absent_joints():
    require_real_data("pose", "exercise_correction_mediapipe")
    from liftsense.datasets.extra_pose import load_exercise_correction, load_exercise_phases

    seqs = load_exercise_correction()
    assert len(seqs) == 90  # 7 + 6 curl, 23 + 29 lunge, 8 + 7 + 10 plank: no phase or still-photo rows
    assert set(seqs.meta["exercise"]) == {"barbell_curl", "forward_lunge", "plank"}
    assert set(seqs.meta["label"]) == {
        "correct",
        "lean_back",
        "knee_over_toe",
        "hips_too_high",
        "hips_too_low",
    }
    assert "left_knee" in seqs.absent["barbell_curl"] and "left_wrist" in seqs.absent["forward_lunge"]
    assert "plank" not in seqs.absent
    assert seqs.meta.groupby("group")["exercise"].nunique().max() == 1  # a scene holds one task
    curl = load_exercise_correction(["bicep_curl_lean"])
    assert len(curl) == 13 and curl.absent.keys() == {"barbell_curl"}
    with pytest.raises(ValueError, match="unknown exercise_correction tasks"):
        load_exercise_correction(["squat_stage"])
    phases = load_exercise_phases("lunge_stage")
    assert set(phases.meta["label"]) == {"init_standing", "mid", "down"}
    assert (np.diff(phases.meta["first_row"].to_numpy()) > 0).all()  # recording order


def test_posetrainer_loads_2d_reps_grouped_by_setup():
    require_real_data("pose", "posetrainer_openpose18")
    from liftsense.datasets.extra_pose import load_posetrainer

    seqs = load_posetrainer()
    assert len(seqs) == 112 and seqs.meta["group"].nunique() == 13
    counts = seqs.meta.groupby("source_exercise")["correct"].agg(["sum", "size"])
    assert counts.loc["bicep_curl"].tolist() == [6, 16] and counts.loc["shoulder_shrug"].tolist() == [15, 32]
    assert set(seqs.meta["label"]) == {"correct", "incorrect"}  # the fault is not named per clip
    assert np.isnan(seqs.landmarks[..., 2]).all()
    assert seqs.absent["overhead_press"] == ("left_heel", "right_heel", "left_foot_index", "right_foot_index")
    press = load_posetrainer(["shoulder_press"])
    assert set(press.meta["exercise"]) == {"overhead_press"} and len(press) == 36


def test_window_networks_refuse_partial_body_data_with_what_it_lacks():
    require_real_data("pose", "posetrainer_openpose18")
    from liftsense.datasets.extra_pose import load_posetrainer
    from liftsense.pipelines.posture import require_full_body

    cfg = {"model": {"name": "cnn"}, "data": {"name": "posetrainer", "clip_features": "partial"}}
    with pytest.raises(ValueError, match=r"left_heel.*model=clip_logistic"):
        require_full_body(cfg, load_posetrainer(["bicep_curl"]))
    require_full_body({**cfg, "model": {"name": "clip_forest"}}, load_posetrainer(["bicep_curl"]))


@pytest.mark.slow
def test_train_on_one_small_set_and_score_the_other_through_the_entry_points(tmp_path):
    """A user trains on every clip of exercise_correction and scores posetrainer's curls with evaluate.py."""
    import json

    require_real_data("pose", "exercise_correction_mediapipe")
    require_real_data("pose", "posetrainer_openpose18")
    from tests.conftest import run_entry_point

    proc = run_entry_point(
        "train.py", tmp_path, "model=clip_forest", "data=exercise_correction", "split.refit=true"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = mlflow.search_runs(experiment_names=["posture-binary"], output_format="list")
    metrics = run.data.metrics
    assert 0.0 < metrics["test_judged_share"] <= 1.0 and "test_judged_clip_accuracy" in metrics
    assert metrics["test_train_cells_imputed"] >= 0 and metrics["test_refit"] == 1.0
    assert run.data.tags["data_source"] == "exercise_correction_mediapipe33"
    out = tmp_path / "eval.json"
    proc = run_entry_point(
        "evaluate.py",
        tmp_path,
        f"model_uri=runs:/{run.info.run_id}/model",
        "data=posetrainer",
        "data.exercises=[bicep_curl]",
        f"output_json={out}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    scored = json.loads(out.read_text())
    assert scored["n_clips_scored"] + scored["n_clips_without_window"] == 16
    assert 0.0 <= scored["clip_accuracy"] <= 1.0
    from liftsense.pipelines.posture import load_classifier

    served = load_classifier(model_uri=f"runs:/{run.info.run_id}/model")
    assert served.sure_probability_ == pytest.approx(
        metrics["test_sure_probability"]
    )  # kept through the refit
    assert 0.0 <= scored["judged_share"] <= 1.0
