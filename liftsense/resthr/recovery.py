"""Recovery forecasts that need no network: baselines, the rest-end target rule, the online update, metrics.

A forecast is an array of HR changes relative to the set-end HR at the example's horizons (negative = recovery).
Baselines follow scikit-learn's fit/predict split; they are fitted on training examples only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liftsense.resthr.examples import Examples

REPORT_HORIZONS_S = (30, 60, 90, 120)
PAPER_FIXED_TARGET_BPM = 103.0


class Persistence:
    """HR stays at its set-end value."""

    name = "persistence"

    def fit(self, ex: Examples) -> Persistence:
        return self

    def predict(self, ex: Examples) -> np.ndarray:
        return np.zeros((len(ex), len(ex.horizons)))


class PopulationCurve:
    """The training rests' mean change at each horizon."""

    name = "population mean curve"

    def fit(self, ex: Examples) -> PopulationCurve:
        mean = np.nanmean(np.where(np.isfinite(ex.target), ex.target, np.nan), axis=0)
        self.curve_ = np.where(np.isfinite(mean), mean, 0.0)
        return self

    def predict(self, ex: Examples) -> np.ndarray:
        return np.tile(self.curve_, (len(ex), 1))


class MonoExponential:
    """drop(t) = D * (1 - exp(-t / tau)) with population D and tau (least squares on the training rests)."""

    name = "mono-exponential, population tau"

    def fit(self, ex: Examples) -> MonoExponential:
        best = (np.inf, 0.0, 60.0)
        observed = np.isfinite(ex.target)
        y = ex.target[observed]
        for tau in np.arange(10.0, 301.0, 5.0):
            basis = np.broadcast_to(1 - np.exp(-ex.horizons / tau), ex.target.shape)[observed]
            depth = float(basis @ y / (basis @ basis))
            err = float(np.mean((y - depth * basis) ** 2))
            if err < best[0]:
                best = (err, depth, tau)
        _, self.depth_, self.tau_ = best
        return self

    def predict(self, ex: Examples) -> np.ndarray:
        return np.tile(self.depth_ * (1 - np.exp(-ex.horizons / self.tau_)), (len(ex), 1))


class RidgeOnContext:
    """A small regressor: ridge regression of each horizon's change on the context and the set's last samples."""

    name = "ridge on context"

    def __init__(self, alpha: float = 10.0) -> None:
        self.alpha = alpha

    @staticmethod
    def _features(ex: Examples) -> np.ndarray:
        last = np.stack([ex.sequence[i, max(0, n - 5) : n, 0].mean() for i, n in enumerate(ex.lengths)])
        return np.column_stack([ex.context, last, np.ones(len(ex))])

    def fit(self, ex: Examples) -> RidgeOnContext:
        x = self._features(ex)
        self.mean_, self.scale_ = x.mean(0), x.std(0) + 1e-9
        self.mean_[-1], self.scale_[-1] = 0.0, 1.0
        xs = (x - self.mean_) / self.scale_
        self.coef_ = np.zeros((x.shape[1], len(ex.horizons)))
        # never forecast outside what the training rests did at that horizon (few rests reach long horizons)
        self.low_ = np.nan_to_num(
            np.nanmin(np.where(np.isfinite(ex.target), ex.target, np.inf), axis=0), posinf=0.0
        )
        self.high_ = np.nan_to_num(
            np.nanmax(np.where(np.isfinite(ex.target), ex.target, -np.inf), axis=0), neginf=0.0
        )
        fallback = np.nanmean(ex.target, axis=0)
        for h in range(len(ex.horizons)):
            ok = np.isfinite(ex.target[:, h])
            if ok.sum() < x.shape[1]:
                self.coef_[-1, h] = fallback[h] if np.isfinite(fallback[h]) else 0.0
                continue
            a, b = xs[ok], ex.target[ok, h]
            self.coef_[:, h] = np.linalg.solve(a.T @ a + self.alpha * np.eye(a.shape[1]), a.T @ b)
        return self

    def predict(self, ex: Examples) -> np.ndarray:
        return np.clip(((self._features(ex) - self.mean_) / self.scale_) @ self.coef_, self.low_, self.high_)


