"""Built-in synthetic wrist recordings with a known heart rate: the default data and the tests' ground truth.

A two-peak pulse wave (systolic + dicrotic) is driven by the integral of a time-varying heart rate with a little
variability, modulated by respiration, on a wandering baseline. The arm moves (lifting reps in sets, running arm
swing with its step harmonic, slow non-periodic fidgeting at a resting rate, slow reps of 20-30 per minute
whose harmonics fall in the heart-rate band while the rate climbs from about 60 to 100, or a walker's swing whose
multiples are as strong as itself); the accelerometer sees
that motion plus gravity, and each PPG channel sees a differently filtered and non-linear copy of it: the motion
artifact. `pulse_amplitude` weakens the pulse (a loose band, cold skin). Both sensors clip at their rails.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from liftsense.ppg.recording import HOP_S, SPC_FS, WINDOW_S, Recording, n_windows

ACTIVITIES = ("rest", "lifting", "running", "fidgeting", "slow_reps", "walking")
#: how strongly each activity's arm motion distorts the PPG non-linearly (harmonics the accelerometer lacks)
NONLINEARITY = {"slow_reps": 1.5}
PPG_RAIL = 1024.0
ACC_RAIL_G = 4.0


def _smooth_noise(rng: np.random.Generator, n: int, fs: float, cutoff_hz: float) -> np.ndarray:
    """Unit-s.d. noise band-limited below `cutoff_hz` (moving average of white noise)."""
    width = max(1, int(fs / cutoff_hz))
    noise = np.convolve(rng.standard_normal(n + width), np.ones(width) / width, mode="same")[:n]
    return noise / (noise.std() + 1e-12)


def heart_rate_profile(activity: str, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Instantaneous heart rate (BPM) over time for the activity, with slow variability."""
    if activity == "rest":
        hr = np.full_like(t, rng.uniform(60, 80))
    elif activity == "fidgeting":
        hr = np.full_like(t, rng.uniform(52, 68))
    elif activity == "slow_reps":  # a climb from a resting rate during a long, slow set
        start, end = rng.uniform(58, 66), rng.uniform(95, 105)
        hr = start + (end - start) * np.clip(t / max(t[-1], 1e-9), 0, 1)
    elif activity == "lifting":  # 30 s sets, 60 s rests: rise towards ~130, recover towards ~85
        base, work = rng.uniform(70, 85), rng.uniform(120, 140)
        hr, level = np.empty_like(t), base
        dt = t[1] - t[0]
        for i, ti in enumerate(t):
            target, tau = (work, 15.0) if (ti % 90.0) < 30.0 else (base, 30.0)
            level += (target - level) * dt / tau
            hr[i] = level
    elif activity == "walking":  # a brisk walk to the rack: a gentle climb from a resting rate
        start, level = rng.uniform(75, 85), rng.uniform(95, 110)
        hr = level - (level - start) * np.exp(-t / 60.0)
    elif activity == "running":
        start, peak = rng.uniform(70, 90), rng.uniform(150, 170)
        hr = peak - (peak - start) * np.exp(-t / 40.0)
    else:
        raise ValueError(f"unknown activity {activity!r}; choose from {ACTIVITIES}")
    return hr + 1.5 * _smooth_noise(rng, len(t), 1 / (t[1] - t[0]), 0.05)


def _arm_acceleration(
    activity: str, t: np.ndarray, rng: np.random.Generator, in_set: np.ndarray | None = None
) -> np.ndarray:
    """(3, n) wrist acceleration in g: gravity along a slowly turning axis plus the movement (lifting: during the
    samples where `in_set` is 1; default the first 30 s of every 90 s)."""
    tilt = 0.3 * _smooth_noise(rng, len(t), 1 / (t[1] - t[0]), 0.05)
    gravity = np.vstack([np.sin(tilt), np.zeros_like(t), -np.cos(tilt)])
    if activity == "rest":
        return gravity + 0.01 * rng.standard_normal((3, len(t)))
    if activity == "fidgeting":  # the arm shifts now and then: slow, smooth, not periodic
        fs = 1 / (t[1] - t[0])
        drift = np.vstack([_smooth_noise(rng, len(t), fs, 0.4) for _ in range(3)])
        return gravity + 0.15 * drift
    if activity == "slow_reps":
        rep_hz = rng.uniform(20, 30) / 60
        rep = np.sin(2 * np.pi * rep_hz * t)
        return gravity + np.vstack([0.5 * rep, 0.05 * rep, 0.4 * np.cos(2 * np.pi * rep_hz * t)])
    if activity == "walking":  # an arm swing of 45-55 a minute, far from a sinusoid, and no two strides alike
        fs = 1 / (t[1] - t[0])
        swing_hz = rng.uniform(45, 55) / 60 * (1 + 0.05 * _smooth_noise(rng, len(t), fs, 0.5))
        phase = 2 * np.pi * np.cumsum(swing_hz) / fs
        comb = [np.sin(k * phase + rng.uniform(0, 2 * np.pi, 3)[:, None]) for k in (1, 2, 3, 4)]
        heights = rng.uniform(0.5, 1.0, (4, 3))  # every multiple about as strong as the fundamental, per axis
        swing = 0.3 * sum(h[:, None] * c for h, c in zip(heights, comb, strict=True))
        # a jolt at every footfall (two per swing): short pulses whose own multiples reach far up the spectrum
        jolts = np.exp(-0.5 * (np.sin(phase) / 0.15) ** 2) * rng.uniform(0.3, 0.6, (3, 1))
        stride_to_stride = 1 + 0.6 * np.vstack([_smooth_noise(rng, len(t), fs, 1.0) for _ in range(3)])
        return gravity + stride_to_stride * (swing + jolts) + 0.03 * rng.standard_normal((3, len(t)))
    if activity == "running":
        cadence = rng.uniform(1.3, 1.5) * (1 + 0.02 * _smooth_noise(rng, len(t), 125.0, 0.05))
        phase = 2 * np.pi * np.cumsum(cadence) * (t[1] - t[0])
        swing = np.vstack([1.2 * np.sin(phase), 0.6 * np.sin(2 * phase + 0.7), 0.9 * np.sin(2 * phase + 1.9)])
        return gravity + swing
    # lifting: a rep every ~3 s during the first 30 s of each 90 s, a smooth raise-and-lower profile
    rep_hz = rng.uniform(0.3, 0.4)
    in_set = ((t % 90.0) < 30.0).astype(float) if in_set is None else np.asarray(in_set, dtype=float)
    rep = np.sin(2 * np.pi * rep_hz * t)
    curl = in_set * np.vstack(
        [0.5 * rep, 0.2 * np.sin(4 * np.pi * rep_hz * t + 0.4), 0.4 * np.cos(2 * np.pi * rep_hz * t)]
    )
    return gravity + curl


