"""The online spectral heart-rate tracker (beyond the paper).

Per 8 s window, causally (only the window's own samples and the tracker's past):

1. Average blocks of samples down to about 25 Hz, then band-pass every channel (zero-phase inside the window).
2. Locate the accelerometer's dominant spectral lines (arm swing, steps, their harmonics) on a fine grid, also
   weaker ones that form a lasting comb of multiples (walking, pedalling); each line brings its multiples along
   (a slow rep's show in the PPG, through its non-linear response, but barely in the accelerometer).
3. **Motion-aware line spectrum.** For every candidate heart rate f on a 0.5 BPM grid, fit a sinusoid at f to each
   PPG channel by least squares *jointly with* sinusoids at the motion lines, and keep the power it explains
   beyond them (a nonlinear-least-squares periodogram with the motion as nuisance). A heart rate a few BPM from
   a motion line survives (a masked or subtracted spectrum loses it, and the time-domain Lasso of the paper cannot
   follow per-line amplitude and phase), and the untapered fit resolves twice as finely as a Hann periodogram.
4. Evidence = the channels' normalised powers at f plus a little of that at 2f (the pulse's harmonic), taken
   above its local mean, so that broad leakage from unmodelled motion is not mistaken for a line.
   While the arm moves at a walking or running rate, rates below 65 BPM count for little (an activity prior).
5. **Tracking as a hidden Markov model**, filtered forward only: a Gaussian random walk in BPM per hop plus a small
   uniform jump probability, so that a lost track is re-acquired when the evidence moves. The emission
   exp(gain * evidence) keeps one noisy window from pulling the track away, while a persistent peak wins.
6. **Phase-vocoder refinement** (as in WFPV): the phase advance of the chosen line between consecutive windows
   measures its frequency more finely than the grid.

`StreamingEstimator` adds fixed-lag smoothing on top (`smoothing.py`, `smoothing_lag` windows of look-ahead).

Outputs carry `confidence` (posterior mass within ±5 BPM of the estimate) and `sqi` (share of the evidence within
±5 BPM of it). Below `min_confidence`, or when no line has stood out of the noise for 16 s (a band off the skin),
the output is an explicit "no reliable reading".
The settings were chosen on the SPC-2015 training recordings as a whole (never per recording); results over a
broad region of them lie within 0.05 BPM of each other (see benchmarks/RESULTS.md). The motion-harmonic,
comb-line and activity-prior settings were chosen leave-one-subject-out over SPC-2015 and the ppg_extra sets
(benchmarks/bench_ppg_extra.py prints the choice per held-out subject); the noise thresholds come from white
noise, and a rep's line is re-measured to undo the band-pass's bias, not to fit any data set.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from liftsense.ppg.estimate import HeartRateEstimate
from liftsense.ppg.filters import bandpass
from liftsense.ppg.quality import nonfinite_reason, usable_ppg_channels

#: a motion line at or above this rate (per minute) is walking or running, not a rep or fidgeting
LOCOMOTION_BPM = 70.0
#: products with more rows than this are split (see `SpectralTracker._times_cossin`)
MAX_ROWS_PER_PRODUCT = 11
#: below this rate the band-pass (4 Hz) and decimation to ~25 Hz have no room
MIN_FS = 20.0
#: the grid a rep's line is re-measured on (BPM)
REFIT_STEP_BPM = 0.1
#: by usable PPG channels: the strongest line's power over the band's median that white noise (no pulse, a band off
#: the skin) exceeds in one 8 s window in a thousand (4,000 windows at 50 and at 125 Hz; the same within 0.5;
#: tests/test_ppg_generalise.py checks it). Averaging channels narrows the noise, hence the falling values.
NOISE_PEAK_RATIO = {1: 21.0, 2: 9.0, 3: 6.3}


def _fft_plan(acc_grid: np.ndarray, n: int, fs: float) -> tuple[int, int, np.ndarray] | None:
    """(FFT length, first bin, Hann window) when every accelerometer grid frequency is an FFT bin, else None."""
    step_hz = (acc_grid[1] - acc_grid[0]) / 60
    n_fft = fs / step_hz
    first = acc_grid[0] / 60 / step_hz
    if abs(n_fft - round(n_fft)) > 1e-6 or abs(first - round(first)) > 1e-6 or round(n_fft) < n:
        return None
    return round(n_fft), round(first), np.hanning(n)


@functools.lru_cache(maxsize=16)
def _tables(fs: float, window_len: int, decimation: int, cfg: SpectralConfig) -> dict:
    """The tracker's constant tables for one configuration, built once per process and shared, read-only: a
    stream's state is loaded and saved for every chunk, and rebuilding these each time cost more than the chunk."""
    n = window_len // decimation if cfg.block_decimation else -(-window_len // decimation)
    t = np.arange(n) * decimation / fs
    grid = np.arange(cfg.bpm_min, cfg.bpm_max + 1e-9, cfg.grid_step_bpm)
    phase = 2 * np.pi * t[:, None] * (np.concatenate([grid, 2 * grid]) / 60)[None, :]
    cos, sin = np.cos(phase), np.sin(phase)  # (time, grid then doubled grid)
    acc_grid = np.arange(cfg.acc_min_bpm, cfg.bpm_max * 1.15, cfg.grid_step_bpm)
    step = grid[:, None] - grid[None, :]
    plan = _fft_plan(acc_grid, len(t), fs / decimation)
    walk = np.exp(-0.5 * (step / cfg.random_walk_bpm) ** 2)
    walk /= walk.sum(axis=0, keepdims=True)
    tables = {
        "_t": t,
        "grid": grid,
        "_n_grid": len(grid),
        "_cossin": np.ascontiguousarray(np.hstack([cos, sin])),  # one product per window gives both
        "_gram": ((cos**2).sum(0), (sin**2).sum(0), (cos * sin).sum(0)),
        "_acc_grid": acc_grid,
        "_acc_fft": plan,
        "_acc_dft": None
        if plan
        else (np.hanning(len(t)) * np.exp(-2j * np.pi * (acc_grid / 60)[:, None] * t)).T,
        "_transition": (1 - cfg.jump_probability) * walk + cfg.jump_probability / len(grid),
    }
    for v in tables.values():
        for arr in v if isinstance(v, tuple) else (v,):
            if isinstance(arr, np.ndarray):
                arr.setflags(write=False)
    return tables


