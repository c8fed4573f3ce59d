"""The online spectral heart-rate tracker (beyond the paper).

Per 8 s window, causally (only the window's own samples and the tracker's past):

1. Band-pass every channel (zero-phase inside the window) and decimate to about 25 Hz.
2. **Motion cancellation by sinusoid fitting.** The accelerometer's dominant spectral lines (arm swing, steps and
   their harmonics) are located on a fine grid. Sines and cosines at exactly those frequencies are fitted to each
   PPG channel by least squares and subtracted. Unlike a spectral mask, this keeps a heart rate 10 BPM away from a
   motion line, and unlike the paper's time-domain Lasso it allows any amplitude and phase per motion line.
3. The residual PPG spectra (both channels, each normalised) are averaged on a 0.5 BPM grid from 40 to 220 BPM.
4. **Tracking as a hidden Markov model**, filtered forward (no look-ahead): a Gaussian random walk in BPM per hop,
   plus a small uniform jump probability so that a lost track is re-acquired when the evidence moves. The
   emission is exp(kappa * spectrum), so one noisy window cannot pull the track away, but a persistent peak does.
   The first window's prior is centred on a resting rate, because a lifter starts each rest at rest-ish rates.
5. **Phase-vocoder refinement** (as in WFPV): the phase advance of the chosen bin between consecutive windows
   gives the frequency more finely than the grid or the 8 s resolution.

Outputs carry `confidence` (posterior mass within ±5 BPM of the estimate) and `sqi` (share of the residual
spectral power within ±5 BPM of it). Below `min_confidence` the output is an explicit "no reliable reading".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liftsense.ppg.estimate import HeartRateEstimate
from liftsense.ppg.filters import bandpass
from liftsense.ppg.quality import nonfinite_reason, usable_ppg_channels

#: below this rate the band-pass (4 Hz) and decimation to ~25 Hz have no room
MIN_FS = 20.0


@dataclass(frozen=True)
class SpectralConfig:
    bpm_min: float = 40.0
    bpm_max: float = 220.0
    grid_step_bpm: float = 0.5
    band_hz: tuple[float, float] = (0.4, 4.0)
    filter_order: int = 4
    target_fs: float = 25.0  # decimate to about this rate before the DFT
    motion_lines: int = 4  # strongest accelerometer lines cancelled per window
    motion_threshold: float = 0.2  # ... that reach this share of the strongest line
    motion_line_contrast: float = 10.0  # ... and stand this far above the median (noise is not a line)
    random_walk_bpm: float = 3.0  # s.d. of the heart-rate change per hop
    jump_probability: float = 1e-5  # per hop, to anywhere: re-acquisition after a lost track
    harmonic_weight: float = 0.35  # evidence(f) = S(f) + w * S(2f): a pulse wave has a strong 2nd harmonic
    emission_gain: float = 6.0  # kappa in exp(kappa * normalised spectrum)
    prior_bpm: float = 80.0  # the first window's prior: a resting rate ...
    prior_sd_bpm: float = 30.0  # ... held loosely
    vocoder_weight: float = 0.5  # mix of grid peak and phase-vocoder frequency
    vocoder_max_shift_bpm: float = 8.0
    confidence_halfwidth_bpm: float = 5.0
    min_confidence: float = 0.7


class SpectralTracker:
    """Stateful per-window estimator. `step(window)` takes raw samples (ppg channels + 3 acc axes) of one window."""

    def __init__(
        self,
        fs: float,
        n_ppg: int = 2,
        window_s: float = 8.0,
        hop_s: float = 2.0,
        config: SpectralConfig | None = None,
    ) -> None:
        if not np.isfinite(fs) or fs < MIN_FS:
            raise ValueError(f"sample rate {fs!r} Hz is too low for heart rate: need at least {MIN_FS} Hz")
        self.fs, self.n_ppg, self.hop_s = float(fs), n_ppg, hop_s
        self.config = cfg = config or SpectralConfig()
        self.window_len = round(window_s * fs)
        self.decimation = max(1, int(fs // cfg.target_fs))
        t = np.arange(0, self.window_len, self.decimation) / fs
        taper = np.hanning(len(t))
        self.grid = np.arange(cfg.bpm_min, cfg.bpm_max + 1e-9, cfg.grid_step_bpm)
        # the grid, then its doubles (for the harmonic term)
        self._n_grid = len(self.grid)
        freqs_bpm = np.concatenate([self.grid, 2 * self.grid])
        self._dft = (taper * np.exp(-2j * np.pi * (freqs_bpm / 60)[:, None] * t)).T  # (time, freq)
        self._acc_grid = np.arange(cfg.bpm_min * 0.75, cfg.bpm_max * 1.15, cfg.grid_step_bpm)
        self._acc_dft = (taper * np.exp(-2j * np.pi * (self._acc_grid / 60)[:, None] * t)).T
        self._t = t
        step = self.grid[:, None] - self.grid[None, :]
        walk = np.exp(-0.5 * (step / cfg.random_walk_bpm) ** 2)
        walk /= walk.sum(axis=0, keepdims=True)
        self._transition = (1 - cfg.jump_probability) * walk + cfg.jump_probability / len(self.grid)
        self.reset()

    def reset(self) -> None:
        cfg = self.config
        prior = np.exp(-0.5 * ((self.grid - cfg.prior_bpm) / cfg.prior_sd_bpm) ** 2)
        self.posterior = prior / prior.sum()
        self._first = True
        self._previous_spectrum: np.ndarray | None = None
        self._previous_channels: list[int] = []

    # -- one window -------------------------------------------------------------------------------------
    def step(self, window: np.ndarray, window_index: int = 0, end_sample: int = 0) -> HeartRateEstimate:
        window = np.asarray(window, dtype=np.float64)
        expected = (self.n_ppg + 3, self.window_len)
        if window.shape != expected:
            raise ValueError(
                f"window must have shape {expected} (PPG channels + 3 acc axes, samples), got {window.shape}"
            )
        reason = nonfinite_reason(window)
        channels: list[int] = []
        if not reason:
            channels, reason = usable_ppg_channels(window[: self.n_ppg])
        if reason:
            return self._no_input(window_index, end_sample, reason)

        filtered = bandpass(window, self.fs, *self.config.band_hz, self.config.filter_order)[
            :, :: self.decimation
        ]
        ppg = filtered[channels]
        ppg = ppg - self._motion_fit(ppg, filtered[self.n_ppg :])
        spectrum_all = ppg @ self._dft  # (channels, grid + doubled grid)
        spectrum_c = spectrum_all[:, : self._n_grid]
        power = np.abs(spectrum_all) ** 2
        power /= power[:, : self._n_grid].max(axis=1, keepdims=True) + 1e-300
        power = power.mean(axis=0)
        evidence = power[: self._n_grid] + self.config.harmonic_weight * power[self._n_grid :]

        prior = self.posterior if self._first else self._transition @ self.posterior
        posterior = prior * np.exp(self.config.emission_gain * evidence / (evidence.max() + 1e-300))
        self.posterior = posterior / posterior.sum()
        self._first = False
        peak = int(np.argmax(self.posterior))
        bpm = self._refine(peak, spectrum_c, channels)
        self._previous_spectrum, self._previous_channels = spectrum_c, channels

        near = np.abs(self.grid - bpm) <= self.config.confidence_halfwidth_bpm
        confidence = float(self.posterior[near].sum())
        sqi = float(evidence[near].sum() / evidence.sum())
        if confidence < self.config.min_confidence:
            return HeartRateEstimate(
                window_index,
                end_sample,
                None,
                sqi,
                confidence,
                candidate_bpm=bpm,
                reason=f"no reliable reading: the heart-rate peak is ambiguous (confidence {confidence:.2f})",
            )
        return HeartRateEstimate(window_index, end_sample, bpm, sqi, confidence, candidate_bpm=bpm)

    def _no_input(self, window_index: int, end_sample: int, reason: str) -> HeartRateEstimate:
        """Nothing to measure: the track only diffuses, and the next good window is not refined against this one."""
        if not self._first:
            self.posterior = self._transition @ self.posterior
        self._previous_spectrum = None
        return HeartRateEstimate(window_index, end_sample, None, 0.0, 0.0, reason=f"no reading: {reason}")

    def _motion_fit(self, ppg: np.ndarray, acc: np.ndarray) -> np.ndarray:
        """Least-squares fit of sines/cosines at the accelerometer's strongest lines to each PPG channel."""
        cfg = self.config
        acc_power = np.abs(acc @ self._acc_dft) ** 2
        acc_power = (acc_power / (acc_power.max(axis=1, keepdims=True) + 1e-300)).sum(axis=0)
        inner = acc_power[1:-1]
        is_peak = (
            (inner > acc_power[:-2])
            & (inner >= acc_power[2:])
            & (inner >= cfg.motion_threshold * acc_power.max())
        )
        peaks = np.flatnonzero(is_peak) + 1
        if len(peaks) == 0 or acc_power.max() <= 0:
            return np.zeros_like(ppg)
        peaks = peaks[np.argsort(-acc_power[peaks])][: cfg.motion_lines]
        freqs_hz = np.array([self._interpolate_peak(acc_power, i) for i in peaks]) / 60
        phase = 2 * np.pi * self._t[:, None] * freqs_hz[None, :]
        design = np.concatenate([np.cos(phase), np.sin(phase)], axis=1)
        coef, *_ = np.linalg.lstsq(design, ppg.T, rcond=None)
        return (design @ coef).T

    def _interpolate_peak(self, power: np.ndarray, i: int) -> float:
        """Parabolic interpolation of a spectral peak on the accelerometer grid, in BPM."""
        a, b, c = power[i - 1], power[i], power[i + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
        return float(self._acc_grid[i] + shift * self.config.grid_step_bpm)

    def _refine(self, peak: int, spectrum_c: np.ndarray, channels: list[int]) -> float:
        """Phase vocoder: the bin's phase advance over one hop measures its frequency finely."""
        cfg, grid_bpm = self.config, float(self.grid[peak])
        if self._previous_spectrum is None or channels != self._previous_channels or cfg.vocoder_weight == 0:
            return grid_bpm
        cross = np.sum(spectrum_c[:, peak] * np.conj(self._previous_spectrum[:, peak]))
        if cross == 0:
            return grid_bpm
        expected = 2 * np.pi * grid_bpm / 60 * self.hop_s
        deviation = (np.angle(cross) - expected + np.pi) % (2 * np.pi) - np.pi
        vocoder_bpm = grid_bpm + deviation / (2 * np.pi * self.hop_s) * 60
        if abs(vocoder_bpm - grid_bpm) > cfg.vocoder_max_shift_bpm:
            return grid_bpm
        return float((1 - cfg.vocoder_weight) * grid_bpm + cfg.vocoder_weight * vocoder_bpm)
