"""One heart-rate output: a value with its quality, or an explicit "no reading" and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class HeartRateEstimate:
    """The estimate for the window ending at sample `end_sample` (exclusive) of the stream.

    - `bpm`: the reading, or None when there is no reliable one; `reason` then says why.
    - `sqi`: signal quality in [0, 1], the share of the motion-cancelled spectral power near the reported rate.
    - `confidence`: the tracker's posterior probability that the rate is within ±5 BPM of `candidate_bpm`.
    - `candidate_bpm`: the tracker's best guess even when it is not reliable enough to report. It is for
      diagnostics and benchmarks against the literature (which scores every window); consumers use `bpm`.
    """

    window_index: int
    end_sample: int
    bpm: float | None
    sqi: float
    confidence: float
    candidate_bpm: float | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.bpm is not None

    def to_dict(self) -> dict:
        return asdict(self)
