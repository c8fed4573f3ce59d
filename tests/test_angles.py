import numpy as np
import pytest

from liftsense.pose.angles import angle_at, joint_angles
from liftsense.pose.landmarks import ANGLE_NAMES, FEATURE_NAMES, KEPT, KEPT_LANDMARKS, KEPT_NAMES


def test_table_matches_paper_layout():
    assert KEPT_LANDMARKS == (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32)
    assert (
        len(FEATURE_NAMES) == 61 and FEATURE_NAMES[0] == "nose_x" and FEATURE_NAMES[-1] == "right_ankle_angle"
    )
    assert ANGLE_NAMES == (
        "left_elbow",
        "right_elbow",
        "left_shoulder",
        "right_shoulder",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    )
    assert "left_heel" in KEPT_NAMES and "left_eye" not in KEPT_NAMES


@pytest.mark.parametrize("deg", [0.0, 30.0, 90.0, 135.0, 180.0])
def test_angle_at_known_geometry(deg):
    a = np.radians(deg)
    proximal, vertex, distal = np.array([1.0, 0, 0]), np.zeros(3), np.array([np.cos(a), np.sin(a), 0.0])
    assert angle_at(proximal * 3, vertex, distal * 0.5) == pytest.approx(deg, abs=1e-6)


def test_angle_in_3d_is_rotation_invariant(rng):
    p, v, d = rng.normal(size=(3, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    assert angle_at(p @ q.T, v @ q.T, d @ q.T) == pytest.approx(float(angle_at(p, v, d)))


def test_zero_length_segment_gives_nan_not_a_value():
    assert np.isnan(angle_at(np.zeros(3), np.zeros(3), np.ones(3)))


def test_joint_angles_on_a_built_pose():
    """Right angle at the left elbow, straight left knee, 90 degrees at the right knee."""
    xyz = np.zeros((17, 3))
    xyz[KEPT["left_shoulder"]] = [0, 1, 0]
    xyz[KEPT["left_elbow"]] = [0, 0, 0]
    xyz[KEPT["left_wrist"]] = [1, 0, 0]
    xyz[KEPT["left_hip"]] = [0, -1, 0]
    xyz[KEPT["left_knee"]] = [0, -2, 0]
    xyz[KEPT["left_ankle"]] = [0, -3, 0]
    xyz[KEPT["right_hip"]] = [2, -1, 0]
    xyz[KEPT["right_knee"]] = [2, -2, 0]
    xyz[KEPT["right_ankle"]] = [2, -2, 1]
    angles = dict(zip(ANGLE_NAMES, joint_angles(xyz[None])[0], strict=True))
    assert angles["left_elbow"] == pytest.approx(90)
    assert angles["left_knee"] == pytest.approx(180)
    assert angles["right_knee"] == pytest.approx(90)
    with pytest.raises(ValueError, match="17, 3"):
        joint_angles(np.zeros((5, 33, 3)))
