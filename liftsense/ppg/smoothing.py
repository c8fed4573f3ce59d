"""Fixed-lag smoothing of the tracker's hidden Markov model: a few windows of look-ahead for each reading.

The forward filter must commit to a rate from the past alone, so it jitters and lags at an exercise onset. Waiting
`lag` hops (2 s each) lets the next windows' evidence vote too (forward-backward over the last lag + 1 windows):
on SPC-2015 the error falls from 1.09 to 0.93 BPM at a lag of 2 (a 4 s delay). A rest timer can afford seconds;
a lag of 0 gives the plain filter.

Windows without input stay "no reading" with their reason: smoothing never fills a gap with a value.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from liftsense.ppg.estimate import HeartRateEstimate
from liftsense.ppg.spectral import SpectralTracker


@dataclass
class _Pending:
    filtered: HeartRateEstimate  # what the filter said (kept as is for windows without input)
    alpha: np.ndarray  # filtered posterior after this window
    evidence: np.ndarray | None  # None: the window had no input
    emission: np.ndarray | float  # likelihood over the grid (1.0: no input, the track only diffuses)
    amplitude: np.ndarray | None
    channels: list[int]
    pulse_seen: bool


class FixedLagSmoother:
    """Feed `add(...)` after every tracker step; it returns the estimate of the window `lag` hops back."""

    def __init__(self, tracker: SpectralTracker, lag: int) -> None:
        if lag < 0:
            raise ValueError(f"smoothing lag must be >= 0 windows, got {lag}")
        self.tracker, self.lag = tracker, lag
        self._pending: deque[_Pending] = deque()
        self._previous_amplitude: np.ndarray | None = None
        self._previous_channels: list[int] = []

    def add(self, filtered: HeartRateEstimate) -> list[HeartRateEstimate]:
        """The tracker has just stepped and produced `filtered`; return the estimates now final."""
        t = self.tracker
        evidence = t.last_evidence
        emission = t.emission(evidence) if evidence is not None else 1.0
        self._pending.append(
            _Pending(
                filtered,
                t.posterior.copy(),
                evidence,
                emission,
                t.last_amplitude,
                list(t.last_channels),
                t.last_pulse_seen,
            )
        )
        return [self._emit_oldest()] if len(self._pending) > self.lag else []

    def flush(self) -> list[HeartRateEstimate]:
        """End of stream: the remaining windows, each smoothed with the look-ahead there is."""
        out = []
        while self._pending:
            out.append(self._emit_oldest())
        return out

    def _emit_oldest(self) -> HeartRateEstimate:
        t = self.tracker
        oldest = self._pending[0]
        beta = np.ones_like(oldest.alpha)
        for later in reversed(list(self._pending)[1:]):  # backward pass over the look-ahead windows
            beta = t.transition.T @ (later.emission * beta)
            beta /= beta.sum()
        self._pending.popleft()
        if oldest.evidence is None:  # no input: stays "no reading", and breaks the vocoder's phase chain
            self._previous_amplitude, self._previous_channels = None, []
            return oldest.filtered
        posterior = oldest.alpha * beta
        posterior /= posterior.sum()
        peak = int(np.argmax(posterior))
        bpm = t.refine(
            peak, oldest.amplitude, self._previous_amplitude, oldest.channels, self._previous_channels
        )
        self._previous_amplitude, self._previous_channels = oldest.amplitude, oldest.channels
        f = oldest.filtered
        return t.judge(f.window_index, f.end_sample, bpm, posterior, oldest.evidence, oldest.pulse_seen)
