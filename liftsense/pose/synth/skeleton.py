"""A kinematic body: joint-level pose parameters per frame -> 33 BlazePose landmarks in metres.

World frame: x to the lifter's left, y up, z forward (the way the lifter faces), ground at y = 0.
Legs are placed by two-link inverse kinematics (feet stay planted) or forward kinematics (a leg in the air);
arms by forward kinematics from the trunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from liftsense.pose.landmarks import BP, N_BLAZEPOSE


@dataclass(frozen=True)
class Body:
    """Segment lengths in metres, from stature with per-person ratios."""

    height: float
    thigh: float
    shank: float
    ankle_height: float
    heel_back: float
    toe_front: float
    hip_width: float
    trunk: float
    shoulder_width: float
    neck: float
    upper_arm: float
    forearm: float
    hand: float

    @staticmethod
    def sample(rng: np.random.Generator) -> Body:
        h = rng.uniform(1.50, 1.95)
        r = lambda base, spread=0.06: base * h * rng.uniform(1 - spread, 1 + spread)  # noqa: E731
        return Body(
            height=h,
            thigh=r(0.245),
            shank=r(0.246),
            ankle_height=r(0.039),
            heel_back=r(0.04),
            toe_front=r(0.11),
            hip_width=r(0.10, 0.12),
            trunk=r(0.30),
            shoulder_width=r(0.23, 0.10),
            neck=r(0.13),
            upper_arm=r(0.186),
            forearm=r(0.146),
            hand=r(0.06),
        )


def _frames(n: int, value: float | np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()


@dataclass
class Pose:
    """Per-frame pose parameters (angles in degrees). Fields left at defaults mean 'neutral standing'."""

    n: int
    hip_centre: np.ndarray = field(default=None)  # (n, 3), world
    stance: float = 0.22  # ankle separation as a fraction of height
    toe_out: float = 10.0
    leg_mode: str = "ik"  # "ik": ankles planted at `ankle_l/r`; "fk": angles below
    ankle_l: np.ndarray | None = None
    ankle_r: np.ndarray | None = None
    knee_in_l: np.ndarray = field(default=None)  # knee bend direction rotated toward the midline (valgus)
    knee_in_r: np.ndarray = field(default=None)
    hip_flex_l: np.ndarray = field(default=None)
    hip_flex_r: np.ndarray = field(default=None)
    hip_abd_l: np.ndarray = field(default=None)
    hip_abd_r: np.ndarray = field(default=None)
    knee_flex_l: np.ndarray = field(default=None)
    knee_flex_r: np.ndarray = field(default=None)
    heel_lift_l: np.ndarray = field(default=None)  # plantar flexion about the toes
    heel_lift_r: np.ndarray = field(default=None)
    toe_lift_l: np.ndarray = field(default=None)  # dorsiflexion about the heel
    toe_lift_r: np.ndarray = field(default=None)
    trunk_pitch: np.ndarray = field(default=None)  # forward lean from vertical
    trunk_roll: np.ndarray = field(default=None)  # side bend, positive to the lifter's left
    trunk_yaw: np.ndarray = field(default=None)
    arm_elev_l: np.ndarray = field(default=None)  # angle of the upper arm from hanging down
    arm_elev_r: np.ndarray = field(default=None)
    arm_plane_l: np.ndarray = field(default=None)  # 0 = forward (flexion), 90 = sideways (abduction)
    arm_plane_r: np.ndarray = field(default=None)
    elbow_l: np.ndarray = field(default=None)  # elbow flexion
    elbow_r: np.ndarray = field(default=None)
    forearm_ref: tuple[float, float, float] = (
        0.0,
        0.0,
        1.0,
    )  # trunk frame direction the forearm bends toward
    lying: bool = False  # rotate the whole body to lie on its back (leg raise)

    def __post_init__(self) -> None:
        for name, default in (
            ("knee_in_l", 0.0),
            ("knee_in_r", 0.0),
            ("hip_flex_l", 0.0),
            ("hip_flex_r", 0.0),
            ("hip_abd_l", 0.0),
            ("hip_abd_r", 0.0),
            ("knee_flex_l", 0.0),
            ("knee_flex_r", 0.0),
            ("heel_lift_l", 0.0),
            ("heel_lift_r", 0.0),
            ("toe_lift_l", 0.0),
            ("toe_lift_r", 0.0),
            ("trunk_pitch", 0.0),
            ("trunk_roll", 0.0),
            ("trunk_yaw", 0.0),
            ("arm_elev_l", 8.0),
            ("arm_elev_r", 8.0),
            ("arm_plane_l", 20.0),
            ("arm_plane_r", 20.0),
            ("elbow_l", 10.0),
            ("elbow_r", 10.0),
        ):
            value = getattr(self, name)
            setattr(self, name, _frames(self.n, default if value is None else value))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _rot_y(deg: np.ndarray) -> np.ndarray:
    """(n,) -> (n, 3, 3) rotations about the vertical axis."""
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    z, o = np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rotate(v: np.ndarray, axis: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Rodrigues rotation of vectors v (n, 3) about unit axes (n, 3) by deg (n,)."""
    a = np.radians(deg)[:, None]
    k = _unit(axis)
    return v * np.cos(a) + np.cross(k, v) * np.sin(a) + k * np.sum(k * v, -1, keepdims=True) * (1 - np.cos(a))


