import numpy as np
import pytest

from liftsense.pose.angles import joint_angles
from liftsense.pose.landmarks import ANGLE_NAMES, BP, KEPT_LANDMARKS
from liftsense.pose.synth import EXERCISES, FAULTS, SynthConfig, generate
from liftsense.pose.synth.dataset import _habit
from liftsense.pose.synth.faults import markdown
from liftsense.pose.synth.programs import PROGRAMS
from liftsense.pose.synth.skeleton import Body, build_landmarks, two_link_ik


def test_same_seed_same_bytes_other_seed_differs():
    cfg = SynthConfig(seed=7, clips_per_exercise=4, subjects=3, exercises=["squat", "side_raise"])
    a, b = generate(cfg), generate(cfg)
    assert a.landmarks.tobytes() == b.landmarks.tobytes() and a.meta.equals(b.meta)
    c = generate(SynthConfig(seed=8, clips_per_exercise=4, subjects=3, exercises=["squat", "side_raise"]))
    assert a.landmarks.shape != c.landmarks.shape or not np.array_equal(
        a.landmarks, c.landmarks, equal_nan=True
    )


def test_every_exercise_and_fault_present_with_paper_balance(small_synth):
    meta = small_synth.meta
    assert set(meta["exercise"]) == set(EXERCISES)
    for ex in EXERCISES:
        labels = set(meta.loc[meta.exercise == ex, "label"])
        assert labels == {"correct"} | {f.name for f in FAULTS[ex]}
    assert meta["correct"].mean() == pytest.approx(0.25, abs=0.03)
    assert np.isnan(small_synth.landmarks[..., 0]).any()  # dropouts exist
    assert (small_synth.landmarks[..., 3] < 0.5).any()  # occlusion exists


def test_fault_catalogue_documented_in_one_place():
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "faults.md").read_text()
    assert doc.strip() == markdown().strip(), (
        "regenerate: python -m liftsense.pose.synth.faults > docs/faults.md"
    )


def test_two_link_ik_keeps_segment_lengths():
    hip = np.array([[0.0, 0.9, 0.0]])
    ankle = np.array([[0.1, 0.1, 0.2]])
    knee = two_link_ik(hip, ankle, 0.45, 0.42, np.array([[0.0, 0.0, 1.0]]))
    assert np.linalg.norm(knee - hip) == pytest.approx(0.45) and np.linalg.norm(
        knee - ankle
    ) == pytest.approx(0.42)
    assert knee[0, 2] > 0.1  # bends forward


def _world(exercise, fault, seed=0):
    rng = np.random.default_rng(seed)
    body, habit = Body.sample(rng), _habit(rng)
    p = np.linspace(0, 1, 20)
    pose = PROGRAMS[exercise](p, np.ones(20), body, np.random.default_rng(seed), fault, habit)
    return build_landmarks(body, pose)


def _angle(world, name):
    return joint_angles(world[:, KEPT_LANDMARKS])[:, ANGLE_NAMES.index(name)]


@pytest.mark.parametrize("seed", range(5))
def test_squat_faults_are_kinematically_what_they_say(seed):
    ok = _world("squat", None, seed)
    shallow = _world("squat", "insufficient_depth", seed)
    caving = _world("squat", "knees_caving", seed)
    heels = _world("squat", "heels_lifting", seed)
    lean = _world("squat", "excessive_forward_lean", seed)
    assert _angle(shallow, "left_knee")[-1] > _angle(ok, "left_knee")[-1]  # less knee bend at the bottom
    knee_gap = lambda w: w[-1, BP["left_knee"], 0] - w[-1, BP["right_knee"], 0]  # noqa: E731 (left is +x)
    assert knee_gap(caving) < knee_gap(ok)
    assert heels[-1, BP["left_heel"], 1] - heels[-1, BP["left_foot_index"], 1] > 0.02
    assert abs(ok[-1, BP["left_heel"], 1] - ok[-1, BP["left_foot_index"], 1]) < 0.02
    trunk = lambda w: w[-1, BP["left_shoulder"]] - w[-1, BP["left_hip"]]  # noqa: E731
    pitch = lambda w: np.degrees(np.arctan2(trunk(w)[2], trunk(w)[1]))  # noqa: E731
    assert pitch(lean) > pitch(ok)


def test_curl_faults():
    ok, drift, partial = (
        _world("barbell_curl", None),
        _world("barbell_curl", "elbow_drift"),
        _world("barbell_curl", "partial_range"),
    )
    assert drift[-1, BP["left_elbow"], 2] > ok[-1, BP["left_elbow"], 2] + 0.03  # elbow travels forward
    assert _angle(partial, "left_elbow")[-1] > _angle(ok, "left_elbow")[-1] + 10


def test_kinematic_cues_on_synthetic_squat_faults():
    from liftsense.pose.kinematics import kinematic_cues
    from liftsense.pose.normalize import normalize_clip

    def cues(fault):
        world = _world("squat", fault, seed=2)
        img_like = world[:, KEPT_LANDMARKS] * np.array([1.0, -1.0, 1.0])  # y down, as images and squat_3d
        return {k: v[-1] for k, v in kinematic_cues(normalize_clip(img_like, "canonical")).items()}

    ok = cues(None)
    assert cues("knees_caving")["knee_ankle_width_ratio"] < ok["knee_ankle_width_ratio"] - 0.2
    assert cues("heels_lifting")["heel_minus_toe_height"] > ok["heel_minus_toe_height"] + 0.05
    assert cues("insufficient_depth")["depth"] > ok["depth"] + 0.1  # hips stay further above the knees
    assert cues("excessive_forward_lean")["trunk_lean"] > ok["trunk_lean"] + 10
