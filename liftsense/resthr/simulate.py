"""Built-in simulator of wrist heart rate during resistance-training sessions (the default data).

Physiology, per parameter (ranges are the issue's, grounded in these sources):
- Maximal HR = 208 - 0.7 * age (Tanaka, Monahan & Seals, J Am Coll Cardiol 2001).
- During a set HR rises first-order towards a set level with tau 10-30 s (on-kinetics of HR at exercise onset:
  fast vagal withdrawal, then sympathetic drive; e.g. Hughson & Morrissey, J Appl Physiol 1982).
- The peak lags the set end by 0-20 s: metabolic and sympathetic drive outlast the movement (the Garmin
  sessions in ../shared/data/hr peak about 12 s after the set).
- Recovery is bi-exponential: a fast, vagally mediated phase with tau 30-60 s seated and 70-90 s when walking about
  (Imai et al., J Am Coll Cardiol 1994; Pierpont, Stolpman & Gornick, Auton Neurosci 2000; Pecanha, Silva-Junior &
  Forjaz, Clin Physiol Funct Imaging 2014), then a slow phase (tau 3-6 min) towards a floor of 80-95 bpm, well above
  resting HR, since metabolites, temperature and catecholamines stay up between sets.
- Peak and floor drift up 1-3 bpm per set (cumulative fatigue, cardiovascular drift).
- Fitter lifters have lower resting HR and faster fast-phase recovery (Pecanha 2014).
- Wrist sensor: optical HR lags the true HR (first-order, tau 3-8 s) and errs more under motion (Spierer et al.,
  J Med Eng Technol 2015); samples arrive about once a second with jitter, and drop out in gaps of 5-30 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SimConfig:
    subjects: int = 40
    sessions_per_subject: int = 3
    sets_per_session: tuple[int, int] = (6, 12)
    set_s: tuple[float, float] = (20.0, 70.0)
    rest_s: tuple[float, float] = (60.0, 240.0)
    active_rest_probability: float = 0.3
    gap_probability_per_s: float = 0.004
    seed: int = 0


def _lifter(rng: np.random.Generator) -> dict:
    fitness = rng.uniform(0, 1)
    age = rng.uniform(18, 55)
    return {
        "age": age,
        "hr_max": 208 - 0.7 * age,
        "hr_rest": rng.uniform(68, 78) - 14 * fitness,
        "floor": rng.uniform(80, 95) - 5 * fitness,
        "tau_fast_seated": rng.uniform(30, 60) * (1.15 - 0.3 * fitness),
        "tau_fast_active": rng.uniform(70, 90),
        "tau_slow": rng.uniform(180, 360),
        "fast_share": rng.uniform(0.55, 0.8),
        "tau_on": rng.uniform(10, 30),
        "sensor_lag": rng.uniform(3, 8),
        "sensor_noise": rng.uniform(1.0, 3.0),
    }


def _true_session(rng: np.random.Generator, lifter: dict, cfg: SimConfig):
    """1 Hz true HR, state and per-set annotations of one session."""
    n_sets = int(rng.integers(cfg.sets_per_session[0], cfg.sets_per_session[1] + 1))
    hr, state, rpe, active = [], [], [], []
    level = lifter["hr_rest"] + rng.uniform(5, 15)  # warm-up already done
    warm = rng.uniform(60, 120)
    for _ in range(int(warm)):
        level += (lifter["floor"] - 5 - level) / 60
        hr.append(level)
        state.append(0)
        rpe.append(np.nan)
        active.append(0.0)
    drift = 0.0
    for _k in range(n_sets):
        intensity = rng.uniform(0.45, 0.85)
        target = lifter["hr_rest"] + intensity * (lifter["hr_max"] - lifter["hr_rest"]) + drift
        set_rpe = float(np.clip(np.round(5 + 5 * (intensity - 0.45) / 0.4 + rng.normal(0, 0.7)), 1, 10))
        duration = int(rng.uniform(*cfg.set_s))
        for _ in range(duration):
            level += (target - level) / lifter["tau_on"]
            hr.append(level)
            state.append(1)
            rpe.append(set_rpe)
            active.append(np.nan)
        lag = int(rng.uniform(0, 20))
        rest = int(rng.uniform(*cfg.rest_s))
        is_active = float(rng.uniform() < cfg.active_rest_probability)
        tau_fast = lifter["tau_fast_active"] if is_active else lifter["tau_fast_seated"]
        peak = level
        for _ in range(min(lag, rest)):  # still rising after the set
            peak += (target - peak) / (2 * lifter["tau_on"])
            hr.append(peak)
            state.append(0)
            rpe.append(np.nan)
            active.append(is_active)
        floor = lifter["floor"] + drift + (6 if is_active else 0)
        amplitude = max(peak - floor, 0.0)
        for t in range(rest - min(lag, rest)):
            fast = lifter["fast_share"] * amplitude * np.exp(-t / tau_fast)
            slow = (1 - lifter["fast_share"]) * amplitude * np.exp(-t / lifter["tau_slow"])
            level = floor + fast + slow
            hr.append(level)
            state.append(0)
            rpe.append(np.nan)
            active.append(is_active)
        drift += rng.uniform(1, 3)
    return np.array(hr), np.array(state), np.array(rpe), np.array(active, dtype=float)


def _wrist(rng: np.random.Generator, true_hr: np.ndarray, lifter: dict, state: np.ndarray, cfg: SimConfig):
    """What a wrist sensor reports: lagged, noisy (more so during sets), irregular, with gaps."""
    lagged = np.empty_like(true_hr)
    lagged[0] = true_hr[0]
    for i in range(1, len(true_hr)):
        lagged[i] = lagged[i - 1] + (true_hr[i] - lagged[i - 1]) / lifter["sensor_lag"]
    noise = rng.normal(0, lifter["sensor_noise"], len(true_hr)) * np.where(state == 1, 1.8, 1.0)
    times = np.arange(len(true_hr)) + rng.uniform(-0.3, 0.3, len(true_hr))
    times[0] = 0.0
    keep = np.ones(len(true_hr), bool)
    i = 0
    while i < len(true_hr):
        if rng.uniform() < cfg.gap_probability_per_s:
            gap = int(rng.uniform(5, 30))
            keep[i : i + gap] = False
            i += gap
        i += 1
    keep[0] = True
    return times[keep], np.round(lagged + noise, 1)[keep], keep


def simulate_sessions(cfg: SimConfig | None = None) -> pd.DataFrame:
    """Sessions in the schema of `liftsense.resthr.sessions` (plus `heart_rate_true`, `subject`, `active_rest`)."""
    cfg = cfg or SimConfig()
    rng = np.random.default_rng(cfg.seed)
    frames = []
    for s in range(cfg.subjects):
        lifter = _lifter(rng)
        for k in range(cfg.sessions_per_subject):
            true_hr, state, rpe, active = _true_session(rng, lifter, cfg)
            times, measured, keep = _wrist(rng, true_hr, lifter, state, cfg)
            frames.append(
                pd.DataFrame(
                    {
                        "time": times,
                        "heart_rate": measured,
                        "state": state[keep],
                        "id": f"sim{s:03d}_{k}",
                        "RPE": rpe[keep],
                        "subject": f"sim{s:03d}",
                        "active_rest": active[keep],
                        "heart_rate_true": true_hr[keep],
                        "resting_hr": lifter["hr_rest"],
                    }
                )
            )
    from liftsense.resthr.sessions import validate

    return validate(pd.concat(frames, ignore_index=True), source="simulator")
