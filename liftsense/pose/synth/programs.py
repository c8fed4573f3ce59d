"""Exercise programmes: a rep phase p(t) in [0, 1] (0 = start, 1 = the far point of the rep) -> `Pose`.

Each programme draws its correct-form parameters per clip and, when asked for a fault, replaces one of them
with a draw from the fault range documented in `faults.py`. The `habit` dict carries a subject's
personal style (stance, natural lean) so that clips of one subject share it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from liftsense.pose.synth.skeleton import Body, Pose

Program = Callable[[np.ndarray, np.ndarray, Body, np.random.Generator, str | None, dict], Pose]


def _pick(
    rng: np.random.Generator, correct: tuple[float, float], faulty: tuple[float, float], on: bool
) -> float:
    lo, hi = faulty if on else correct
    return float(rng.uniform(lo, hi))


def _sym(**params: object) -> dict[str, object]:
    """The same value for both sides: `_sym(elbow=90)` -> `{"elbow_l": 90, "elbow_r": 90}`."""
    return {f"{name}_{side}": value for name, value in params.items() for side in "lr"}


def _standing(
    n: int, body: Body, habit: dict, stance_scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    stance = habit["stance"] * stance_scale * body.height
    hip_h = body.ankle_height + (body.thigh + body.shank) * 0.995
    hip = np.tile([0.0, hip_h, 0.0], (n, 1))
    ankle_l = np.tile([stance / 2, body.ankle_height, 0.0], (n, 1))
    ankle_r = np.tile([-stance / 2, body.ankle_height, 0.0], (n, 1))
    return hip, ankle_l, ankle_r


def squat(p, side, body, rng, fault, habit) -> Pose:
    n = len(p)
    hip, al, ar = _standing(n, body, habit, 1.15)
    leg = body.thigh + body.shank
    drop = _pick(rng, (0.40, 0.62), (0.22, 0.38), fault == "insufficient_depth") * leg
    lean = _pick(rng, (20, 45), (50, 72), fault == "excessive_forward_lean") + habit["lean"]
    knee_in = _pick(rng, (-5, 6), (12, 28), fault == "knees_caving")
    heel = _pick(rng, (0, 3), (7, 20), fault == "heels_lifting")
    hip = hip + p[:, None] * np.array([0.0, -drop, -0.45 * drop])
    return Pose(
        n=n,
        hip_centre=hip,
        ankle_l=al,
        ankle_r=ar,
        toe_out=habit["toe_out"],
        trunk_pitch=p * lean,
        forearm_ref=(0.0, 1.0, -0.6),
        **_sym(
            knee_in=p * knee_in + habit["knee"],
            heel_lift=p * heel,
            arm_elev=55.0,
            arm_plane=75.0,
            elbow=125.0,
        ),
    )


def deadlift(p, side, body, rng, fault, habit) -> Pose:
    n = len(p)
    hip, al, ar = _standing(n, body, habit)
    leg = body.thigh + body.shank
    squatting = fault == "squatting_the_lift"
    drop = _pick(rng, (0.06, 0.18), (0.24, 0.45), squatting) * leg
    lean = rng.uniform(65, 85) - (rng.uniform(20, 35) if squatting else 0.0)
    hyper = _pick(rng, (-2, 3), (8, 20), fault == "hyperextension_lockout")
    drift = _pick(rng, (0, 8), (14, 32), fault == "bar_drift")
    hip = hip + p[:, None] * np.array(
        [0.0, -drop, -0.25 * body.height * rng.uniform(0.8, 1.2) * (0.5 if squatting else 1)]
    )
    top = 1.0 - np.clip(p * 4, 0, 1)  # lean back only near lockout
    pitch = p * lean - top * hyper
    arm = pitch + p * drift  # arms hang vertically in the world unless the bar drifts forward
    return Pose(
        n=n,
        hip_centre=hip,
        ankle_l=al,
        ankle_r=ar,
        toe_out=habit["toe_out"],
        trunk_pitch=pitch,
        **_sym(knee_in=habit["knee"], arm_elev=arm, arm_plane=0.0, elbow=5.0),
    )


def barbell_curl(p, side, body, rng, fault, habit) -> Pose:
    n = len(p)
    hip, al, ar = _standing(n, body, habit)
    flex = _pick(rng, (120, 150), (80, 112), fault == "partial_range")
    drift = _pick(rng, (0, 12), (18, 45), fault == "elbow_drift")
    swing = _pick(rng, (0, 4), (7, 20), fault == "torso_swing")
    elev = rng.uniform(4, 12) + p * drift
    pitch = habit["lean"] * 0.2 - p * swing
    hip = hip + (p * swing / 20.0 * 0.05)[:, None] * np.array([0.0, 0.0, 1.0])
    return Pose(
        n=n,
        hip_centre=hip,
        ankle_l=al,
        ankle_r=ar,
        toe_out=habit["toe_out"],
        trunk_pitch=pitch,
        forearm_ref=(0.0, 0.0, 1.0),
        **_sym(arm_elev=elev, arm_plane=5.0, elbow=12 + p * (flex - 12)),
    )


def knee_up(p, side, body, rng, fault, habit) -> Pose:
    n = len(p)
    hip, _, _ = _standing(n, body, habit)
    flex = _pick(rng, (78, 100), (40, 68), fault == "low_knee")
    back = _pick(rng, (0, 4), (8, 25), fault == "leaning_back")
    left_up = np.where(side > 0, p, 0.0)
    right_up = np.where(side < 0, p, 0.0)
    abd = habit["stance"] * 15
    return Pose(
        n=n,
        hip_centre=hip,
        leg_mode="fk",
        hip_flex_l=left_up * flex,
        hip_flex_r=right_up * flex,
        knee_flex_l=left_up * rng.uniform(80, 100),
        knee_flex_r=right_up * rng.uniform(80, 100),
        trunk_pitch=-p * back + habit["lean"] * 0.2,
        arm_elev_l=20 + 25 * right_up,
        arm_elev_r=20 + 25 * left_up,
        **_sym(hip_abd=abd, arm_plane=0.0, elbow=90.0),
    )


def leg_raise(p, side, body, rng, fault, habit) -> Pose:
    n = len(p)
    hip, _, _ = _standing(n, body, habit)
    flex = _pick(rng, (75, 95), (35, 62), fault == "partial_range")
    knee = _pick(rng, (0, 12), (22, 60), fault == "bent_knees")
    return Pose(
        n=n,
        hip_centre=hip,
        leg_mode="fk",
        lying=True,
        arm_elev_l=rng.uniform(5, 25),  # each arm rests on its own
        arm_elev_r=rng.uniform(5, 25),
        **_sym(
            hip_flex=p * flex,
            knee_flex=2 + p * knee,
            hip_abd=3.0,
            arm_plane=40.0,
            elbow=5.0,
        ),
    )


def overhead_press(p, side, body, rng, fault, habit) -> Pose:
    n = len(p)
    hip, al, ar = _standing(n, body, habit)
    arch = _pick(rng, (0, 5), (9, 25), fault == "back_arch")
    top_elbow = _pick(rng, (5, 22), (32, 60), fault == "partial_lockout")
    top_elev = rng.uniform(160, 175) - (rng.uniform(15, 30) if fault == "partial_lockout" else 0.0)
    lag = _pick(rng, (0, 0.05), (0.12, 0.30), fault == "asymmetric_press")
    cut = 1.0 - (rng.uniform(0.1, 0.3) if fault == "asymmetric_press" else 0.0)
    p_lag = np.clip(np.concatenate([np.zeros(int(lag * 60)), p])[:n], 0, 1) * cut
    pl, pr = (p, p_lag) if rng.random() < 0.5 else (p_lag, p)

    def arm(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return 80 + q * (top_elev - 80), 70 - q * 55, 130 + q * (top_elbow - 130)

    el, pll, ebl = arm(pl)
    er, plr, ebr = arm(pr)
    return Pose(
        n=n,
        hip_centre=hip,
        ankle_l=al,
        ankle_r=ar,
        toe_out=habit["toe_out"],
        trunk_pitch=-p * arch,
        arm_elev_l=el,
        arm_elev_r=er,
        arm_plane_l=pll,
        arm_plane_r=plr,
        elbow_l=ebl,
        elbow_r=ebr,
        forearm_ref=(0.0, 1.0, 0.0),
    )


def side_crunch(p, side, body, rng, fault, habit) -> Pose:
    n = len(p)
    hip, al, ar = _standing(n, body, habit, 1.2)
    roll = _pick(rng, (22, 40), (7, 17), fault == "small_range")
    fwd = _pick(rng, (0, 8), (15, 35), fault == "forward_bend")
    return Pose(
        n=n,
        hip_centre=hip,
        ankle_l=al,
        ankle_r=ar,
        toe_out=habit["toe_out"],
        trunk_roll=side * p * roll,
        trunk_pitch=p * fwd + habit["lean"] * 0.2,
        forearm_ref=(-1.0, 0.3, 0.0),
        **_sym(arm_elev=150.0, arm_plane=80.0, elbow=140.0),
    )


def side_lunge(p, side, body, rng, fault, habit) -> Pose:
    n = len(p)
    hip, al, ar = _standing(n, body, habit, 2.3)
    leg = body.thigh + body.shank
    drop = _pick(rng, (0.22, 0.35), (0.08, 0.18), fault == "insufficient_depth") * leg
    lean = _pick(rng, (10, 32), (40, 60), fault == "forward_lean")
    valgus = _pick(rng, (-5, 6), (12, 32), fault == "knee_caving")
    shift = 0.5 * abs(al[0, 0] - ar[0, 0]) * rng.uniform(0.55, 0.75)
    hip = hip + np.stack([side * p * shift, -p * drop, -p * 0.3 * drop], axis=1)
    working_l = np.where(side > 0, p, 0.0)
    working_r = np.where(side < 0, p, 0.0)
    return Pose(
        n=n,
        hip_centre=hip,
        ankle_l=al,
        ankle_r=ar,
        toe_out=habit["toe_out"] + 10,
        knee_in_l=working_l * valgus,
        knee_in_r=working_r * valgus,
        trunk_pitch=p * lean,
        **_sym(arm_elev=20 + p * 50, arm_plane=0.0, elbow=60.0),
    )


def side_raise(p, side, body, rng, fault, habit) -> Pose:
    n = len(p)
    hip, al, ar = _standing(n, body, habit)
    top = _pick(rng, (78, 98), (112, 140), fault == "too_high")
    elbow = _pick(rng, (5, 22), (35, 75), fault == "bent_elbows")
    swing = _pick(rng, (0, 4), (7, 20), fault == "torso_swing")
    elev = 12 + p * (top - 12)
    return Pose(
        n=n,
        hip_centre=hip,
        ankle_l=al,
        ankle_r=ar,
        toe_out=habit["toe_out"],
        trunk_pitch=-p * swing + habit["lean"] * 0.2,
        forearm_ref=(0.0, 0.0, 1.0),
        **_sym(arm_elev=elev, arm_plane=80.0, elbow=elbow),
    )


PROGRAMS: dict[str, Program] = {
    "barbell_curl": barbell_curl,
    "deadlift": deadlift,
    "knee_up": knee_up,
    "leg_raise": leg_raise,
    "overhead_press": overhead_press,
    "side_crunch": side_crunch,
    "side_lunge": side_lunge,
    "side_raise": side_raise,
    "squat": squat,
}