@dataclass(frozen=True)
class SpectralConfig:
    bpm_min: float = 40.0
    bpm_max: float = 220.0
    grid_step_bpm: float = 0.5
    band_hz: tuple[float, float] = (0.4, 4.0)
    filter_order: int = 4
    target_fs: float = 25.0  # decimate to about this rate before fitting
    # average blocks of samples, then filter at the low rate (False: filter at the full rate, then pick)
    block_decimation: bool = True
    motion_lines: int = 4  # strongest accelerometer lines treated as nuisance per window
    motion_threshold: float = 0.1  # ... that reach this share of the strongest line
    motion_line_contrast: float = 10.0  # ... and stand this far above the median (noise is not a line)
    # ... or, from this contrast on, be a harmonic (2x or 3x, within the tolerance) of another such peak, here
    # and in the window before (a periodic movement's comb; 0: off)
    comb_contrast: float = 2.5
    comb_tolerance: float = 0.04
    comb_candidates: int = 6  # the strongest peaks examined
    # a rep's line (slower than `rep_line_below_bpm`) is re-measured on the unfiltered accelerometer within ± this
    # many BPM (0: off): the band-pass's low edge pulls it up by about a BPM (`_fitted_rep_line`)
    rep_line_refit_bpm: float = 1.5
    rep_line_below_bpm: float = 40.0
    acc_min_bpm: float = 10.0  # lines as slow as a rep every 6 s count as motion
    # each motion line's multiples up to this order are motion too (1: lines only), at most `max_motion_freqs`
    motion_harmonics: int = 3
    max_motion_freqs: int = 10
    harmonics_below_bpm: float = float("inf")  # only lines slower than this get their multiples modelled
    # while a motion line runs at >= 70 per minute (walking, running), rates below the floor are unlikely: their
    # evidence counts `locomotion_penalty` as much (0 or a penalty of 1: off)
    locomotion_floor_bpm: float = 65.0
    locomotion_penalty: float = 0.2
    ridge: float = 1e-3  # keeps the fit defined at a motion line itself
    floor_halfwidth_bpm: float = 20.0  # evidence counts above its local mean over ±this (0: off)
    harmonic_weight: float = (
        0.2  # evidence(f) = S(f) + w * S(2f); 0.7 already locks DATA_10 onto half its rate
    )
    random_walk_bpm: float = 5.0  # s.d. of the heart-rate change per hop
    jump_probability: float = 1e-5  # per hop, to anywhere: re-acquisition after a lost track
    emission_gain: float = 3.0  # gain in exp(gain * evidence / max evidence)
    vocoder_weight: float = 0.5  # mix of grid peak and phase-vocoder frequency
    vocoder_max_shift_bpm: float = 8.0
    confidence_halfwidth_bpm: float = 5.0
    min_confidence: float = 0.7
    # report only if a line stood out of the noise (`NOISE_PEAK_RATIO`) in one of this many windows up to the
    # current one (5: the last 16 s; 0: off)
    pulse_memory_windows: int = 5
    smoothing_lag: int = (
        2  # windows of look-ahead (fixed-lag smoothing, 2 s each) in StreamingEstimator; 0: filter only
    )


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
        self.fs, self.n_ppg, self.hop_s, self.window_s = float(fs), n_ppg, hop_s, window_s
        self.config = config or SpectralConfig()
        self._build_tables()
        self.reset()

    #: attributes derived from the configuration alone: rebuilt on unpickling instead of stored (megabytes)
    _TABLES = (
        "_t",
        "grid",
        "_n_grid",
        "_cossin",
        "_gram",
        "_acc_grid",
        "_acc_dft",
        "_acc_fft",
        "_transition",
    )

    def __getstate__(self) -> dict:
        """The tracker's state without its constant tables: a stream's state is saved after every chunk."""
        return {k: v for k, v in self.__dict__.items() if k not in self._TABLES}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        # saved by a version without comb lines or the pulse check
        self.__dict__.setdefault("_previous_comb_bpm", np.empty(0))
        self.__dict__.setdefault("_pulse_strengths", [])
        self.__dict__.setdefault("last_pulse_seen", True)
        self._build_tables()

    def _build_tables(self) -> None:
        self.window_len = round(self.window_s * self.fs)
        self.decimation = max(1, int(self.fs // self.config.target_fs))
        self.__dict__.update(_tables(self.fs, self.window_len, self.decimation, self.config))

    def reset(self) -> None:
        """Forget the track: the next window starts from a flat prior over the whole range."""
        self.posterior = np.full(self._n_grid, 1.0 / self._n_grid)
        self._first = True
        self._previous_amplitude: np.ndarray | None = None
        self._previous_channels: list[int] = []
        self._previous_comb_bpm = np.empty(0)
        self._pulse_strengths: list[float] = []  # the last windows' peak ratio over the noise's
        self.last_pulse_seen = True
        # what the last step measured, for a fixed-lag smoother (None after a window without input)
        self.last_evidence: np.ndarray | None = None
        self.last_amplitude: np.ndarray | None = None
        self.last_channels: list[int] = []

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

        cfg = self.config
        blocks = self._blocks(window)
        filtered = self._bandpassed(blocks)
        motion = self._motion_basis(filtered[self.n_ppg :], blocks[self.n_ppg :])
        amplitude, power = self._line_spectrum(filtered[channels], motion)
        power = power / (power[:, : self._n_grid].max(axis=1, keepdims=True) + 1e-300)
        power = power.mean(axis=0)
        self.last_pulse_seen = self._pulse_stands_out(power[: self._n_grid], len(channels))
        evidence = power[: self._n_grid] + cfg.harmonic_weight * power[self._n_grid :]
        evidence = self._prominence(evidence)
        evidence = self._locomotion_prior(evidence)

        prior = self.posterior if self._first else self._transition @ self.posterior
        posterior = prior * self.emission(evidence)
        self.posterior = posterior / posterior.sum()
        self._first = False
        amplitude = amplitude[:, : self._n_grid]
        peak = int(np.argmax(self.posterior))
        bpm = self.refine(peak, amplitude, self._previous_amplitude, channels, self._previous_channels)
        self._previous_amplitude, self._previous_channels = amplitude, channels
        self.last_evidence, self.last_amplitude, self.last_channels = evidence, amplitude, channels
        return self.judge(window_index, end_sample, bpm, self.posterior, evidence, self.last_pulse_seen)

    def _pulse_stands_out(self, power: np.ndarray, n_channels: int) -> bool:
        """Whether any of the last `pulse_memory_windows` windows had a line that noise alone seldom makes.

        A band that slips off the skin gives noise, and on noise the track still settles somewhere: of 142 windows
        of a slipped sensor, 55 were reported (10 with sqi >= 0.3, enough for the gateway to act on). Every pulse
        we have, under motion too, shows such a line at least once in 16 s: the BAMI and CardiacRehab sets lose no
        reading, SPC-2015 keeps 94.1% of its windows against 96.8%. Jarchi & Casson's single channel, where a
        pulse is often absent, falls from 64% to 23% reported, and its wrong readings from 33% to 12% of them.
        """
        memory = self.config.pulse_memory_windows
        if memory <= 0:
            return True
        ratio = float(power.max() / (np.median(power) + 1e-300))
        threshold = NOISE_PEAK_RATIO[min(max(n_channels, 1), max(NOISE_PEAK_RATIO))]
        self._pulse_strengths = [*self._pulse_strengths, ratio / threshold][-memory:]
        return max(self._pulse_strengths) >= 1.0

    def _blocks(self, window: np.ndarray) -> np.ndarray:
        """The window at about `target_fs`, before filtering: means of blocks of `decimation` samples, or (without
        block decimation) the full-rate window, to be picked from after filtering."""
        if not self.config.block_decimation or self.decimation == 1:
            return window
        n, d = len(self._t) * self.decimation, self.decimation
        # explicit sums in a fixed order: the same bits whatever the window's memory layout
        blocks = window[:, 0:n:d].copy()
        for j in range(1, d):
            blocks += window[:, j:n:d]
        return blocks / d

    def _bandpassed(self, blocks: np.ndarray) -> np.ndarray:
        """Band-passed and decimated to about `target_fs`. Averaging blocks of `decimation` samples first (a boxcar
        whose first null is at the new rate; 4% down at 4 Hz from 125 Hz) and filtering at the low rate costs a
        fifth of filtering at the full rate and then picking every fifth sample, for the same spectrum in band."""
        cfg = self.config
        if not cfg.block_decimation or self.decimation == 1:
            return bandpass(blocks, self.fs, *cfg.band_hz, cfg.filter_order)[:, :: self.decimation]
        return bandpass(blocks, self.fs / self.decimation, *cfg.band_hz, cfg.filter_order)

    def motion_free(self, window: np.ndarray) -> np.ndarray:
        """What the tracker hears in one window: the PPG channels band-passed, decimated to `fs / decimation`, with
        the accelerometer's strongest lines projected out (the same projection `step` fits heart rate to)."""
        window = np.asarray(window, dtype=np.float64)
        blocks = self._blocks(window)
        filtered = self._bandpassed(blocks)
        ppg, motion = filtered[: self.n_ppg], self._motion_basis(filtered[self.n_ppg :], blocks[self.n_ppg :])
        if motion is None:
            return ppg
        q, _ = np.linalg.qr(motion)
        return ppg - (ppg @ q) @ q.T

    @property
    def transition(self) -> np.ndarray:
        """P(rate now | rate one hop ago) on the grid: a Gaussian random walk plus a small uniform jump."""
        return self._transition

    def emission(self, evidence: np.ndarray) -> np.ndarray:
        return np.exp(self.config.emission_gain * evidence / (evidence.max() + 1e-300))

    def judge(
        self,
        window_index: int,
        end_sample: int,
        bpm: float,
        posterior: np.ndarray,
        evidence: np.ndarray,
        pulse_seen: bool = True,
    ) -> HeartRateEstimate:
        """The reading with its confidence (posterior mass near it) and sqi, or "no reliable reading"."""
        cfg = self.config
        near = np.abs(self.grid - bpm) <= cfg.confidence_halfwidth_bpm
        confidence = float(posterior[near].sum())
        sqi = float(evidence[near].sum() / evidence.sum())
        reason = ""
        if not pulse_seen:
            reason = "no pulse stands out of the noise in the last 16 s (is the band on the skin?)"
        elif confidence < cfg.min_confidence:
            reason = f"the heart-rate peak is ambiguous (confidence {confidence:.2f})"
        if reason:
            return HeartRateEstimate(
                window_index,
                end_sample,
                None,
                sqi,
                confidence,
                candidate_bpm=bpm,
                reason=f"no reliable reading: {reason}",
            )
        return HeartRateEstimate(window_index, end_sample, bpm, sqi, confidence, candidate_bpm=bpm)

    def _locomotion_prior(self, evidence: np.ndarray) -> np.ndarray:
        """An activity prior: while the arm moves at a walking or running rate, a heart rate below the floor is
        implausible. When the true rate hides behind a motion line (a runner's heart at their cadence), the
        projection deletes it, and without this the track fell to sub-harmonic leftovers at 40-50 BPM and stayed
        there for minutes (BAMI-1: error 3.5 -> 1.7 BPM, confident wrong 2.2% -> 1.0%). Slow reps (< 40 per
        minute), fidgeting and rest are untouched, so a resting or lifting rate of 50 still reads. The floor (55,
        65 or 75) is chosen leave-one-subject-out: 75 until walkers' comb lines were modelled, 65 since (a walker's
        heart at 72-76 was held down by 75); the evidence is only scaled down, so a real 60 still wins when nothing
        else is there."""
        cfg = self.config
        if cfg.locomotion_floor_bpm > 0 and np.any(self.last_motion_bpm >= LOCOMOTION_BPM):
            return np.where(self.grid < cfg.locomotion_floor_bpm, evidence * cfg.locomotion_penalty, evidence)
        return evidence

    def _prominence(self, evidence: np.ndarray) -> np.ndarray:
        """Evidence above its local mean (±`floor_halfwidth_bpm`): a peak counts, a broad slope does not.

        Motion energy that the nuisance lines do not capture (non-sinusoidal reps, wander) leaks into the bottom
        of the range as a slope; without this the track can settle on the range's edge during a set.
        """
        half = int(self.config.floor_halfwidth_bpm / self.config.grid_step_bpm)
        if half == 0:
            return evidence
        padded = np.pad(evidence, half, mode="edge")
        local_mean = np.convolve(padded, np.full(2 * half + 1, 1.0 / (2 * half + 1)), mode="valid")
        return np.maximum(evidence - local_mean, 0.0) + 1e-12

    def _no_input(self, window_index: int, end_sample: int, reason: str) -> HeartRateEstimate:
        """Nothing to measure: the track only diffuses, and the next good window is not refined against this one."""
        if not self._first:
            self.posterior = self._transition @ self.posterior
        self._previous_amplitude, self._previous_comb_bpm = None, np.empty(0)
        self.last_evidence, self.last_amplitude, self.last_channels = None, None, []
        return HeartRateEstimate(window_index, end_sample, None, 0.0, 0.0, reason=f"no reading: {reason}")

    def _line_spectrum(self, ppg: np.ndarray, motion: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Per channel and candidate frequency: the complex amplitude and the power explained beyond the motion.

        Candidate columns (cos, sin at f) and the data are projected off the motion subspace (orthonormal basis q),
        then a ridge-regularised 2x2 solve per frequency gives the amplitude, all frequencies at once. The
        projected Gram terms come from the precomputed ones minus their q-components, so nothing of size
        time x frequency is formed per window.
        """
        cc, ss, cs = self._gram
        half = self._cossin.shape[1] // 2
        if motion is None:
            b = self._times_cossin(ppg)
        else:
            q, _ = np.linalg.qr(motion)
            # the data's and the motion basis' products in one
            both = self._times_cossin(np.vstack([ppg, q.T]))
            b, q_cs = both[: len(ppg)], both[len(ppg) :]
            b = b - (ppg @ q) @ q_cs  # = (ppg projected off q) @ [cos | sin]
            q_cos, q_sin = q_cs[:, :half], q_cs[:, half:]
            cc = cc - (q_cos * q_cos).sum(0)
            ss = ss - (q_sin * q_sin).sum(0)
            cs = cs - (q_cos * q_sin).sum(0)
        ridge = self.config.ridge * len(self._t) / 2
        cc, ss = cc + ridge, ss + ridge
        bc, bs = b[:, :half], b[:, half:]
        det = cc * ss - cs * cs
        a_cos, a_sin = (ss * bc - cs * bs) / det, (cc * bs - cs * bc) / det
        return a_cos - 1j * a_sin, a_cos * bc + a_sin * bs

    def _times_cossin(self, rows: np.ndarray) -> np.ndarray:
        """rows @ [cos | sin], bit for bit the same whatever the number of BLAS threads.

        A reading must not depend on where it is computed (the gateway runs its processing on one thread, a test or
        the service on several). The bundled OpenBLAS splits this product differently by thread count once it has
        a dozen rows, and sends a single row down a matrix-vector path that does so for long windows; products of
        2 to 11 rows measured identical at 1 and 2 threads for every shape the tracker uses, and cost the same per
        row (`tests/test_ppg_generalise.py` checks it).
        """
        if len(rows) == 1:
            return (np.vstack([rows, rows]) @ self._cossin)[:1]
        if len(rows) <= MAX_ROWS_PER_PRODUCT:
            return rows @ self._cossin
        parts = -(-len(rows) // MAX_ROWS_PER_PRODUCT)
        return np.vstack([part @ self._cossin for part in np.array_split(rows, parts)])

    def _motion_basis(self, acc: np.ndarray, unfiltered_acc: np.ndarray) -> np.ndarray | None:
        """Sines and cosines at the accelerometer's strongest lines (None when the arm is still), found in the
        band-passed `acc`; a rep's line is re-measured in `unfiltered_acc` (the same samples before the filter)."""
        cfg = self.config
        self.last_motion_bpm = np.empty(0)
        acc_power = self._acc_spectrum(acc)
        acc_power = (acc_power / (acc_power.max(axis=1, keepdims=True) + 1e-300)).sum(axis=0)
        inner = acc_power[1:-1]
        floor = max(cfg.motion_threshold * acc_power.max(), cfg.motion_line_contrast * np.median(acc_power))
        is_local_peak = (inner > acc_power[:-2]) & (inner >= acc_power[2:])
        peaks = np.flatnonzero(is_local_peak & (inner >= floor)) + 1
        if cfg.comb_contrast:
            peaks = np.union1d(peaks, self._comb_lines(acc_power, is_local_peak)).astype(int)
        if len(peaks) == 0 or acc_power.max() <= 0:
            return None
        peaks = peaks[np.argsort(-acc_power[peaks])][: cfg.motion_lines]
        self.last_motion_bpm = np.array([self._interpolate_peak(acc_power, i) for i in peaks])
        reps = self.last_motion_bpm < cfg.rep_line_below_bpm
        if cfg.rep_line_refit_bpm > 0 and reps.any():
            unfiltered_acc = self._detrended(unfiltered_acc)
            for i in np.flatnonzero(reps):
                self.last_motion_bpm[i] = self._fitted_rep_line(unfiltered_acc, self.last_motion_bpm[i])
        freqs_hz = self._with_harmonics(self.last_motion_bpm) / 60
        phase = 2 * np.pi * self._t[:, None] * freqs_hz[None, :]
        return np.concatenate([np.cos(phase), np.sin(phase)], axis=1)

    def _detrended(self, acc: np.ndarray) -> np.ndarray:
        """`acc` on the tracker's time base (every `decimation`-th sample) less its mean and linear trend."""
        if acc.shape[1] != len(self._t):
            acc = acc[:, :: self.decimation][:, : len(self._t)]
        centred_t = self._t - self._t.mean()
        acc = acc - acc.mean(axis=1, keepdims=True)
        return acc - np.outer(acc @ centred_t / (centred_t @ centred_t), centred_t)

    def _fitted_rep_line(self, acc: np.ndarray, found_bpm: float) -> float:
        """A rep's rate, re-measured as the sinusoid that explains most of the unfiltered accelerometer within
        ±`rep_line_refit_bpm` of the rate found in the band-passed one.

        A rep of 22 per minute sits on the band-pass's low edge (0.4 Hz = 24 per minute): inside an 8 s window the
        filter pulls its line up to 23.2, so its 2nd and 3rd multiples were modelled 2 and 3 BPM too high, and the
        PPG's copies of them (a weak pulse under slow reps: 7 times its size) stayed in and were read as the heart
        rate. A least-squares sinusoid (cos and sin with their cross term, so the 3 cycles in the window are not
        biased by their mirror image) on the unfiltered samples gives 22.25.
        """
        cfg = self.config
        bpm = found_bpm + np.arange(-cfg.rep_line_refit_bpm, cfg.rep_line_refit_bpm + 1e-9, REFIT_STEP_BPM)
        phase = 2 * np.pi * self._t[:, None] * (bpm / 60)[None, :]
        cos, sin = np.cos(phase), np.sin(phase)
        cc, ss, cs = (cos * cos).sum(0), (sin * sin).sum(0), (cos * sin).sum(0)
        bc, bs = acc @ cos, acc @ sin
        explained = ((ss * bc * bc - 2 * cs * bc * bs + cc * bs * bs) / (cc * ss - cs * cs)).sum(axis=0)
        return float(bpm[int(np.argmax(explained))])

    def _comb_lines(self, acc_power: np.ndarray, is_local_peak: np.ndarray) -> np.ndarray:
        """Peaks too weak for the contrast test that are harmonics of each other, here and in the window before.

        A walker's or cyclist's wrist shows the movement's fundamental and its multiples (42, 84, 126, 168 per
        minute) at similar heights. They fill so much of the spectrum that its median rises and not one of them
        passed `motion_line_contrast`: the PPG's copy of the comb was left in and taken for the heart rate
        (Jarchi & Casson's walks read 170-190 against a truth of 75-100). Noise peaks seldom sit at 2:1 or 3:1 of
        each other, and seldom twice at the same place: a drifting, fidgeting arm makes such pairs by chance, so
        a pair counts only when the window before had it too.
        """
        cfg = self.config
        floor = max(cfg.motion_threshold * acc_power.max(), cfg.comb_contrast * np.median(acc_power))
        candidates = np.flatnonzero(is_local_peak & (acc_power[1:-1] >= floor)) + 1
        candidates = candidates[np.argsort(-acc_power[candidates])][: cfg.comb_candidates]
        bpm = self._acc_grid[candidates]
        ratio = bpm[:, None] / bpm[None, :]
        related = np.zeros(len(candidates), dtype=bool)
        for multiple in (2.0, 3.0):
            hit = np.abs(ratio - multiple) <= cfg.comb_tolerance * multiple
            related |= hit.any(axis=0) | hit.any(axis=1)
        previous, self._previous_comb_bpm = self._previous_comb_bpm, bpm[related]
        seen_before = (np.abs(bpm[:, None] - previous[None, :]) <= cfg.comb_tolerance * bpm[:, None]).any(
            axis=1
        )
        return candidates[related & seen_before]

    def _acc_spectrum(self, acc: np.ndarray) -> np.ndarray:
        """Hann-windowed power of each axis on the accelerometer grid: one zero-padded FFT per axis where the grid
        falls on FFT bins (every rate the band and the datasets use), else the direct DFT; the same numbers."""
        if self._acc_fft is None:
            return np.abs(acc @ self._acc_dft) ** 2
        n_fft, first, hann = self._acc_fft
        spectrum = np.fft.rfft(acc * hann, n=n_fft, axis=1)[:, first : first + len(self._acc_grid)]
        return spectrum.real**2 + spectrum.imag**2

    def _with_harmonics(self, lines_bpm: np.ndarray) -> np.ndarray:
        """The motion lines (strongest first) and their multiples inside the heart-rate band, without near-repeats.

        A slow arm movement (25 per minute) moves the PPG at 50 and 75 BPM as well, through the PPG's non-linear
        response, while the accelerometer shows almost only the fundamental; a run's arm swing at 62 puts a decoy
        at 186 beside the step line at 124. Chosen leave-one-subject-out against modelling the multiples of slow
        lines only (benchmarks/bench_ppg_extra.py).
        """
        cfg = self.config
        freqs: list[float] = []
        resolution = 60.0 / self.window_s / 4  # a quarter of the window's frequency resolution, in BPM
        for order in range(1, cfg.motion_harmonics + 1):
            for line in lines_bpm:
                f = order * float(line)
                if order > 1 and line >= cfg.harmonics_below_bpm:
                    continue
                if order > 1 and not cfg.bpm_min - 5 <= f <= cfg.bpm_max:
                    continue
                if all(abs(f - g) > resolution for g in freqs):
                    freqs.append(f)
        return np.array(freqs[: cfg.max_motion_freqs])

    def _interpolate_peak(self, power: np.ndarray, i: int) -> float:
        """Parabolic interpolation of a spectral peak on the accelerometer grid, in BPM."""
        a, b, c = power[i - 1], power[i], power[i + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
        return float(self._acc_grid[i] + shift * self.config.grid_step_bpm)

    def refine(
        self,
        peak: int,
        amplitude: np.ndarray,
        previous: np.ndarray | None,
        channels: list[int],
        previous_channels: list[int],
    ) -> float:
        """Phase vocoder: the line's phase advance over one hop (from the `previous` window) measures its
        frequency finely."""
        cfg, grid_bpm = self.config, float(self.grid[peak])
        if previous is None or channels != previous_channels or cfg.vocoder_weight == 0:
            return grid_bpm
        cross = np.sum(amplitude[:, peak] * np.conj(previous[:, peak]))
        if cross == 0:
            return grid_bpm
        expected = 2 * np.pi * grid_bpm / 60 * self.hop_s
        deviation = (np.angle(cross) - expected + np.pi) % (2 * np.pi) - np.pi
        vocoder_bpm = grid_bpm + deviation / (2 * np.pi * self.hop_s) * 60
        if abs(vocoder_bpm - grid_bpm) > cfg.vocoder_max_shift_bpm:
            return grid_bpm
        return float((1 - cfg.vocoder_weight) * grid_bpm + cfg.vocoder_weight * vocoder_bpm)
