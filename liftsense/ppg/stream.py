"""The streaming estimator: arbitrary chunks in, one estimate per hop out, identical whatever the chunking.

Samples are addressed by their absolute index in the stream (the device's sequence number). Lost samples, reported
by a jump in sequence number, become NaN and the windows that overlap them say "no reading" with the count; repeated
samples (a retransmission) are dropped. Nothing is interpolated or invented.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liftsense.ppg.estimate import HeartRateEstimate
from liftsense.ppg.recording import HOP_S, SPC_FS, WINDOW_S, Recording
from liftsense.ppg.smoothing import FixedLagSmoother
from liftsense.ppg.spectral import SpectralConfig, SpectralTracker

#: a sequence jump longer than this is not a gap but a different stream
MAX_GAP_S = 3600.0
#: relative sample-rate difference tolerated between a chunk's declared rate and the stream's
RATE_TOLERANCE = 0.005


class StreamError(ValueError):
    """A chunk that cannot belong to this stream; the message says what is wrong."""


@dataclass
class StreamStats:
    samples_received: int = 0
    samples_lost: int = 0
    samples_duplicated: int = 0
    windows_emitted: int = 0
    windows_without_reading: int = 0


class StreamingEstimator:
    """Feed `push(ppg, acc)` chunks of any size; get the estimates of every window completed by the chunk.

    With `config.smoothing_lag` = L > 0 (the default is 2), each window's estimate comes out L hops later, once
    the next windows have voted (fixed-lag smoothing); `flush()` at the end of a stream returns the last L.
    """

    def __init__(
        self,
        fs: float = SPC_FS,
        n_ppg: int = 2,
        window_s: float = WINDOW_S,
        hop_s: float = HOP_S,
        config: SpectralConfig | None = None,
    ) -> None:
        self.tracker = SpectralTracker(fs, n_ppg, window_s, hop_s, config)
        lag = self.tracker.config.smoothing_lag
        self._smoother = FixedLagSmoother(self.tracker, lag) if lag else None
        self.fs, self.n_ppg = float(fs), n_ppg
        self.window_len, self.hop_len = round(window_s * fs), round(hop_s * fs)
        self.stats = StreamStats()
        self._buffer = np.empty((n_ppg + 3, 0))
        self._buffer_start = 0  # absolute index of the buffer's first sample
        self._next_index = 0  # absolute index the next sample should have
        self._window_index = 0

    @property
    def next_sequence(self) -> int:
        return self._next_index

    def push(
        self, ppg: np.ndarray, acc: np.ndarray, seq: int | None = None, fs: float | None = None
    ) -> list[HeartRateEstimate]:
        """Append a chunk. `seq` is the absolute index of its first sample (None: follows the previous chunk)."""
        ppg, acc = (
            np.atleast_2d(np.asarray(ppg, dtype=np.float64)),
            np.atleast_2d(np.asarray(acc, dtype=np.float64)),
        )
        self._check_chunk(ppg, acc, fs)
        # one memory layout whatever the caller's: the readings must be the same bits
        chunk = np.ascontiguousarray(np.vstack([ppg, acc]))
        seq = self._next_index if seq is None else int(seq)
        if seq > self._next_index:
            self._fill_gap(seq - self._next_index)
        elif seq < self._next_index:
            repeated = min(self._next_index - seq, chunk.shape[1])
            self.stats.samples_duplicated += repeated
            chunk = chunk[:, repeated:]
        self.stats.samples_received += chunk.shape[1]
        self._append(chunk)
        return self._emit()

    def _check_chunk(self, ppg: np.ndarray, acc: np.ndarray, fs: float | None) -> None:
        if ppg.ndim != 2 or ppg.shape[0] != self.n_ppg:
            raise StreamError(f"expected {self.n_ppg} PPG channel(s) × samples, got shape {ppg.shape}")
        if acc.ndim != 2 or acc.shape[0] != 3:
            raise StreamError(f"expected 3 accelerometer axes × samples, got shape {acc.shape}")
        if ppg.shape[1] != acc.shape[1]:
            raise StreamError(
                f"channel lengths differ: {ppg.shape[1]} PPG samples, {acc.shape[1]} accelerometer"
            )
        if fs is not None and abs(fs - self.fs) > RATE_TOLERANCE * self.fs:
            raise StreamError(
                f"chunk sampled at {fs:g} Hz but this stream runs at {self.fs:g} Hz; "
                "open a stream at the device's rate (any rate ≥ 20 Hz works)"
            )

    def _fill_gap(self, lost: int) -> None:
        if lost > MAX_GAP_S * self.fs:
            raise StreamError(
                f"sequence jumped by {lost} samples ({lost / self.fs:.0f} s): longer than {MAX_GAP_S:.0f} s, "
                "so this is a new stream, not a gap"
            )
        self.stats.samples_lost += lost
        self._append(np.full((self._buffer.shape[0], lost), np.nan))

    def _append(self, chunk: np.ndarray) -> None:
        self._buffer = np.concatenate([self._buffer, chunk], axis=1) if self._buffer.size else chunk
        self._next_index += chunk.shape[1]

    def _emit(self) -> list[HeartRateEstimate]:
        out = []
        while True:
            end = self._window_index * self.hop_len + self.window_len
            if end > self._next_index:
                break
            start = end - self.window_len - self._buffer_start
            estimate = self.tracker.step(
                self._buffer[:, start : start + self.window_len], self._window_index, end
            )
            out += self._count(self._smoother.add(estimate) if self._smoother else [estimate])
            self._window_index += 1
        keep_from = self._window_index * self.hop_len  # the next window's first sample
        drop = min(max(0, keep_from - self._buffer_start), self._buffer.shape[1])
        if drop:
            self._buffer = self._buffer[:, drop:]
            self._buffer_start += drop
        return out

    def flush(self) -> list[HeartRateEstimate]:
        """End of stream: the estimates still held back for look-ahead (none when smoothing is off)."""
        return self._count(self._smoother.flush()) if self._smoother else []

    def _count(self, estimates: list[HeartRateEstimate]) -> list[HeartRateEstimate]:
        self.stats.windows_emitted += len(estimates)
        self.stats.windows_without_reading += sum(not e.ok for e in estimates)
        return estimates


def estimate_recording(recording: Recording, config: SpectralConfig | None = None) -> list[HeartRateEstimate]:
    """The streaming estimator run over a whole recording (one estimate per SPC window)."""
    recording.require_windows()
    stream = StreamingEstimator(recording.fs, recording.ppg.shape[0], config=config)
    return stream.push(recording.ppg, recording.acc) + stream.flush()
