"""A lifter's session as it happens: a band's samples in; heart rate, set and rest phases and "rest over" out.

`LiveSession` is what the gateway runs per band (and what a test runs on a whole recording at once): it feeds the
PPG to the streaming heart-rate estimator, finds sets and rests in the accelerometer (button presses win when the
band has them), asks for a rest forecast at each set end and a refined one during the rest, and ends each rest by
the lifter's own heart rate within the guard rails. It is deterministic in its input, so the same samples give the
same readings and decisions however they arrived, and it pickles, so a gateway that restarts continues it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from liftsense.resthr.forecast import RestForecast, SetDone
from liftsense.resthr.recovery import TargetRule

#: activity: the standard deviation of the acceleration's magnitude over 1 s blocks (g); a set moves the wrist
SET_ON_G = 0.08
SET_OFF_G = 0.04
#: a set starts after this many active blocks in a row, and ends after this many quiet ones
SET_ON_BLOCKS = 2
SET_OFF_BLOCKS = 5
#: a reading counts for a decision only with at least this signal-quality index: below it the estimator's value
#: may come from noise (a slipped sensor gives readings with SQI 0.2-0.28 and confidence up to 0.9)
ADEQUATE_SQI = 0.3
#: readings in a row at or below the target that end a rest
CONSECUTIVE_BELOW = 3
#: without a reading for this long, the HR counts as unreadable (the forecast's rest time then decides)
UNREADABLE_S = 10.0
#: how often the rest forecast is refined from the rest's own readings
REFINE_EVERY_S = 10.0
#: the guard rails are checked on this grid of stream time (samples at 125 Hz: every 0.2 s)
TICK_SAMPLES = 25


@dataclass(frozen=True)
class Reading:
    t_s: float  # the stream time of the window's end (s since the stream's first sample)
    bpm: float | None
    sqi: float
    confidence: float
    reason: str = ""


@dataclass(frozen=True)
class Phase:
    t_s: float  # when the phase began (stream time)
    state: str  # "set" or "rest"
    source: str  # "accelerometer" or "button"
    detected_s: float = -1.0  # when the evidence for it was complete (the accelerometer decides a few s late)


@dataclass(frozen=True)
class Decision:
    t_s: float  # stream time of the sample being processed when it was taken
    kind: str  # "rest_over", "forecast", "no_forecast"
    reason: str
    hr: float | None = None
    target_hr: float | None = None
    rest_s: float | None = None  # the rest's length when it ended, or the forecast's predicted rest


@dataclass
class Output:
    readings: list[Reading] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def extend(self, other: Output) -> None:
        self.readings += other.readings
        self.phases += other.phases
        self.decisions += other.decisions


class PhaseDetector:
    """Sets and rests from the accelerometer: 1 s blocks of activity with hysteresis; a phase is dated back to the
    first block of the run that changed it. Once the lifter has pressed the band's button, the presses decide."""

    def __init__(self, fs: float) -> None:
        self.block = max(round(fs), 1)
        self.fs = fs
        self.state = "rest"
        self._pending = np.zeros((3, 0))
        self._blocks_done = 0
        self._run: list[int] = []  # block indices of the current run against the state
        self.buttons = False  # set by the first press: from then on the presses decide

    def push(self, acc_g: np.ndarray) -> list[Phase]:
        self._pending = np.concatenate([self._pending, acc_g], axis=1)
        out = []
        while self._pending.shape[1] >= self.block:
            chunk, self._pending = self._pending[:, : self.block], self._pending[:, self.block :]
            activity = float(np.std(np.linalg.norm(chunk, axis=0)))
            index = self._blocks_done
            self._blocks_done += 1
            against = activity > SET_ON_G if self.state == "rest" else activity < SET_OFF_G
            self._run = [*self._run, index] if against and not self.buttons else []
            needed = SET_ON_BLOCKS if self.state == "rest" else SET_OFF_BLOCKS
            if len(self._run) >= needed:
                self.state = "set" if self.state == "rest" else "rest"
                t_s, detected = self._run[0] * self.block / self.fs, (index + 1) * self.block / self.fs
                out.append(Phase(t_s, self.state, "accelerometer", detected))
                self._run = []
        return out

    def force(self, state: str, t_s: float) -> Phase | None:
        """A button press: the phase changes now, whatever the accelerometer says."""
        self._run, self.buttons = [], True
        if state == self.state:
            return None
        self.state = state
        return Phase(t_s, state, "button", t_s)


