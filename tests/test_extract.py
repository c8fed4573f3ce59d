"""Extraction on the real media in ../shared/data/pose/media with the real BlazePose model."""

import numpy as np
import pandas as pd
import pytest

from liftsense.pose.extract import ExtractionError, extract_any, extract_image, main
from liftsense.pose.table import read_table
from tests.conftest import require_real_data

# MoveNet-17 truth rows, matched to the stills by nearest pose (image3 has no truth row in the data set)
TRUTH_ROW = {"image1.png": 0, "image2.jpeg": 1}


@pytest.fixture(scope="module")
def media():
    return require_real_data("pose", "media")


@pytest.mark.parametrize("name", ["image1.png", "image2.jpeg"])
def test_stills_land_near_movenet_truth(media, name):
    import cv2

    truth = pd.read_csv(media / "images" / "pose_landmark_truth.csv").iloc[TRUTH_ROW[name]]
    joints = [c[:-2] for c in truth.index[::2]]  # the 17 joints both models share
    ext = extract_image(media / "images" / name)
    h, w = cv2.imread(str(media / "images" / name)).shape[:2]
    from liftsense.pose.landmarks import BP

    pred = np.array([ext.landmarks[0, BP[j], :2] * [w, h] for j in joints])
    err = np.linalg.norm(pred - truth.to_numpy(float).reshape(-1, 2), axis=1)
    assert np.median(err) < 0.03 * h, f"median error {np.median(err):.1f}px"
    assert (err < 0.1 * h).mean() >= 0.9, f"errors {np.round(err)}"


def test_third_still_has_a_plausible_person(media):
    from liftsense.pose.landmarks import BP

    lm = extract_image(media / "images" / "image3.jpeg").landmarks[0]
    assert np.isfinite(lm).all() and ((lm[:, :2] > -0.05) & (lm[:, :2] < 1.05)).all()
    assert lm[BP["nose"], 1] < lm[BP["left_hip"], 1] < lm[BP["left_ankle"], 1]  # head above hips above feet


def test_video_gives_landmarks_where_a_person_is_visible(media):
    ext, problems = extract_any(media / "videos" / "pushup_correct84.mp4", max_frames=30, progress=False)
    assert not problems and ext.landmarks.shape == (30, 33, 4) and ext.fps > 0
    assert ext.detected_fraction > 0.9


def test_no_person_corrupt_and_unsupported_are_named_and_batch_goes_on(media, tmp_path):
    import cv2

    blank = tmp_path / "empty_room.png"
    cv2.imwrite(str(blank), np.full((480, 640, 3), 127, np.uint8))
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(b"\x00garbage" * 100)
    bad_img = tmp_path / "broken.jpg"
    bad_img.write_bytes(b"nope")
    notes = tmp_path / "notes.txt"
    notes.write_text("hi")
    for path, reason in (
        (blank, "no person"),
        (corrupt, "broken.mp4"),
        (bad_img, "cannot decode"),
        (notes, "unsupported"),
    ):
        with pytest.raises(ExtractionError, match=reason):
            extract_any(path, progress=False)
    out = tmp_path / "batch.csv"
    code = main(
        [
            str(blank),
            str(corrupt),
            str(media / "images" / "image1.png"),
            str(notes),
            "-o",
            str(out),
            "--exercise",
            "squat",
            "--label",
            "correct",
            "--no-progress",
        ]
    )
    assert code == 2  # partial success: the good file was written, failures reported
    table = read_table(out)
    # the clip id is the source's relative path without extension, so same-named files stay apart
    (seq_id,) = table.sequence_id.unique()
    assert seq_id.endswith("images/image1") and (table.exercise == "squat").all()
