"""What a wristband sends: a recording as the MAX3010x's and the MPU9250's integer counts at 125 Hz.

The emulator plays these as bands, and the gateway turns them back into the library's units with the same
scales (`from_counts`), so a recording that goes through the whole path comes back as it went in, to the
counts' resolution.
"""

from __future__ import annotations

import numpy as np

from liftsense.ppg.recording import SPC_FS, Recording

#: the MAX3010x's ADC: 18-bit counts; a recording's PPG sits mid-range, one unit of it per `PPG_COUNTS_PER_UNIT`
PPG_FULL_SCALE = (1 << 18) - 1
PPG_MID = 1 << 17
PPG_COUNTS_PER_UNIT = 64.0
#: the MPU9250 at +-4 g: 8192 counts per g
ACC_LSB_PER_G = 8192


def to_counts(ppg: np.ndarray, acc_g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(2, n) PPG (a recording's units) and (3, n) acceleration in g -> uint32 PPG and int16 acceleration counts;
    values beyond the sensors' range saturate, as the sensors do."""
    ppg_counts = np.clip(np.rint(PPG_MID + np.asarray(ppg) * PPG_COUNTS_PER_UNIT), 0, PPG_FULL_SCALE)
    acc_counts = np.clip(np.rint(np.asarray(acc_g) * ACC_LSB_PER_G), -32768, 32767)
    return ppg_counts.astype(np.uint32), acc_counts.astype(np.int16)


def from_counts(
    ppg_counts: np.ndarray, acc_counts: np.ndarray, acc_lsb_per_g: int = ACC_LSB_PER_G
) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of `to_counts`: PPG in the recording's units, acceleration in g (float64)."""
    ppg = (np.asarray(ppg_counts, dtype=np.float64) - PPG_MID) / PPG_COUNTS_PER_UNIT
    return ppg, np.asarray(acc_counts, dtype=np.float64) / acc_lsb_per_g


def strength_session(seed: int = 0, fs: float = SPC_FS) -> tuple[Recording, np.ndarray]:
    """One simulated strength session as a band would measure it: sets, rests and the true HR from the built-in HR
    simulator; the pulse, the arm's movement during the sets and its artifact in the PPG from the PPG synthesiser.

    Returns the recording and the state per sample (1 in a set, 0 at rest).
    """
    from liftsense.ppg.synth import synth_recording
    from liftsense.resthr.simulate import SimConfig, simulate_sessions

    session = simulate_sessions(SimConfig(subjects=1, sessions_per_subject=1, seed=seed))
    t_s, hr = session["time"].to_numpy(float), session["heart_rate_true"].to_numpy(float)
    t_s = t_s - t_s[0]
    state_1hz = session["state"].to_numpy(int)

    def in_set(t: np.ndarray) -> np.ndarray:
        return state_1hz[np.clip(np.searchsorted(t_s, t, side="right") - 1, 0, len(t_s) - 1)]

    rec = synth_recording("lifting", duration_s=float(t_s[-1]), fs=fs, seed=seed, in_set=in_set,
                          heart_rate=lambda t: np.interp(t, t_s, hr))  # fmt: skip
    t = np.arange(rec.ppg.shape[1]) / fs
    state = in_set(t)
    ppg, acc = rec.ppg, rec.acc
    out = Recording(f"strength_session_{seed}", fs, ppg, acc, bpm_truth=rec.bpm_truth,
                    meta={"hr": np.interp(t, t_s, hr), "source": "simulated strength session"})  # fmt: skip
    return out, state