def two_link_ik(hip: np.ndarray, ankle: np.ndarray, l1: float, l2: float, bend: np.ndarray) -> np.ndarray:
    """Knee position for thigh l1 and shank l2 joining hip to ankle, bending toward `bend` (all (n, 3))."""
    d = ankle - hip
    dist = np.clip(np.linalg.norm(d, axis=-1), 1e-6, (l1 + l2) * 0.9999)
    u = d / np.linalg.norm(d, axis=-1, keepdims=True)
    a = (l1**2 - l2**2 + dist**2) / (2 * dist)
    h = np.sqrt(np.maximum(l1**2 - a**2, 0.0))
    b = _unit(bend - np.sum(bend * u, -1, keepdims=True) * u)
    return hip + a[:, None] * u + h[:, None] * b


def build_landmarks(body: Body, pose: Pose) -> np.ndarray:
    """(n, 33, 3) world positions of the BlazePose landmarks."""
    n = pose.n
    out = np.zeros((n, N_BLAZEPOSE, 3))
    up = np.tile([0.0, 1.0, 0.0], (n, 1))
    fwd = np.tile([0.0, 0.0, 1.0], (n, 1))
    left = np.tile([1.0, 0.0, 0.0], (n, 1))
    pelvis = pose.hip_centre

    # trunk frame: yaw about vertical, pitch forward about the left axis, roll sideways about forward
    yaw = _rot_y(pose.trunk_yaw)
    t_fwd = np.einsum("nij,nj->ni", yaw, fwd)
    t_left = np.einsum("nij,nj->ni", yaw, left)
    t_up = _rotate(up, t_left, pose.trunk_pitch)  # forward lean tips the trunk's up toward forward
    t_fwd = _rotate(t_fwd, t_left, pose.trunk_pitch)
    t_up = _rotate(t_up, t_fwd, -pose.trunk_roll)  # positive roll bends toward the lifter's left
    t_left = _rotate(t_left, t_fwd, -pose.trunk_roll)

    sh_c = pelvis + body.trunk * t_up
    out[:, BP["left_shoulder"]] = sh_c + 0.5 * body.shoulder_width * t_left
    out[:, BP["right_shoulder"]] = sh_c - 0.5 * body.shoulder_width * t_left
    head = sh_c + body.neck * t_up
    out[:, BP["nose"]] = head + 0.06 * body.height * t_fwd
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        out[:, BP[f"{side}_eye_inner"]] = (
            head + 0.05 * body.height * t_fwd + 0.02 * t_up + sgn * 0.012 * t_left
        )
        out[:, BP[f"{side}_eye"]] = head + 0.05 * body.height * t_fwd + 0.022 * t_up + sgn * 0.032 * t_left
        out[:, BP[f"{side}_eye_outer"]] = (
            head + 0.045 * body.height * t_fwd + 0.022 * t_up + sgn * 0.048 * t_left
        )
        out[:, BP[f"{side}_ear"]] = head + 0.005 * t_fwd + 0.01 * t_up + sgn * 0.075 * t_left
        out[:, BP[f"mouth_{side}"]] = head + 0.05 * body.height * t_fwd - 0.035 * t_up + sgn * 0.025 * t_left

    # arms
    ref = np.asarray(pose.forearm_ref, dtype=float)
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        elev = np.radians(getattr(pose, f"arm_elev_{side[0]}"))
        plane = np.radians(getattr(pose, f"arm_plane_{side[0]}"))
        out_dir = sgn * t_left
        upper = -np.cos(elev)[:, None] * t_up + np.sin(elev)[:, None] * (
            np.cos(plane)[:, None] * t_fwd + np.sin(plane)[:, None] * out_dir
        )
        shoulder = out[:, BP[f"{side}_shoulder"]]
        elbow = shoulder + body.upper_arm * upper
        bend_ref = ref[0] * out_dir + ref[1] * t_up + ref[2] * t_fwd
        b = _unit(bend_ref - np.sum(bend_ref * upper, -1, keepdims=True) * upper)
        flex = np.radians(getattr(pose, f"elbow_{side[0]}"))[:, None]
        fore = np.cos(flex) * upper + np.sin(flex) * b
        wrist = elbow + body.forearm * fore
        out[:, BP[f"{side}_elbow"]] = elbow
        out[:, BP[f"{side}_wrist"]] = wrist
        out[:, BP[f"{side}_index"]] = wrist + body.hand * fore + 0.01 * sgn * t_left
        out[:, BP[f"{side}_pinky"]] = wrist + 0.85 * body.hand * fore + 0.03 * out_dir
        out[:, BP[f"{side}_thumb"]] = wrist + 0.5 * body.hand * fore - 0.02 * out_dir + 0.02 * t_fwd

    # legs
    pelvis_left = _rot_y(pose.trunk_yaw * 0.3) @ np.array([1.0, 0.0, 0.0])
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        hip = pelvis + sgn * 0.5 * body.hip_width * pelvis_left
        foot_yaw = sgn * pose.toe_out
        foot_fwd = np.einsum("nij,nj->ni", _rot_y(_frames(n, foot_yaw)), fwd)
        s = side[0]
        if pose.leg_mode == "ik":
            ankle = getattr(pose, f"ankle_{s}")
            bend = _rotate(foot_fwd, up, -sgn * getattr(pose, f"knee_in_{s}"))
            knee = two_link_ik(hip, ankle, body.thigh, body.shank, bend)
        else:
            flex, abd = getattr(pose, f"hip_flex_{s}"), getattr(pose, f"hip_abd_{s}")
            thigh_dir = _rotate(-up, left, -flex)  # flexion swings the thigh forward
            thigh_dir = _rotate(thigh_dir, fwd, -sgn * abd)
            knee = hip + body.thigh * thigh_dir
            shank_dir = _rotate(thigh_dir, left, getattr(pose, f"knee_flex_{s}"))
            ankle = knee + body.shank * shank_dir
        out[:, BP[f"{side}_hip"]] = hip
        out[:, BP[f"{side}_knee"]] = knee
        out[:, BP[f"{side}_ankle"]] = ankle
        # foot: heel and toe in the sole plane, lifted about the toe (heel raise) or the heel (toe raise)
        foot_side = np.cross(up, foot_fwd)
        heel = ankle - body.heel_back * foot_fwd - body.ankle_height * up
        toe = ankle + body.toe_front * foot_fwd - body.ankle_height * up
        if pose.leg_mode == "ik":
            hl, tl = getattr(pose, f"heel_lift_{s}"), getattr(pose, f"toe_lift_{s}")
            heel = toe + _rotate(heel - toe, foot_side, hl)
            toe = heel + _rotate(toe - heel, foot_side, -tl)
        else:  # a free foot turns with the shank
            shank_angle = getattr(pose, f"hip_flex_{s}") - getattr(pose, f"knee_flex_{s}")
            heel = ankle + _rotate(heel - ankle, left, -shank_angle)
            toe = ankle + _rotate(toe - ankle, left, -shank_angle)
        out[:, BP[f"{side}_heel"]] = heel
        out[:, BP[f"{side}_foot_index"]] = toe

    if pose.lying:  # lie on the back: rotate -90 degrees about the left axis through the pelvis
        centre = pelvis[:, None, :]
        rel = out - centre
        c, s_ = 0.0, -1.0
        rot = np.array([[1, 0, 0], [0, c, -s_], [0, s_, c]])
        out = rel @ rot.T + centre
        out[..., 1] += 0.12 - pelvis[:, None, 1]  # pelvis 12 cm above the floor
    return out