BASELINES = (Persistence, PopulationCurve, MonoExponential, RidgeOnContext)


class ResidualBands:
    """Uncertainty bands from held-out residuals: per horizon, the `low`/`high` quantiles of (actual - forecast)
    on validation rests (split-conformal style, no distributional assumption)."""

    def __init__(self, low: float = 0.1, high: float = 0.9) -> None:
        self.low, self.high = low, high

    def fit(self, forecast: np.ndarray, ex: Examples) -> ResidualBands:
        residual = np.where(np.isfinite(ex.target), ex.target - forecast, np.nan)
        with np.errstate(all="ignore"):
            lo, hi = np.nanquantile(residual, self.low, axis=0), np.nanquantile(residual, self.high, axis=0)
        # horizons no validation rest reached borrow the widest band seen
        self.lo_ = np.where(np.isfinite(lo), lo, np.nanmin(lo) if np.isfinite(lo).any() else 0.0)
        self.hi_ = np.where(np.isfinite(hi), hi, np.nanmax(hi) if np.isfinite(hi).any() else 0.0)
        return self

    def bands(self, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return forecast + self.lo_, forecast + self.hi_

    def coverage(self, forecast: np.ndarray, ex: Examples) -> float:
        lo, hi = self.bands(forecast)
        ok = np.isfinite(ex.target)
        return float(np.mean((ex.target[ok] >= lo[ok]) & (ex.target[ok] <= hi[ok])))


# -- the rest-end target -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetRule:
    """Rest ends when the forecast fast recovery is `completion` done: the change has reached that share of its
    value at the last horizon. Guard rails: never shorter than `min_rest_s`, never longer than `max_rest_s`."""

    completion: float = 0.8
    min_rest_s: float = 30.0
    max_rest_s: float = 180.0

    def apply(self, change: np.ndarray, horizons: np.ndarray, hr_end: float) -> tuple[float, float]:
        """-> (target HR, rest time in s) for one forecast (or observed) change curve."""
        change = np.asarray(change, dtype=float)
        ok = np.isfinite(change)
        if not ok.any():
            return float("nan"), float("nan")
        h, c = horizons[ok], change[ok]
        final = c[-1]
        if final >= 0:  # no recovery expected: the guard rail decides
            when = self.min_rest_s
        else:
            reached = np.flatnonzero(c <= self.completion * final)
            when = float(h[reached[0]]) if len(reached) else float(h[-1])
        when = float(np.clip(when, self.min_rest_s, self.max_rest_s))
        return float(hr_end + np.interp(when, h, c)), when


# -- online refinement -------------------------------------------------------------------------------------------------
class OnlineRecovery:
    """Refines a forecast as rest samples arrive: the mean recent residual shifts the rest of the curve.

    The shift fades towards the horizon's end by `persistence` per horizon step, since the model's long-range
    part carries information that one noisy sample should not overturn.
    """

    def __init__(
        self,
        forecast: np.ndarray,
        horizons: np.ndarray,
        hr_end: float,
        rule: TargetRule | None = None,
        window_s: float = 15.0,
        persistence: float = 0.97,
    ) -> None:
        self.base = np.asarray(forecast, dtype=float)
        self.horizons, self.hr_end = horizons, hr_end
        self.rule = rule or TargetRule()
        self.window_s, self.persistence = window_s, persistence
        self._obs: list[tuple[float, float]] = []

    def observe(self, t_s: float, hr: float) -> None:
        if np.isfinite(hr) and 25 <= hr <= 250 and t_s >= 0:
            self._obs.append((float(t_s), float(hr)))

    def forecast(self) -> np.ndarray:
        if not self._obs:
            return self.base.copy()
        now = self._obs[-1][0]
        recent = [(t, hr) for t, hr in self._obs if t >= now - self.window_s]
        residual = np.mean([hr - self.hr_end - np.interp(t, self.horizons, self.base) for t, hr in recent])
        steps = np.maximum(self.horizons - now, 0) / (self.horizons[1] - self.horizons[0])
        return self.base + residual * self.persistence**steps

    def target(self) -> tuple[float, float]:
        """(target HR, predicted rest time from the set end)."""
        return self.rule.apply(self.forecast(), self.horizons, self.hr_end)

    def remaining_s(self) -> float:
        now = self._obs[-1][0] if self._obs else 0.0
        return max(0.0, self.target()[1] - now)


# -- metrics ---------------------------------------------------------------------------------------------------------
def horizon_mae(pred: np.ndarray, ex: Examples, horizons_s=REPORT_HORIZONS_S) -> dict[str, float]:
    out = {}
    for h in horizons_s:
        j = int(np.argmin(np.abs(ex.horizons - h)))
        ok = np.isfinite(ex.target[:, j])
        out[f"mae_{h}s"] = (
            float(np.mean(np.abs(pred[ok, j] - ex.target[ok, j]))) if ok.any() else float("nan")
        )
        out[f"n_{h}s"] = int(ok.sum())
    return out


def target_errors(pred: np.ndarray, ex: Examples, rule: TargetRule) -> dict[str, float]:
    """Target HR and rest-time errors on rests observed up to the rule's maximum rest."""
    full = np.isfinite(ex.target[:, ex.horizons <= rule.max_rest_s]).all(axis=1)
    errs_hr, errs_t, errs_fixed = [], [], []
    for i in np.flatnonzero(full):
        true_hr, true_t = rule.apply(ex.target[i], ex.horizons, ex.hr_end[i])
        hr, t = rule.apply(pred[i], ex.horizons, ex.hr_end[i])
        errs_hr.append(abs(hr - true_hr))
        errs_t.append(abs(t - true_t))
        errs_fixed.append(abs(PAPER_FIXED_TARGET_BPM - true_hr))
    nan = float("nan")
    return {
        "target_hr_mae": float(np.mean(errs_hr)) if errs_hr else nan,
        "rest_time_mae_s": float(np.mean(errs_t)) if errs_t else nan,
        "paper_fixed_103_target_mae": float(np.mean(errs_fixed)) if errs_fixed else nan,
        "n_full_rests": len(errs_hr),
    }


def horizon_errors(pred: np.ndarray, ex: Examples, horizon_s: float) -> np.ndarray:
    """Absolute error of each rest at one horizon; NaN where the rest was not observed there."""
    j = int(np.argmin(np.abs(ex.horizons - horizon_s)))
    return np.abs(pred[:, j] - ex.target[:, j])


@dataclass(frozen=True)
class MaeComparison:
    """Relative MAE change of a model against a baseline on the same rests, with a bootstrap interval."""

    change: float  # MAE(model) / MAE(baseline) - 1; -0.25 is the goal
    low: float
    high: float
    n: int

    def decides(self, goal: float = -0.25) -> str:
        """Whether these rests can tell the goal apart from no gain at all."""
        if self.high < goal:
            return "goal met"
        if self.low > goal:
            return "goal not met"
        if self.high < 0.0:
            return "better than baseline, too few rests to tell the goal"
        return "too few rests to tell"


def compare_mae(
    model_errors: np.ndarray,
    baseline_errors: np.ndarray,
    n_boot: int = 4000,
    level: float = 0.95,
    seed: int = 0,
) -> MaeComparison:
    """Paired percentile bootstrap over rests: both methods are scored on the same resampled rests.

    Rests within a session are treated as independent, which makes the interval, if anything, too narrow.
    """
    model_errors, baseline_errors = np.asarray(model_errors, float), np.asarray(baseline_errors, float)
    if model_errors.shape != baseline_errors.shape:
        raise ValueError(f"error arrays differ in shape: {model_errors.shape} vs {baseline_errors.shape}")
    ok = np.isfinite(model_errors) & np.isfinite(baseline_errors)
    a, b = model_errors[ok], baseline_errors[ok]
    if len(a) < 2 or b.sum() <= 0:
        nan = float("nan")
        return MaeComparison(nan, nan, nan, len(a))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(n_boot, len(a)))
    ratios = a[idx].mean(axis=1) / np.maximum(b[idx].mean(axis=1), 1e-12) - 1.0
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return MaeComparison(float(a.mean() / b.mean() - 1.0), float(low), float(high), len(a))
