"""The rest forecast a lifter gets: the simple forecaster that validated best, its band, the target and the rest.

Measured on real rest sessions, the trained rest networks lost to persistence at 60 s (issue 14), so what answers
must earn its place: each candidate is fitted on training groups and scored on validation groups (MAE at 60 s),
and the best one answers, named in every forecast. `forecast` takes the set just done; `update` refines the
forecast from the rest's own samples so far (`recovery.OnlineRecovery`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from liftsense.resthr.examples import ExampleConfig, Examples, build_examples
from liftsense.resthr.recovery import (
    MonoExponential,
    OnlineRecovery,
    Persistence,
    ResidualBands,
    TargetRule,
    horizon_errors,
)
from liftsense.resthr.sessions import Bout

#: the forecasters that need no network, in the order they are tried (ties: the simpler one)
CANDIDATES = (Persistence, MonoExponential)
VALIDATION_HORIZON_S = 60.0


@dataclass
class SetDone:
    """The set just finished: its HR samples (seconds relative to the set's end, <= 0) and what is known."""

    time_s: np.ndarray
    hr: np.ndarray
    set_index: int = 0
    rpe: float = float("nan")
    resting_hr: float | None = None
    previous_peak_hr: float | None = None
    previous_rest_s: float = 0.0
    previous_rest_drop: float = 0.0


@dataclass
class RestForecast:
    horizons_s: list[float]
    hr: list[float]
    low: list[float]  # the 10-90% band
    high: list[float]
    hr_end: float
    target_hr: float
    rest_s: float
    produced_by: str
    validation_mae_60s: dict[str, float] = field(default_factory=dict)


class TrainedNetwork:
    """A trained rest network (a registry version) as one more candidate: already fitted, it only forecasts.

    It answers only if it beats the simple forecasters on the same validation rests, whatever it scored when it
    was promoted: what is served must be the best on the rests the service can check it on.
    """

    def __init__(self, module, name: str) -> None:
        self.module = module
        self.name = name

    def fit(self, train: Examples) -> TrainedNetwork:
        return self

    def predict(self, examples: Examples) -> np.ndarray:
        return self.module.forecast(examples)


class RestForecaster:
    """fit(train, val) picks the candidate with the lowest validation MAE at 60 s; forecast(set) answers with it."""

    def __init__(self, rule: TargetRule | None = None, config: ExampleConfig | None = None) -> None:
        self.rule = rule or TargetRule()
        self.config = config or ExampleConfig()

    def fit(
        self, train: Examples, val: Examples, networks: tuple[TrainedNetwork, ...] = ()
    ) -> RestForecaster:
        """The simple forecasters fitted on `train`, then any trained `networks`, all scored on `val`; a network
        must do strictly better than every simple one to answer (ties go to the simpler)."""
        scores = {}
        fitted = {}
        for model in [cls().fit(train) for cls in CANDIDATES] + list(networks):
            err = horizon_errors(model.predict(val), val, VALIDATION_HORIZON_S)
            scores[model.name] = float(np.nanmean(np.abs(err))) if np.isfinite(err).any() else float("inf")
            fitted[model.name] = model
        self.scores_ = scores
        self.best_ = min(scores, key=lambda name: scores[name])  # dicts keep order: ties go to the simpler
        self.model_ = fitted[self.best_]
        self.bands_ = ResidualBands().fit(self.model_.predict(val), val)
        return self

    def examples(self, done: SetDone) -> Examples:
        """The set as the one example the forecasters read (no rest samples: nothing after the set end)."""
        t, hr = np.asarray(done.time_s, dtype=float), np.asarray(done.hr, dtype=float)
        bout = Bout(
            session="request", subject="lifter", index=int(done.set_index), set_time=t, set_hr=hr,
            rest_time=np.zeros(0), rest_hr=np.zeros(0), rest_duration=self.config.horizon_s, rpe=done.rpe,
        )  # fmt: skip
        previous = None
        if done.previous_peak_hr is not None:
            previous = Bout(
                session="request", subject="lifter", index=int(done.set_index) - 1,
                set_time=np.array([0.0]), set_hr=np.array([float(done.previous_peak_hr)]),
                rest_time=np.array([0.0, max(done.previous_rest_s, 1.0)]),
                rest_hr=np.array([done.previous_peak_hr, done.previous_peak_hr + done.previous_rest_drop]),
                rest_duration=float(done.previous_rest_s),
            )  # fmt: skip
        rest = {"lifter": float(done.resting_hr)} if done.resting_hr is not None else None
        ex = build_examples([b for b in (previous, bout) if b is not None], self.config, rest)
        return ex.subset(np.array([len(ex) - 1]))

    def forecast(self, done: SetDone) -> RestForecast:
        ex = self.examples(done)
        change = self.model_.predict(ex)[0]
        return self._answer(change, float(ex.hr_end[0]), ex.horizons)

    def update(self, done: SetDone, rest_time_s: np.ndarray, rest_hr: np.ndarray) -> RestForecast:
        """The forecast refined by the rest's samples so far (seconds since the set end, BPM)."""
        ex = self.examples(done)
        online = OnlineRecovery(self.model_.predict(ex)[0], ex.horizons, float(ex.hr_end[0]), self.rule)
        for t, hr in zip(rest_time_s, rest_hr, strict=True):
            online.observe(float(t), float(hr))
        return self._answer(online.forecast(), float(ex.hr_end[0]), ex.horizons)

    def _answer(self, change: np.ndarray, hr_end: float, horizons: np.ndarray) -> RestForecast:
        low, high = self.bands_.bands(change)
        target, rest = self.rule.apply(change, horizons, hr_end)
        return RestForecast(
            horizons_s=[float(h) for h in horizons],
            hr=[round(float(hr_end + c), 2) for c in change],
            low=[round(float(hr_end + c), 2) for c in low],
            high=[round(float(hr_end + c), 2) for c in high],
            hr_end=round(hr_end, 2),
            target_hr=round(target, 2),
            rest_s=round(rest, 1),
            produced_by=f"{self.best_} (the best of {', '.join(self.scores_)} on validation rests)",
            validation_mae_60s={k: round(v, 3) for k, v in self.scores_.items()},
        )

    @property
    def network_answers(self) -> bool:
        return isinstance(self.model_, TrainedNetwork)


def fitted_rest_forecaster(
    sessions=None, seed: int = 0, networks: tuple[TrainedNetwork, ...] = ()
) -> RestForecaster:
    """A forecaster fitted on `sessions` (default: the built-in simulated ones), split by person when there
    are enough people, else by session (`pipelines.rest_hr.prepare`, the training split); trained `networks`
    compete with the simple forecasters on the same validation rests."""
    from liftsense.datasets.loaders import load_sessions
    from liftsense.pipelines.rest_hr import prepare

    if sessions is None:
        sessions = load_sessions({"name": "rest_builtin", "sim": {"subjects": 40, "sessions_per_subject": 3}})
    prep = prepare({"task": {}, "split": {}, "seed": seed}, sessions)
    return RestForecaster().fit(prep.train, prep.val, networks)


def servable_rest_network(model_uri: str, tracking_uri: str | None = None):
    """(network, None), or (None, why none is served) for a registry URI such as `models:/rest-hr-rest_builtin@champion`.

    Only a version that beat its baselines at promotion (`registry.serving_refusal`), forecasting the horizons the
    service answers, is offered; whether it then answers is decided on the service's own validation rests.
    """
    import mlflow

    from liftsense.models.inference import load_for_inference
    from liftsense.registry import serving_refusal

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    try:
        refusal = serving_refusal(model_uri)
    except Exception as exc:  # no such registered model or alias
        return None, f"no rest network registered at {model_uri} ({type(exc).__name__})"
    if refusal:
        return None, refusal
    module = load_for_inference(model_uri)
    wanted = len(ExampleConfig().horizons)
    if int(module.hparams.n_horizons) != wanted:
        return (
            None,
            f"{model_uri} forecasts {module.hparams.n_horizons} horizons, the service answers {wanted}",
        )
    return module, None
