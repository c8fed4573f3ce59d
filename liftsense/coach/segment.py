"""Rep segmentation: a driving signal in, one (start, far point, end) per rep out.

The signal is smoothed, oriented so the far point of a rep is high, and scaled to the lifter's own range in the
clip (2nd to 98th percentile), so thresholds mean "60% of the way down" whoever lifts and wherever the camera
stands. A rep is entered above `enter` and left below `leave` (hysteresis against jitter); its start and end
are then walked back to where the movement began and forward to where it stopped. Frames whose driving
landmarks are not visible are NaN: they neither start nor end a rep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liftsense.coach.exercises import RepSignal
from liftsense.pose.series_stats import finite_median, finite_percentiles

#: hysteresis thresholds, as fractions of the lifter's own range
ENTER = 0.5
LEAVE = 0.3
#: the far zone: within this fraction of the rep's range from its far point (the pause is spent there)
FAR_ZONE = 0.1
#: gaps of missing frames up to this long are bridged for smoothing; longer gaps stay missing
MAX_BRIDGE_S = 0.3
SMOOTH_S = 0.2
#: after smoothing, the jitter left should be at most this share of the movement's range
NOISE_SHARE = 0.05
#: a rep's range must be this many times the jitter left after smoothing (noise spans about 4 of them)
NOISE_FLOOR = 5.0


@dataclass(frozen=True)
class Rep:
    start: int  # first frame of the movement away from the start position
    far: int  # the frame closest to the far point
    end: int  # last frame of the movement back
    far_enter: int  # first frame in the far zone (end of the way down)
    far_leave: int  # last frame in the far zone (start of the way up)
    missing_frames: int  # frames inside the rep whose driving landmarks were not visible


@dataclass(frozen=True)
class Segmentation:
    reps: list[Rep]
    signal: np.ndarray  # the smoothed driving signal (degrees), NaN where not visible
    low: float  # the lifter's own range of the signal (oriented: the start position is `low`)
    high: float
    too_short: int  # rep-like movements rejected for lasting less than the exercise's minimum
    reason: str | None = None  # why no rep can be found at all (no visible frames, no movement)


def _bridge(x: np.ndarray, max_gap: int) -> np.ndarray:
    """Linear interpolation over NaN runs of at most `max_gap` frames; longer runs (and the ends) stay NaN."""
    out = x.copy()
    bad = ~np.isfinite(out)
    if bad.all() or not bad.any():
        return out
    idx = np.arange(len(out))
    filled = np.interp(idx, idx[~bad], out[~bad])
    run_start = None
    for i in range(len(out) + 1):
        if i < len(out) and bad[i]:
            run_start = i if run_start is None else run_start
        elif run_start is not None:
            if i - run_start <= max_gap and run_start > 0 and i < len(out):
                out[run_start:i] = filled[run_start:i]
            run_start = None
    return out


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average over finite values; NaN stays NaN."""
    if width <= 1 or len(x) < width:
        return x
    ok = np.isfinite(x)
    kernel = np.ones(width)
    num = np.convolve(np.where(ok, x, 0.0), kernel, mode="same")
    den = np.convolve(ok.astype(float), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, num / den, np.nan)


def _jitter(x: np.ndarray) -> float:
    """Frame-to-frame noise of a signal (degrees), robust to the movement itself: MAD of first differences."""
    d = np.diff(x)
    d = d[np.isfinite(d)]
    if not len(d):
        return 0.0
    return float(1.4826 * finite_median(np.abs(d - finite_median(d))) / np.sqrt(2))


def _smoothing_width(x: np.ndarray, fps: float, spec: RepSignal, jitter: float) -> int:
    """Frames to average: SMOOTH_S, widened for a small movement in heavy jitter, up to half the shortest rep.

    Frame-to-frame jitter (`jitter`: `_jitter(x)`, robust, from first differences) must end well below the
    movement's range, or it crosses the hysteresis thresholds by itself; a small side bend seen from afar needs
    that most.
    """
    base = max(int(np.rint(SMOOTH_S * fps)), 1)
    widest = max(int(spec.min_rep_s * fps / 2), base)
    ok = x[np.isfinite(x)]
    if len(ok) < 3 or not jitter > 0:
        return base | 1
    lo, hi = _range(ok)
    if hi <= lo:
        return base | 1
    needed = int(np.ceil((jitter / (NOISE_SHARE * (hi - lo))) ** 2))
    return int(np.clip(needed, base, widest)) | 1


def _range(finite: np.ndarray) -> tuple[float, float]:
    """The 2nd and 98th percentiles of finite values, as np.percentile gives them, from one sort."""
    lo, hi = finite_percentiles(finite, [2, 98])
    return lo, hi


def _walk(u: np.ndarray, i: int, step: int, stop: int) -> int:
    """From frame i, move while the (oriented, scaled) signal keeps falling towards the start position."""
    while i + step != stop and np.isfinite(u[i + step]) and u[i + step] < u[i]:
        i += step
    return i


