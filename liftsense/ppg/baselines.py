"""The paper's pipeline and a plain spectral-peak baseline, scored beside the tracker.

Paper (eq. 1-5): 5th-order Butterworth band-pass 0.5-4 Hz, Lasso regression of the PPG on the 3-axis
accelerometer, the fit subtracted as motion artifact, then peak detection and BPM = 60 / RR. Here each 8 s window
is processed on its own (zero-phase inside the window), which keeps it causal at window level like the tracker.
"""

from __future__ import annotations

import numpy as np

from liftsense.ppg.estimate import HeartRateEstimate
from liftsense.ppg.filters import bandpass
from liftsense.ppg.quality import nonfinite_reason, usable_ppg_channels
from liftsense.ppg.recording import HOP_S, WINDOW_S, Recording

BPM_LIMITS = (40.0, 220.0)
REFRACTORY_S = 0.3  # no two beats closer than this (200 BPM)


LAG_STRIDE = 4  # samples between lagged copies (32 ms at 125 Hz)


def lagged(acc: np.ndarray, lags: int) -> np.ndarray:
    """Columns acc[t - s] for s in -lags..lags strides (wrapping at the edges): lets the fit absorb small delays
    and a little filtering between the accelerometer and the optical path."""
    if lags == 0:
        return acc.T
    cols = [np.roll(acc, LAG_STRIDE * shift, axis=1) for shift in range(-lags, lags + 1)]
    return np.concatenate(cols, axis=0).T


def lasso_motion_artifact(ppg: np.ndarray, acc: np.ndarray, lags: int = 0) -> np.ndarray:
    """The Lasso fit of one band-passed PPG trace on the (standardised) accelerometer; λ by BIC per window."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LassoLarsIC

    features = lagged(acc, lags)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    features = (features - features.mean(axis=0)) / scale
    with warnings.catch_warnings():  # LARS warns when the tail of the path is degenerate; BIC never picks it
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LassoLarsIC(criterion="bic").fit(features, ppg)
    return model.predict(features)


def denoise(ppg: np.ndarray, acc: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paper's cleaning of one PPG chunk: (band-passed, motion artifact removed, the artifact).

    Band-pass 0.5-4 Hz (zero-phase), then the Lasso fit of the band-passed accelerometer subtracted. Raises
    ValueError for a band that does not fit under the Nyquist frequency."""
    clean = bandpass(ppg, fs)
    artifact = lasso_motion_artifact(clean, bandpass(acc, fs))
    return clean, clean - artifact, artifact


def spectral_clean(ppg: np.ndarray, acc: np.ndarray, fs: float) -> tuple[np.ndarray, float]:
    """The spectral tracker's cleaned signal of one PPG chunk and its sample rate: band-passed, decimated, and the
    accelerometer's strongest lines projected out over the whole chunk. Raises ValueError for a rate too low."""
    from liftsense.ppg.spectral import SpectralTracker

    tracker = SpectralTracker(fs, n_ppg=1, window_s=len(ppg) / fs)
    clean = tracker.motion_free(np.vstack([ppg, acc]))[0]
    return clean, fs / tracker.decimation


def peak_rate(trace: np.ndarray, fs: float, refractory_s: float = REFRACTORY_S) -> tuple[float | None, str]:
    """Peaks with a refractory period and an amplitude floor -> RR intervals -> 60 / median RR."""
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(trace, distance=max(1, round(refractory_s * fs)), prominence=0.5 * trace.std())
    rr = np.diff(peaks) / fs
    rr = rr[(rr >= 60 / BPM_LIMITS[1]) & (rr <= 60 / BPM_LIMITS[0])]
    if len(rr) < 2:
        return None, f"fewer than 3 plausible beats found ({len(peaks)} peaks)"
    return float(60.0 / np.median(rr)), ""


def _windows(recording: Recording, window_s: float, hop_s: float):
    length, hop = round(window_s * recording.fs), round(hop_s * recording.fs)
    signals = np.vstack([recording.ppg, recording.acc])
    for k in range(recording.n_windows(window_s, hop_s)):
        yield k, k * hop + length, signals[:, k * hop : k * hop + length]


def _checked(recording: Recording, window: np.ndarray) -> tuple[np.ndarray | None, str]:
    reason = nonfinite_reason(window)
    if reason:
        return None, reason
    n_ppg = recording.ppg.shape[0]
    channels, reason = usable_ppg_channels(window[:n_ppg])
    return (None, reason) if reason else (np.asarray(channels), "")


def lasso_peak_estimates(
    recording: Recording, lags: int = 0, window_s: float = WINDOW_S, hop_s: float = HOP_S
) -> list[HeartRateEstimate]:
    """The paper's pipeline per window (mean of the usable PPG channels)."""
    n_ppg, out = recording.ppg.shape[0], []
    for k, end, window in _windows(recording, window_s, hop_s):
        channels, reason = _checked(recording, window)
        bpm = None
        if channels is not None:
            filtered = bandpass(window, recording.fs)
            ppg = filtered[channels].mean(axis=0)
            clean = ppg - lasso_motion_artifact(ppg, filtered[n_ppg:], lags)
            bpm, reason = peak_rate(clean, recording.fs)
        out.append(
            HeartRateEstimate(
                k, end, bpm, 0.0, 0.0, candidate_bpm=bpm, reason=reason and f"no reading: {reason}"
            )
        )
    return out


def spectral_peak_estimates(
    recording: Recording, window_s: float = WINDOW_S, hop_s: float = HOP_S
) -> list[HeartRateEstimate]:
    """Band-pass, then the strongest periodogram peak in 40-220 BPM: no motion handling, no tracking."""
    out = []
    for k, end, window in _windows(recording, window_s, hop_s):
        channels, reason = _checked(recording, window)
        bpm = None
        if channels is not None:
            ppg = bandpass(window[channels], recording.fs)
            n_fft = 1 << 16
            freqs = np.fft.rfftfreq(n_fft, 1 / recording.fs) * 60
            power = (np.abs(np.fft.rfft(ppg * np.hanning(ppg.shape[1]), n_fft, axis=1)) ** 2).sum(axis=0)
            band = (freqs >= BPM_LIMITS[0]) & (freqs <= BPM_LIMITS[1])
            bpm = float(freqs[band][np.argmax(power[band])])
        out.append(
            HeartRateEstimate(
                k, end, bpm, 0.0, 0.0, candidate_bpm=bpm, reason=reason and f"no reading: {reason}"
            )
        )
    return out