class LiveSession:
    """One band's stream. `push(ppg, acc_g, events)`: (2, n) PPG, (3, n) acceleration in g, and button presses as
    (sample index, "set" | "rest"); returns what the samples produced.

    `forecast(set_done, rest_time_s, rest_hr)` gives the rest forecast: at a set end with empty rest samples, then
    refined with the rest's readings so far; None when it cannot be had (the service is down): the guard rails
    decide then.
    """

    def __init__(
        self,
        forecast: Callable[[SetDone, np.ndarray, np.ndarray], RestForecast | None],
        fs: float = 125.0,
        rule: TargetRule | None = None,
        resting_hr: float | None = None,
    ) -> None:
        from liftsense.ppg import StreamingEstimator

        self.fs = fs
        self.estimator = StreamingEstimator(fs=fs, n_ppg=2)
        self.phases = PhaseDetector(fs)
        self.rule = rule or TargetRule()
        self.forecast_fn = forecast
        self.resting_hr = resting_hr
        self.samples = 0
        self.clock_s = 0.0  # the stream time of the event being handled: decisions are dated by it
        self.set_index = 0
        self.set_start_s: float | None = None
        self.set_readings: list[tuple[float, float]] = []  # (t, bpm) of the current set
        self.rest: _Rest | None = None

    # pickling leaves the forecast function out: the gateway gives it again on restoring
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "forecast_fn"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.forecast_fn = None

    @property
    def now_s(self) -> float:
        return self.clock_s

    @property
    def lookahead_s(self) -> float:
        """Stream time past a reading's window end that the estimator reads before giving the reading."""
        return self.estimator.tracker.config.smoothing_lag * self.estimator.hop_len / self.fs

    @property
    def state(self) -> str:
        return self.phases.state

    def push(
        self,
        ppg: np.ndarray,
        acc_g: np.ndarray,
        events: list[tuple[int, str]] | None = None,
        seq: int | None = None,
    ) -> Output:
        out = Output()
        n = ppg.shape[1]
        start = self.samples if seq is None else seq
        # button presses inside the chunk split it, so that the phase changes at the pressed sample
        cuts = sorted((max(0, min(n, i - start)), state) for i, state in (events or []))
        pos = 0
        for cut, state in [*cuts, (n, None)]:
            if cut > pos:
                out.extend(self._push_samples(ppg[:, pos:cut], acc_g[:, pos:cut], start + pos))
                pos = cut
            if state is not None:
                self.clock_s = max(self.clock_s, (start + cut) / self.fs)
                phase = self.phases.force(state, (start + cut) / self.fs)
                if phase is not None:
                    out.phases.append(phase)
                    out.decisions += self._on_phase(phase)
        return out

    def _push_samples(self, ppg: np.ndarray, acc_g: np.ndarray, seq: int) -> Output:
        """The chunk's events in stream-time order, each handled at its own time: a reading when the estimator
        can give it (its window's end plus the smoother's look-ahead), a phase when the accelerometer decided it,
        the guard rails on a fixed grid. So the outputs do not depend on how the samples were chunked."""
        out = Output()
        lookahead = self.estimator.tracker.config.smoothing_lag * self.estimator.hop_len
        start_s = seq / self.fs
        events: list[tuple[float, int, object]] = []
        for e in self.estimator.push(ppg, acc_g, seq=seq):
            reading = Reading(e.end_sample / self.fs, e.bpm, round(float(e.sqi), 4), round(float(e.confidence), 4),
                              e.reason)  # fmt: skip
            out.readings.append(reading)
            events.append((max((e.end_sample + lookahead) / self.fs, start_s), 1, reading))
        end = seq + ppg.shape[1]
        for phase in self.phases.push(acc_g):
            events.append((max(phase.detected_s, start_s), 0, phase))
        first_tick = (seq // TICK_SAMPLES + 1) * TICK_SAMPLES
        events += [(k / self.fs, 2, None) for k in range(first_tick, end + 1, TICK_SAMPLES)]
        self.samples = end
        for at, kind, item in sorted(events, key=lambda ev: (ev[0], ev[1])):
            self.clock_s = max(self.clock_s, at)
            if kind == 0:
                out.phases.append(item)
                out.decisions += self._on_phase(item)
            elif kind == 1:
                out.decisions += self._on_reading(item)
            elif self.rest is not None:
                out.decisions += self._on_time()
        self.clock_s = max(self.clock_s, end / self.fs)
        return out

    # -- sets and rests ----------------------------------------------------------------------------------------------
    def _on_phase(self, phase: Phase) -> list[Decision]:
        if phase.state == "set":
            if self.rest is not None and not self.rest.over:
                self.rest = None  # the lifter started early: this rest ended without us
            self.set_index += 1
            self.set_start_s, self.set_readings = phase.t_s, []
            return []
        if self.set_start_s is None:
            return []
        t = np.array([t for t, _ in self.set_readings]) - phase.t_s
        hr = np.array([b for _, b in self.set_readings])
        keep = t <= 0
        done = SetDone(t[keep], hr[keep], self.set_index, resting_hr=self.resting_hr)
        self.rest = _Rest(phase.t_s, done)
        self.set_start_s = None
        return self._ask_forecast(initial=True)

    def _ask_forecast(self, initial: bool) -> list[Decision]:
        rest = self.rest
        if len(rest.done.hr) < 2:
            rest.forecast = None
            return [Decision(self.now_s, "no_forecast", "the set has fewer than 2 heart-rate readings")]
        try:
            forecast = (
                self.forecast_fn(rest.done, np.array(rest.t), np.array(rest.hr)) if self.forecast_fn else None
            )
        except Exception as exc:  # the service is down or refused: the guard rails decide
            forecast, why = None, f"forecast failed: {type(exc).__name__}: {exc}"
        else:
            why = "no forecaster" if forecast is None else ""
        rest.asked_at_s = self.now_s
        if forecast is None:
            return [Decision(self.now_s, "no_forecast", why)] if initial else []
        rest.forecast = forecast
        return [
            Decision(
                self.now_s,
                "forecast",
                forecast.produced_by,
                target_hr=forecast.target_hr,
                rest_s=forecast.rest_s,
            )
        ]

    def _on_reading(self, reading: Reading) -> list[Decision]:
        ok = reading.bpm is not None and reading.sqi >= ADEQUATE_SQI
        if ok and self.set_start_s is not None and reading.t_s >= self.set_start_s:
            self.set_readings.append((reading.t_s, reading.bpm))
        rest = self.rest
        if rest is None or rest.over:
            return []
        if reading.t_s < rest.start_s:  # a late reading of the set (the estimator looks ahead): the set's
            if ok:
                done = rest.done
                rest.done = SetDone(np.append(done.time_s, reading.t_s - rest.start_s), np.append(done.hr, reading.bpm),
                                    done.set_index, resting_hr=done.resting_hr)  # fmt: skip
            return []
        if not ok:
            rest.below = 0
            return []
        rest.last_ok_s = reading.t_s
        rest.t.append(reading.t_s - rest.start_s)
        rest.hr.append(reading.bpm)
        out = []
        if rest.forecast is None or self.now_s - rest.asked_at_s >= REFINE_EVERY_S:
            out += self._ask_forecast(initial=False)
        target = rest.forecast.target_hr if rest.forecast is not None else None
        rest.below = rest.below + 1 if target is not None and reading.bpm <= target else 0
        elapsed = self.now_s - rest.start_s
        if rest.below >= CONSECUTIVE_BELOW and elapsed >= self.rule.min_rest_s:
            out.append(
                self._end(
                    f"HR {reading.bpm:.0f} <= target {target:.0f} for {rest.below} readings", reading.bpm
                )
            )
        return out

    def _on_time(self) -> list[Decision]:
        rest = self.rest
        if rest.over:
            return []
        elapsed = self.now_s - rest.start_s
        if elapsed >= self.rule.max_rest_s:
            return [self._end(f"maximum rest ({self.rule.max_rest_s:.0f} s)", None)]
        unreadable = self.now_s - max(rest.last_ok_s, rest.start_s) >= UNREADABLE_S
        predicted = rest.forecast.rest_s if rest.forecast is not None else None
        if unreadable and predicted is not None and elapsed >= max(predicted, self.rule.min_rest_s):
            return [
                self._end(
                    f"HR unreadable for {UNREADABLE_S:.0f} s: the forecast's rest ({predicted:.0f} s)", None
                )
            ]
        return []

    def _end(self, reason: str, hr: float | None) -> Decision:
        rest = self.rest
        rest.over = True
        target = rest.forecast.target_hr if rest.forecast is not None else None
        return Decision(self.now_s, "rest_over", reason, hr, target, round(self.now_s - rest.start_s, 2))


@dataclass
class _Rest:
    start_s: float
    done: SetDone
    forecast: RestForecast | None = None
    asked_at_s: float = 0.0
    last_ok_s: float = -1e9
    below: int = 0
    over: bool = False
    t: list[float] = field(default_factory=list)
    hr: list[float] = field(default_factory=list)
