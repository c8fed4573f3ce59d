import numpy as np
import pandas as pd
import pytest

from liftsense.datasets.splits import LeakageError, assert_disjoint, group_kfold, train_val_test
from liftsense.pose.table import (
    LandmarkTableError,
    read_table,
    sequences_to_table,
    table_to_sequences,
    write_table,
)
from tests.conftest import require_real_data


def test_group_splits_are_disjoint_and_cover_every_clip(small_synth):
    meta = small_synth.meta
    folds = group_kfold(meta, 3)
    tested = np.concatenate([te for _, te in folds])
    assert sorted(tested) == list(range(len(meta)))
    for tr, te in folds:
        assert not set(meta.group.iloc[tr]) & set(meta.group.iloc[te])
    tr, va, te = train_val_test(meta, 3, 1, 0.25)
    assert len(set(tr) | set(va) | set(te)) == len(meta)
    assert_disjoint(meta, tr, va, te)


def test_too_few_groups_for_training_and_validation_are_named_in_the_projects_words():
    meta = pd.DataFrame(
        {"group": ["a", "a", "b", "b"], "label": ["ok", "bad"] * 2, "correct": [True, False] * 2}
    )
    with pytest.raises(ValueError, match=r"fold 0 of 2 leaves 1 group\(s\) outside its test groups"):
        train_val_test(meta, 2, 0, 0.2)
    more = pd.DataFrame({"group": ["c", "c"], "label": ["ok", "bad"], "correct": [True, False]})
    three = pd.concat([meta, more], ignore_index=True)
    tr, va, te = train_val_test(three, 3, 0, 0.2)  # one group each: the smallest split that works
    assert (
        len(set(three.group.iloc[tr]))
        == len(set(three.group.iloc[va]))
        == len(set(three.group.iloc[te]))
        == 1
    )


def test_assert_disjoint_catches_a_leak():
    meta = pd.DataFrame({"group": ["a", "a", "b"]})
    with pytest.raises(LeakageError, match="'a'"):
        assert_disjoint(meta, np.array([0]), np.array([1, 2]))


def test_landmark_table_round_trip(tmp_path, small_synth):
    sub = small_synth.subset([0, 5, 9])
    for ext in ("csv", "parquet"):
        path = write_table(sequences_to_table(sub), tmp_path / f"t.{ext}")
        back = table_to_sequences(read_table(path))
        order = [list(back.meta.sequence_id).index(s) for s in sub.meta.sequence_id]
        back = back.subset(order)
        np.testing.assert_allclose(back.landmarks, sub.landmarks, rtol=1e-5, atol=1e-6)  # NaN rows kept too
        assert back.meta[["exercise", "label", "group"]].equals(sub.meta[["exercise", "label", "group"]])
        assert back.fps == pytest.approx(30.0, abs=0.01)


def test_bad_tables_are_named(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(LandmarkTableError, match=r"broken\.parquet: unreadable"):
        read_table(bad)
    (tmp_path / "x.csv").write_text("sequence_id,frame_index\na,0\n")
    with pytest.raises(LandmarkTableError, match=r"x\.csv: missing"):
        read_table(tmp_path / "x.csv")
    with pytest.raises(LandmarkTableError, match="extension"):
        read_table(tmp_path / "x.json") if (tmp_path / "x.json").write_text("{}") else None


def test_squat_3d_maps_to_17_landmarks_and_splits_by_date():
    require_real_data("pose", "squat_3d")
    from liftsense.datasets.real import load_squat_3d
    from liftsense.pose.landmarks import KEPT_LANDMARKS

    seqs = load_squat_3d()
    assert len(seqs) == 1043 and seqs.meta.group.nunique() == 12
    kept = seqs.landmarks[:, KEPT_LANDMARKS, :3]
    ok = np.isfinite(kept).all(axis=(1, 2))
    assert ok.mean() > 0.99 and np.abs(kept[ok]).max() < 1000  # triangulation blow-ups removed
    assert set(seqs.meta.label) == {
        "olympic squat",
        "powerlifting squat",
        "no depth",
        "heels lifting",
        "toes lifting",
        "bending forward",
        "knees caving",
    }
    for tr, te in group_kfold(seqs.meta, 4):
        assert not set(seqs.meta.group.iloc[tr]) & set(seqs.meta.group.iloc[te])
        assert not set(seqs.meta.sequence_id.iloc[tr]) & set(seqs.meta.sequence_id.iloc[te])


def test_pushup_loads_and_splits_by_near_duplicate_group():
    require_real_data("pose", "pushup_mediapipe33")
    from liftsense.datasets.real import load_pushup

    seqs = load_pushup()
    assert len(seqs) == 219 and seqs.meta.correct.sum() == 117
    tr, va, te = train_val_test(seqs.meta, 5, 0, 0.2)
    assert_disjoint(seqs.meta, tr, va, te)