def _pulse(phase_cycles: np.ndarray) -> np.ndarray:
    """One cardiac cycle per unit phase: a systolic peak and a smaller, wider dicrotic wave."""
    u = phase_cycles % 1.0
    return np.exp(-0.5 * ((u - 0.2) / 0.07) ** 2) + 0.4 * np.exp(-0.5 * ((u - 0.45) / 0.1) ** 2)


def window_truth(hr: np.ndarray, fs: float, window_s: float = WINDOW_S, hop_s: float = HOP_S) -> np.ndarray:
    """Mean heart rate per SPC window, the same definition as the ECG-derived BPM traces."""
    length, hop = round(window_s * fs), round(hop_s * fs)
    return np.array(
        [hr[k * hop : k * hop + length].mean() for k in range(n_windows(len(hr), fs, window_s, hop_s))]
    )


def synth_recording(
    activity: str = "lifting",
    duration_s: float = 180.0,
    fs: float = SPC_FS,
    seed: int = 0,
    heart_rate: Callable[[np.ndarray], np.ndarray] | None = None,
    motion_gain: float = 2.0,
    saturate: bool = True,
    pulse_amplitude: float = 1.0,
    in_set: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Recording:
    """A two-channel PPG + accelerometer recording with `bpm_truth` per 8 s / 2 s window.

    `heart_rate` overrides the activity's profile (a function of time in s -> BPM). `motion_gain` scales the
    motion artifact relative to the pulse amplitude. `in_set` (time in s -> 1 in a set, 0 at rest) overrides
    the lifting activity's own sets (30 s of every 90 s).
    """
    if activity not in ACTIVITIES:
        raise ValueError(f"unknown activity {activity!r}; choose from {ACTIVITIES}")
    rng = np.random.default_rng(seed)
    n = round(duration_s * fs)
    t = np.arange(n) / fs
    hr = heart_rate(t) if heart_rate is not None else heart_rate_profile(activity, t, rng)
    beats = np.cumsum(hr / 60.0) / fs
    breathing = np.sin(2 * np.pi * rng.uniform(0.2, 0.3) * t)
    pulse = pulse_amplitude * _pulse(beats) * (1 + 0.1 * breathing)
    acc = _arm_acceleration(activity, t, rng, None if in_set is None else in_set(t))
    dynamic = acc - acc.mean(axis=1, keepdims=True)
    ppg = []
    for _channel in range(2):
        coupling = rng.normal(0, 1, 3)
        delay = int(rng.integers(0, int(0.05 * fs) + 1))
        moved = coupling @ dynamic
        if (
            activity in NONLINEARITY
        ):  # a strongly bent response: the PPG sees harmonics the accelerometer lacks
            moved = moved / (moved.std() + 1e-12)
            bend = NONLINEARITY[activity]
            artifact = np.roll(moved, delay) + bend * moved**2 + bend * moved**3 / 3
        else:
            artifact = np.roll(moved, delay) + 0.3 * moved**2
        scale = (
            motion_gain * pulse.std() / pulse_amplitude
        )  # a weak pulse is buried deeper in the same motion
        artifact = artifact / (artifact.std() + 1e-12) * (scale if activity != "rest" else 0.0)
        wander = 0.5 * _smooth_noise(rng, n, fs, 0.1)
        trace = 60.0 * (pulse - pulse.mean() + 0.3 * breathing + wander + artifact)
        ppg.append(trace + 0.5 * rng.standard_normal(n))
    ppg = np.array(ppg)
    if saturate:
        ppg, acc = np.clip(ppg, -PPG_RAIL, PPG_RAIL), np.clip(acc, -ACC_RAIL_G, ACC_RAIL_G)
    return Recording(
        f"synth_{activity}_{seed}",
        fs,
        ppg,
        acc,
        bpm_truth=window_truth(hr, fs),
        meta={"activity": activity, "seed": seed, "hr": hr},
    )
