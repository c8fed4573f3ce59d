"""What the coach stands on: world landmarks in the table, unique clip ids, the gate's labels, the coach CLI on
real video, and the training and evaluation fixes found on the way (refit, unlabelled tables, per-clip verdicts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, SMALL_POSTURE, require_real_data, run_entry_point


def test_world_landmarks_round_trip_and_older_tables_still_load(tmp_path, rng):
    from liftsense.pose.table import frames_to_table, read_table, world_landmarks, write_table

    image = rng.random((5, 33, 4)).astype(np.float32)
    world = rng.normal(size=(5, 33, 3)).astype(np.float32)
    path = write_table(
        frames_to_table("a/squat", image, 30.0, world=world, label="correct"), tmp_path / "t.parquet"
    )
    back = read_table(path)
    assert np.allclose(world_landmarks(back), world)
    old = frames_to_table("b", image, 30.0)  # a table written before world landmarks existed
    assert world_landmarks(read_table(write_table(old, tmp_path / "old.csv"))) is None
    with pytest.raises(ValueError, match="world landmarks"):
        frames_to_table("c", image, 30.0, world=world[:3])


def test_hip_centred_world_landmarks_get_the_hips_descent_back_from_the_feet(rng):
    from liftsense.pose.landmarks import BP
    from liftsense.pose.normalize import anchor_on_feet

    # a fixed-camera squat: feet still on the floor (y down, floor at y = 0.9), hips sinking 0.3 m
    t = np.linspace(0, 1, 40)
    fixed = rng.normal(0, 0.2, (1, 33, 3)).repeat(40, axis=0)
    for name in ("left_heel", "right_heel", "left_foot_index", "right_foot_index"):
        fixed[:, BP[name], 1] = 0.9
    for name in ("left_hip", "right_hip", "nose"):
        fixed[:, BP[name], 1] += 0.3 * np.sin(np.pi * t)
    hips = 0.5 * (fixed[:, BP["left_hip"]] + fixed[:, BP["right_hip"]])
    blazepose = fixed - hips[:, None, :]  # what BlazePose's world landmarks keep: the hips at the origin
    blazepose[5] = np.nan  # a frame without a person
    back = anchor_on_feet(blazepose)
    ok = np.isfinite(back).all(axis=(1, 2))
    # up to one constant shift, the fixed camera's coordinates come back: the hips go down and up again
    diff = (back - fixed)[ok]
    assert np.allclose(diff, diff[0], atol=1e-6)
    assert np.ptp(back[ok, BP["left_hip"], 1]) == pytest.approx(0.3, abs=0.01)
    assert np.isnan(back[5]).all()


def test_world_landmarks_are_averaged_over_time_without_inventing_frames(rng):
    from liftsense.pose.normalize import smooth_over_time

    ramp = np.linspace(0.0, 1.0, 30)[:, None] + rng.normal(0, 0.05, (30, 1))
    ramp[10] = np.nan
    out = smooth_over_time(ramp, 9)
    assert np.isnan(out[10]) and np.isfinite(np.delete(out, 10)).all()
    truth = np.linspace(0.0, 1.0, 30)[:, None]
    inner = slice(5, 25)
    assert np.nanstd((out - truth)[inner]) < 0.6 * np.nanstd((ramp - truth)[inner])  # jitter averaged away
    assert smooth_over_time(ramp[:3], 9).shape == (3, 1)  # a clip shorter than the window


def test_a_3d_model_reads_world_landmarks_from_a_table_and_refuses_a_table_without_them(rng):
    from liftsense.pose.table import LandmarkTableError, frames_to_table, table_to_sequences

    image = rng.random((6, 33, 4)).astype(np.float32)
    world = rng.normal(size=(6, 33, 3)).astype(np.float32)
    seqs = table_to_sequences(frames_to_table("s", image, 30.0, world=world), coordinates="world")
    clip = seqs.clip(0)
    assert np.allclose(clip[..., 3], image[..., 3])  # the image's visibility
    assert not np.allclose(clip[..., :3], image[..., :3])  # metres, not image coordinates
    with pytest.raises(LandmarkTableError, match="world landmarks"):
        table_to_sequences(frames_to_table("s", image, 30.0), coordinates="world")


def test_two_videos_with_one_name_stay_two_clips():
    from liftsense.pose.extract import unique_sequence_id

    seen: set[str] = set()
    a = unique_sequence_id(Path("left/squat.mp4"), "squat", seen)
    b = unique_sequence_id(Path("right/squat.mp4"), "squat", seen)
    c = unique_sequence_id(Path("left/squat.mp4"), "squat", seen)
    assert len({a, b, c}) == 3 and a == "left/squat" and c == "left/squat#2"


def test_the_gate_accepts_correct_and_incorrect_for_every_exercise():
    from data_validation.tables import known_labels

    for exercise, labels in known_labels().items():
        assert {"correct", "incorrect"} <= labels, exercise
    assert "sideways" not in known_labels()["squat"]


def test_a_fault_model_counts_clips_whose_label_names_no_fault():
    from liftsense.evaluation.metrics import clip_targets, task_classes

    meta = pd.DataFrame({"label": ["correct", "no depth", "incorrect"], "correct": [True, False, False]})
    classes = task_classes("fault", meta["label"])
    assert classes == ["correct", "no depth"]
    assert list(clip_targets("fault", meta, classes)) == [0, 1, -1]


@pytest.fixture(scope="module")
def media():
    return require_real_data("pose", "media")


def _coach(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "liftsense.coach", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_coach_cli_reports_reps_of_a_real_video_and_refuses_the_wrong_exercise(media, tmp_path):
    out = tmp_path / "report.json"
    video = media / "videos" / "pushup_wrong52.mp4"
    proc = _coach(str(video), str(media / "videos" / "barbell_curl.mp4"), "--exercise", "pushup", "--model", "none",
                  "--quiet", "--json", str(out), "--max-frames", "150")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    pushup, curl = json.loads(out.read_text())
    assert pushup["refused"] is None and len(pushup["reps"]) >= 1
    assert all(r["no_reading"] == "no form model" and r["end_s"] > r["start_s"] for r in pushup["reps"])
    assert curl["refused"].startswith("not a pushup") and curl["reps"] == []
    assert "rep" in proc.stdout and "set:" in proc.stdout


def test_coach_cli_names_a_corrupt_video_and_goes_on(media, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 2048)
    proc = _coach(str(bad), str(media / "videos" / "pushup_correct84.mp4"), "--exercise", "pushup", "--model", "none",
                  "--quiet")  # fmt: skip
    assert proc.returncode == 2 and "broken.mp4" in proc.stderr
    assert "pushup_correct84" in proc.stdout


def test_coach_cli_without_a_registered_model_says_how_to_train_one(media, tmp_path):
    proc = _coach(str(media / "videos" / "pushup_correct84.mp4"), "--exercise", "pushup", "--quiet",
                  "--tracking-uri", f"sqlite:///{tmp_path / 'empty.db'}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no form model for pushup" in proc.stderr and "training/train.py" in proc.stderr


def _refitted_run(tmp_path, model: str):
    """Train with split.refit=true; the run must log the honest scores and a refit on every clip."""
    proc = run_entry_point("train.py", tmp_path, *SMALL_POSTURE, f"model={model}", "split.refit=true")
    assert proc.returncode == 0, proc.stderr[-3000:]
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = mlflow.search_runs(experiment_names=["posture-binary"], output_format="list")
    m = run.data.metrics
    assert m["test_refit"] == 1.0 and "test_clip_f1" in m
    assert m["data/refit_train_clips"] == m["data/train_clips"] + m["data/val_clips"] + m["data/test_clips"]
    return run


@pytest.mark.slow
def test_refit_logs_the_honest_score_and_evaluate_scores_an_unlabelled_table(tmp_path):
    run = _refitted_run(tmp_path, "clip_logistic")

    from liftsense.pose.synth import SynthConfig, generate
    from liftsense.pose.table import sequences_to_table, write_table

    table = sequences_to_table(generate(SynthConfig(seed=9, clips_per_exercise=2, subjects=2)))
    path = write_table(table.drop(columns=["label"]), tmp_path / "mine.parquet")
    out = tmp_path / "eval.json"
    proc = run_entry_point("evaluate.py", tmp_path, f"model_uri=runs:/{run.info.run_id}/model", "data=table",
                           f"data.path={path}", f"output_json={out}", "log_to_mlflow=false")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    scored = json.loads(out.read_text())
    assert scored["labelled"] is False and len(scored["clips"]) == table["sequence_id"].nunique()
    assert all(
        c["label"] is None and (c["prediction"] in ("correct", "incorrect") or c["no_reading"])
        for c in scored["clips"]
    )


@pytest.mark.slow
def test_a_refitted_network_learns_from_every_group_and_still_predicts(tmp_path):
    run = _refitted_run(tmp_path, "cnn")
    assert run.data.metrics["test_best_epochs"] >= 1
    from liftsense.pipelines.posture import load_classifier, window_model_clip_proba
    from liftsense.pose.synth import SynthConfig, generate

    module = load_classifier(f"runs:/{run.info.run_id}/model")

    proba, classes = window_model_clip_proba(
        module, generate(SynthConfig(seed=3, clips_per_exercise=1, subjects=1))
    )
    assert classes == ["incorrect", "correct"] and np.allclose(
        np.nansum(proba, axis=1)[np.isfinite(proba).all(1)], 1
    )
