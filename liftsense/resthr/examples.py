"""(set just done -> coming rest) examples. Nothing after the set's last sample enters the input.

Input: the set's HR trace (last `max_set_s`, every `step_s`, relative to the set-end HR) and a context vector
(set index and duration, set-end HR, the set's rise and final slope, the previous set's peak and rest, RPE and
resting HR with known-flags). Target: the HR every `horizon_step_s` up to `horizon_s` into the rest, relative to
the set-end HR; NaN where the rest had ended or no sample lies within `max_gap_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from liftsense.resthr.sessions import Bout

CONTEXT = (
    "set_index",
    "set_duration_min",
    "hr_end_100",
    "set_rise_20",
    "end_slope",
    "prev_peak_rel_20",
    "prev_rest_min",
    "prev_rest_drop_20",
    "rpe_10",
    "rpe_known",
    "resting_rel_20",
    "resting_known",
)


@dataclass(frozen=True)
class ExampleConfig:
    horizon_s: float = 180.0
    horizon_step_s: float = 5.0
    step_s: float = 2.0
    max_set_s: float = 120.0
    max_gap_s: float = 6.0

    @property
    def horizons(self) -> np.ndarray:
        return np.arange(self.horizon_step_s, self.horizon_s + 1e-9, self.horizon_step_s)


@dataclass
class Examples:
    sequence: np.ndarray  # (n, steps, 2): relative HR / 20, time to set end / 60; zero-padded at the end
    lengths: np.ndarray  # (n,)
    context: np.ndarray  # (n, len(CONTEXT))
    target: np.ndarray  # (n, horizons): HR - set-end HR, NaN where not observed
    hr_end: np.ndarray  # (n,)
    rest_duration: np.ndarray  # (n,)
    meta: pd.DataFrame  # session, subject, index, active_rest
    horizons: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def subset(self, idx: np.ndarray) -> Examples:
        return Examples(
            self.sequence[idx],
            self.lengths[idx],
            self.context[idx],
            self.target[idx],
            self.hr_end[idx],
            self.rest_duration[idx],
            self.meta.iloc[idx].reset_index(drop=True),
            self.horizons,
        )


def _interp(t: np.ndarray, v: np.ndarray, at: np.ndarray, max_gap: float) -> np.ndarray:
    ok = np.isfinite(v)
    t, v = t[ok], v[ok]
    if len(t) == 0:
        return np.full(len(at), np.nan)
    out = np.interp(at, t, v)
    idx = np.clip(np.searchsorted(t, at), 1, max(1, len(t) - 1))
    nearest = np.minimum(
        np.abs(t[np.clip(idx - 1, 0, len(t) - 1)] - at), np.abs(t[np.clip(idx, 0, len(t) - 1)] - at)
    )
    out[(nearest > max_gap) | (at < t[0] - max_gap) | (at > t[-1] + max_gap)] = np.nan
    return out


def set_end_hr(bout: Bout) -> float:
    """Median HR of the set's last 5 s: robust to one noisy sample."""
    last = bout.set_hr[(bout.set_time >= -5.0) & np.isfinite(bout.set_hr)]
    if len(last) == 0:
        finite = bout.set_hr[np.isfinite(bout.set_hr)]
        return float(finite[-1]) if len(finite) else float("nan")
    return float(np.median(last))


def build_examples(
    bouts: list[Bout], cfg: ExampleConfig | None = None, resting_hr: dict | None = None
) -> Examples:
    """Examples from bouts in session order (the previous bout of a session feeds the context)."""
    cfg = cfg or ExampleConfig()
    horizons = cfg.horizons
    steps = int(cfg.max_set_s / cfg.step_s)
    seq, lengths, ctx, target, hr_end, rest_dur, meta = [], [], [], [], [], [], []
    previous: dict[str, Bout] = {}
    for bout in bouts:
        end = set_end_hr(bout)
        prev = previous.get(bout.session)
        previous[bout.session] = bout
        if not np.isfinite(end):
            continue
        grid = np.arange(-min(bout.set_duration, cfg.max_set_s), 1e-9, cfg.step_s)
        trace = _interp(bout.set_time, bout.set_hr, grid, cfg.max_gap_s * 2)
        trace = pd.Series(trace).ffill().bfill().to_numpy()
        rel = np.nan_to_num((trace - end) / 20.0)
        n = min(len(grid), steps)
        item = np.zeros((steps, 2))
        item[:n, 0] = rel[-n:]
        item[:n, 1] = grid[-n:] / 60.0
        first = float(trace[0]) if np.isfinite(trace[0]) else end
        tail = bout.set_time >= -10
        slope = (
            float(np.polyfit(bout.set_time[tail], bout.set_hr[tail], 1)[0])
            if tail.sum() >= 3 and np.isfinite(bout.set_hr[tail]).all()
            else 0.0
        )
        if prev is not None:
            prev_peak = np.nanmax(np.concatenate([prev.set_hr, prev.rest_hr[prev.rest_time <= 30]]))
            prev_rest_min = prev.rest_duration / 60.0
            prev_drop = (np.nanmin(prev.rest_hr) - prev_peak) if np.isfinite(prev.rest_hr).any() else 0.0
        else:
            prev_peak, prev_rest_min, prev_drop = end, 0.0, 0.0
        rest_known = resting_hr is not None and bout.subject in resting_hr
        rhr = resting_hr[bout.subject] if rest_known else end
        ctx.append(
            [
                bout.index / 10.0,
                bout.set_duration / 60.0,
                end / 100.0,
                (end - first) / 20.0,
                float(np.clip(slope, -5, 5)),
                (prev_peak - end) / 20.0,
                prev_rest_min,
                prev_drop / 20.0,
                (bout.rpe / 10.0) if np.isfinite(bout.rpe) else 0.0,
                float(np.isfinite(bout.rpe)),
                (rhr - end) / 20.0,
                float(rest_known),
            ]
        )
        seq.append(item)
        lengths.append(n)
        future = _interp(bout.rest_time, bout.rest_hr, horizons, cfg.max_gap_s)
        future[horizons > bout.rest_duration] = np.nan
        target.append(future - end)
        hr_end.append(end)
        rest_dur.append(bout.rest_duration)
        meta.append(
            {
                "session": bout.session,
                "subject": bout.subject,
                "index": bout.index,
                "active_rest": bout.active_rest,
            }
        )
    if not seq:
        raise ValueError("no usable set/rest pairs: every set lacked heart-rate samples")
    return Examples(
        np.array(seq, dtype=np.float32),
        np.array(lengths),
        np.array(ctx, dtype=np.float32),
        np.array(target),
        np.array(hr_end),
        np.array(rest_dur),
        pd.DataFrame(meta),
        horizons,
    )