def segment_reps(signal: np.ndarray, fps: float, spec: RepSignal) -> Segmentation:
    """Find the reps of one set in its driving signal (degrees per frame, NaN = not visible)."""
    n = len(signal)
    bridged = _bridge(np.asarray(signal, dtype=np.float64), max(int(np.rint(MAX_BRIDGE_S * fps)), 1))
    jitter = _jitter(bridged)  # measured once, used twice
    width = _smoothing_width(bridged, fps, spec, jitter)
    smooth = _smooth(bridged, width)
    q = -smooth if spec.far == "low" else smooth
    ok = np.isfinite(q)
    if ok.sum() < 3:
        return Segmentation([], smooth, np.nan, np.nan, 0, "the driving landmarks are not visible")
    lo, hi = _range(q[ok])
    needed = max(spec.min_range_deg, NOISE_FLOOR * jitter / np.sqrt(width))
    if hi - lo < needed:
        return Segmentation(
            [],
            smooth,
            float(lo),
            float(hi),
            0,
            f"no movement of a rep: the {spec.signal.replace('_', ' ')} moves {hi - lo:.0f} degrees, "
            f"a rep needs {needed:.0f}"
            + (" (its jitter alone moves it that much)" if needed > spec.min_range_deg else ""),
        )
    u = (q - lo) / (hi - lo)
    reps: list[Rep] = []
    too_short = 0
    min_len = spec.min_rep_s * fps
    state_in, enter_at, prev_end = False, 0, -1
    for i in range(n):
        if not ok[i]:
            continue  # an invisible frame neither starts nor ends a rep
        if not state_in and u[i] > ENTER:
            state_in, enter_at = True, i
        elif state_in and u[i] < LEAVE:
            state_in = False
            rep = _make_rep(u, ok, enter_at, i, prev_end, n)
            if rep.end - rep.start + 1 < min_len:
                too_short += 1
                continue
            reps.append(rep)
            prev_end = rep.end
    if state_in:  # the clip ends inside a rep: count it only if it came back most of the way
        last = int(np.flatnonzero(ok)[-1])
        if u[last] < 0.5 * (ENTER + LEAVE) and last - enter_at > 0:
            rep = _make_rep(u, ok, enter_at, last, prev_end, n)
            if rep.end - rep.start + 1 >= min_len:
                reps.append(rep)
    return Segmentation(reps, smooth, float(lo), float(hi), too_short)


#: a movement from rest to the far point follows a smooth (raised-cosine, minimum-jerk-like) profile: it passes
#: 10% of its height at 0.205 and half at 0.5 of its duration. Boundaries are extrapolated from those two
#: crossings, which noise barely moves, instead of from the noisy foot of the movement.
_AT_10, _AT_50 = 0.2048, 0.5


def _crossing(u: np.ndarray, ok: np.ndarray, frm: int, level: float, step: int, stop: int) -> float | None:
    """Walking from `frm` by `step`, the fractional frame where u first drops below `level`; None if never."""
    i = frm
    while i + step != stop:
        j = i + step
        if ok[j] and u[j] < level:
            if not ok[i]:
                return float(j)
            return i + step * (u[i] - level) / max(u[i] - u[j], 1e-12)
        i = j
    return None


def _edge(u, ok, frm: int, peak: float, step: int, stop: int) -> tuple[float, float] | None:
    """(boundary, duration) of the movement between rest and the far point on one side of the rep."""
    span = slice(stop + 1, frm + 1) if step < 0 else slice(frm, stop)
    rest = u[span][ok[span]]
    if not len(rest):
        return None
    base = float(rest.min())
    h = peak - base
    a = _crossing(u, ok, frm, base + 0.1 * h, step, stop)
    b = _crossing(u, ok, frm, base + 0.5 * h, step, stop)
    if a is None or b is None:
        return None
    duration = abs(a - b) / (_AT_50 - _AT_10)
    return a + step * _AT_10 * duration, duration


def _make_rep(u: np.ndarray, ok: np.ndarray, enter_at: int, leave_at: int, prev_end: int, n: int) -> Rep:
    seg = np.where(ok[enter_at : leave_at + 1], u[enter_at : leave_at + 1], -np.inf)
    far = enter_at + int(np.argmax(seg))
    nxt = leave_at
    while nxt + 1 < n and not (ok[nxt + 1] and u[nxt + 1] > ENTER):
        nxt += 1
    down = _edge(u, ok, far, float(u[far]), -1, prev_end)
    up = _edge(u, ok, far, float(u[far]), +1, nxt + 1)
    # without a clean edge (the clip starts or ends mid-movement), fall back to where the signal stops falling
    if down is None:
        i = max(enter_at, prev_end + 1)
        start, down_s = _walk(u, i, -1, prev_end), None
    else:
        start, down_s = int(np.rint(np.clip(down[0], prev_end + 1, far))), down[1]
    if up is None:
        end, up_s = _walk(u, leave_at, +1, n), None
    else:
        end, up_s = int(np.rint(np.clip(up[0], far, n - 1))), up[1]
    far_enter = int(np.rint(min(start + down_s, far))) if down_s is not None else far
    far_leave = int(np.rint(max(end - up_s, far))) if up_s is not None else far
    missing = int((~ok[start : end + 1]).sum())
    return Rep(start, far, end, far_enter, far_leave, missing)
