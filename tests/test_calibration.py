"""Per-lifter calibration: references drawn per group, clips judged against the lifter's own good reps."""

import numpy as np
import pandas as pd
import pytest

from liftsense.models.calibration import draw_references, relative_to_references
from liftsense.pose.landmarks import KEPT_LANDMARKS, N_BLAZEPOSE
from tests.test_rep_features import camera, squat_clip

CLASSES = ["incorrect", "correct"]


def test_references_are_drawn_per_group_from_its_usable_correct_clips():
    meta = pd.DataFrame(
        {
            "group": ["a"] * 6 + ["b"] * 4,
            "correct": [1, 1, 1, 1, 0, 0, 1, 0, 0, 0],  # a: 4 correct, b: 1
        }
    )
    usable = np.ones(10, bool)
    usable[0] = False  # a correct clip without enough tracked frames can't be a reference
    draw = draw_references(meta, 3, seed=0, usable=usable)
    assert list(draw.references) == ["a"]
    np.testing.assert_array_equal(draw.references["a"], [1, 2, 3])
    np.testing.assert_array_equal(draw.judged, [1, 0, 0, 0, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(draw.uncalibrated, [0] * 6 + [1] * 4)
    np.testing.assert_array_equal(draw.is_reference, [0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    two = draw_references(meta, 2, seed=5)
    assert set(two.references["a"]) <= {0, 1, 2, 3} and len(two.references["a"]) == 2
    np.testing.assert_array_equal(two.references["a"], draw_references(meta, 2, seed=5).references["a"])
    with pytest.raises(ValueError, match="at least 1 reference"):
        draw_references(meta, 0)
    np.testing.assert_allclose(
        relative_to_references(np.array([[3.0, 5.0]]), np.array([[1.0, 1.0], [3.0, 5.0]])), [[1.0, 2.0]]
    )
    with pytest.raises(ValueError, match="at least one reference"):
        relative_to_references(np.ones((2, 2)), np.ones((0, 2)))


def lifters(base_leans: dict[str, float], extra_lean: float = 15.0):
    """Each lifter leans forward by their own amount when squatting well, and 15 degrees more when at fault,
    so a faulty rep of an upright lifter leans less than a good rep of a bent-over one: no threshold on the
    absolute lean can judge all lifters, while each lifter's own good reps can."""
    from liftsense.pose.sequences import PoseSequences

    clips, rows = [], []
    for group, lean in base_leans.items():
        for k in range(6):
            correct = k < 4
            full = np.full((50, N_BLAZEPOSE, 4), 1.0, dtype=np.float32)
            angle = lean + 0.5 * k + (0.0 if correct else extra_lean)
            full[:, list(KEPT_LANDMARKS), :3] = camera(squat_clip(lean_deg=angle), seed=len(clips))
            clips.append(full)
            rows.append((f"{group}{k}", "squat", "ok" if correct else "lean", correct, group))
    meta = pd.DataFrame(rows, columns=["sequence_id", "exercise", "label", "correct", "group"])
    return PoseSequences.from_clips(clips, meta, fps=30.0, source="test")


def test_calibration_judges_each_lifter_against_their_own_good_reps():
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.registry import posture_feature_spec

    train = lifters({"t1": 5.0, "t2": 19.0, "t3": 33.0, "t4": 12.0})
    new = lifters({"n1": 26.0, "n2": 2.0})
    y_train = train.meta["correct"].astype(int).to_numpy()
    y_new = new.meta["correct"].astype(int).to_numpy()

    model = ClipFormModel(CLASSES, estimator="logistic", c=1.0, calibration=3).fit(train, y_train)
    assert model.uncalibrated_training_clips_ == 0 and model.skipped_training_clips_ == 0
    for group in ("n1", "n2"):
        mine = np.flatnonzero(new.meta["group"] == group)
        references, clips = new.subset(mine[:3]), new.subset(mine[3:])  # 3 good reps at set-up, then 3 clips
        proba = model.predict_proba(clips, references=references)
        np.testing.assert_array_equal(proba.argmax(1), y_new[mine[3:]])

    # without calibration, the same features cannot separate both new lifters
    plain = ClipFormModel(CLASSES, estimator="logistic", c=1.0).fit(train, y_train)
    assert (plain.predict_proba(new).argmax(1) != y_new).any()

    # labelled evaluation data: references drawn per group from its own correct clips, and left unjudged
    proba, draw = model.predict_proba_by_group(new)
    assert draw.is_reference.sum() == 6 and not draw.uncalibrated.any()
    assert np.isnan(proba[draw.is_reference]).all()
    np.testing.assert_array_equal(proba[draw.judged].argmax(1), y_new[draw.judged])
    assert posture_feature_spec(model)["calibration"] == 3
    assert "reference clips" in posture_feature_spec(model)["input"]


def test_calibrated_models_name_missing_or_unusable_references():
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.pose.sequences import PoseSequences

    seqs = lifters({"a": 5.0, "b": 30.0})
    y = seqs.meta["correct"].astype(int).to_numpy()
    model = ClipFormModel(CLASSES, c=1.0, calibration=3).fit(seqs, y)
    with pytest.raises(ValueError, match="pass references="):
        model.predict_proba(seqs)
    blank = [seqs.clip(i).copy() for i in range(3)]
    for clip in blank:
        clip[4:] = np.nan
    unusable = PoseSequences.from_clips(blank, seqs.meta.iloc[:3].reset_index(drop=True), 30.0, "test")
    with pytest.raises(ValueError, match="none of the 3 reference clips has 5 tracked frames"):
        model.predict_proba(seqs, references=unusable)
    plain = ClipFormModel(CLASSES, c=1.0).fit(seqs, y)
    with pytest.raises(ValueError, match="trained without calibration"):
        plain.predict_proba(seqs, references=seqs.subset([0]))
    with pytest.raises(ValueError, match="for calibrated models"):
        plain.predict_proba_by_group(seqs)
    with pytest.raises(ValueError, match="no training group has 5 usable clips"):
        ClipFormModel(CLASSES, calibration=5).fit(seqs, y)
    with pytest.raises(ValueError, match="number of reference clips"):
        ClipFormModel(CLASSES, calibration=-1)
    # a lifter with too few good clips is left out of fitting, and counted
    few = seqs.subset([0, 1, 2, 3, 4, 5, 6, 10, 11])  # group b keeps 1 correct clip
    counted = ClipFormModel(CLASSES, c=1.0, calibration=3).fit(few, y[[0, 1, 2, 3, 4, 5, 6, 10, 11]])
    assert counted.uncalibrated_training_clips_ == 3
