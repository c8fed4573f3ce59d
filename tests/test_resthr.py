"""Rest HR: schema and bad input, sets and rests, the simulator's physiology, leak-free examples, baselines,
the target rule, the online update, the recovery LSTM, and the `task=rest_hr` job end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from liftsense.resthr.examples import ExampleConfig, build_examples
from liftsense.resthr.recovery import (
    MonoExponential,
    OnlineRecovery,
    Persistence,
    PopulationCurve,
    RidgeOnContext,
    TargetRule,
    compare_mae,
    horizon_mae,
)
from liftsense.resthr.sessions import SessionError, SkipLog, bouts, read_sessions, validate, write_sessions
from liftsense.resthr.simulate import SimConfig, simulate_sessions
from tests.conftest import require_real_data, run_entry_point

ROOT = Path(__file__).resolve().parents[1]


def session_table(set_s=(30, 40), rest_s=(90, 120), hr_set=140.0, hr_rest=100.0, sid="s1") -> pd.DataFrame:
    """1 Hz: rest 20 s, then set/rest pairs; HR is hr_set during sets and decays towards hr_rest after."""
    rows, t = [], 0.0
    for _ in range(20):
        rows.append((t, 90.0, 0))
        t += 1
    for s, r in zip(set_s, rest_s, strict=True):
        for _ in range(s):
            rows.append((t, hr_set, 1))
            t += 1
        for k in range(r):
            rows.append((t, hr_rest + (hr_set - hr_rest) * np.exp(-k / 40.0), 0))
            t += 1
    frame = pd.DataFrame(rows, columns=["time", "heart_rate", "state"])
    frame["id"] = sid
    return frame


# -- schema and bad input ------------------------------------------------------------------------------------------
def test_validate_recomputes_heart_rate_change_and_fills_optional_columns():
    table = validate(session_table())
    assert {"heart_rate_change", "RPE", "subject"} <= set(table.columns)
    np.testing.assert_allclose(table["heart_rate_change"].iloc[1:], np.diff(table["heart_rate"]))
    assert table["heart_rate_change"].iloc[0] == 0


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda t: t.drop(columns="state"), r"missing column\(s\) \['state'\]"),
        (
            lambda t: t.assign(time=t["time"].where(t.index != 50, 10.0)),
            "session 's1', row 50: time 10.0 does not increase",
        ),
        (
            lambda t: t.assign(heart_rate=t["heart_rate"].where(t.index != 7, 0.0)),
            "session 's1', row 7: heart_rate 0.0",
        ),
        (
            lambda t: t.assign(heart_rate=t["heart_rate"].where(t.index != 9, 300.0)),
            "row 9: heart_rate 300.0 is outside",
        ),
        (lambda t: t.assign(state=t["state"].where(t.index != 3, 2)), "row 3: state 2 is not 0 or 1"),
        (lambda t: t.assign(state=1), "session 's1' has no rest"),
    ],
    ids=["no-state", "time-backwards", "hr-zero", "hr-300", "bad-state", "no-rest"],
)
def test_bad_sessions_name_the_session_and_row(corrupt, message):
    with pytest.raises(SessionError, match=message):
        validate(corrupt(session_table()))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_sessions_round_trip(tmp_path, suffix):
    table = validate(session_table())
    back = read_sessions(write_sessions(table, tmp_path / f"s{suffix}"))
    pd.testing.assert_frame_equal(
        back[table.columns].reset_index(drop=True), table.reset_index(drop=True), check_dtype=False
    )
    with pytest.raises(SessionError, match="unsupported format"):
        read_sessions(
            write_sessions(table, tmp_path / "s.csv").with_suffix(".txt").touch() or tmp_path / "s.txt"
        )


# -- sets and rests -------------------------------------------------------------------------------------------------
def test_bouts_pair_each_set_with_its_rest():
    found = bouts(validate(session_table(set_s=(30, 40), rest_s=(90, 120))))
    assert [b.index for b in found] == [0, 1]
    assert found[0].set_duration == pytest.approx(29.0)
    assert found[0].rest_duration == pytest.approx(91.0)  # last set sample -> first sample of the next set
    assert found[0].rest_time[0] == pytest.approx(1.0) and found[0].set_time[-1] == 0.0


def test_too_short_sets_and_a_final_set_without_rest_are_skipped_and_counted():
    table = session_table(set_s=(3, 40), rest_s=(60, 60))
    table = pd.concat(
        [
            table,
            pd.DataFrame(
                {"time": table["time"].max() + 1 + np.arange(30), "heart_rate": 150.0, "state": 1, "id": "s1"}
            ),
        ],
        ignore_index=True,
    )
    skips = SkipLog()
    found = bouts(validate(table), min_set_s=5, skips=skips)
    assert [b.index for b in found] == [1]
    assert skips.counts == {"set shorter than 5 s": 1, "set without a following rest": 1}


# -- simulator physiology -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim():
    return simulate_sessions(SimConfig(subjects=6, sessions_per_subject=2, seed=1))


def test_simulator_is_seeded_and_in_the_schema(sim):
    again = simulate_sessions(SimConfig(subjects=6, sessions_per_subject=2, seed=1))
    pd.testing.assert_frame_equal(sim, again)
    assert sim["id"].nunique() == 12 and sim["subject"].nunique() == 6


def test_simulated_recovery_peaks_after_the_set_then_falls_to_a_floor_above_resting(sim):
    peak_lags, drops, floors = [], [], []
    for b in bouts(sim):
        rows = sim[sim["id"] == b.session]
        t = rows["time"].to_numpy()
        rest = (t > b.set_end) & (t <= b.set_end + b.rest_duration)
        if rest.sum() < 60:
            continue
        true = rows["heart_rate_true"].to_numpy()[rest]
        peak_lags.append(t[rest][np.argmax(true[:30])] - b.set_end)
        drops.append(true[:30].max() - true[-1])
        floors.append(true[-1] - rows["resting_hr"].iloc[0])
    assert 0 <= np.median(peak_lags) <= 20
    assert np.median(drops) > 10  # it recovers
    assert np.min(floors) > 5  # but stays well above resting HR


# -- examples: nothing after the set end enters the input ------------------------------------------------------------
def test_inputs_do_not_change_when_the_rest_does():
    table = validate(session_table())
    changed = table.copy()
    rest_rows = changed.index[(changed["state"] == 0) & (changed["time"] > 60)]
    changed.loc[rest_rows, "heart_rate"] = 60.0
    a, b = build_examples(bouts(table)[:1]), build_examples(bouts(validate(changed))[:1])
    np.testing.assert_array_equal(a.sequence, b.sequence)
    np.testing.assert_array_equal(a.context, b.context)
    assert not np.allclose(a.target, b.target, equal_nan=True)


def test_targets_are_the_future_change_and_masked_after_the_rest():
    ex = build_examples(bouts(validate(session_table(rest_s=(90, 120)))), ExampleConfig(horizon_s=180.0))
    first = ex.target[0]
    assert ex.hr_end[0] == pytest.approx(140.0)
    assert first[ex.horizons == 40][0] == pytest.approx(40 * (np.exp(-39 / 40) - 1), abs=0.5)
    assert np.isnan(first[ex.horizons > 91]).all() and np.isfinite(first[ex.horizons <= 90]).all()


# -- baselines, target rule, online update --------------------------------------------------------------------------
def exact_examples(depth=-30.0, tau=40.0, n=20):
    ex = build_examples(bouts(validate(session_table(set_s=(30,) * n, rest_s=(200,) * n))))
    ex.target[:] = depth * (1 - np.exp(-ex.horizons / tau))
    return ex


def test_mono_exponential_recovers_a_known_tau_and_depth():
    model = MonoExponential().fit(exact_examples(depth=-30.0, tau=40.0))
    assert model.tau_ == pytest.approx(40.0, abs=2.5) and model.depth_ == pytest.approx(-30.0, abs=1.0)


def test_simple_baselines_behave():
    ex = exact_examples()
    assert np.all(Persistence().fit(ex).predict(ex) == 0)
    np.testing.assert_allclose(PopulationCurve().fit(ex).predict(ex)[0], ex.target[0])
    assert horizon_mae(RidgeOnContext().fit(ex).predict(ex), ex)["mae_60s"] < 0.5


def test_target_rule_on_a_known_exponential_and_its_guard_rails():
    horizons = np.arange(5.0, 181.0, 5.0)
    curve = -30 * (1 - np.exp(-horizons / 40.0))
    hr, when = TargetRule(completion=0.8).apply(curve, horizons, 150.0)
    final = curve[-1]
    expected_t = horizons[np.flatnonzero(curve <= 0.8 * final)[0]]
    assert when == expected_t and hr == pytest.approx(150 + np.interp(when, horizons, curve))
    assert TargetRule(min_rest_s=30).apply(np.zeros_like(horizons), horizons, 150.0) == (150.0, 30.0)
    assert TargetRule(max_rest_s=60).apply(-30 * (1 - np.exp(-horizons / 300.0)), horizons, 150.0)[1] == 60.0


def test_online_update_moves_the_forecast_towards_what_is_measured():
    horizons = np.arange(5.0, 181.0, 5.0)
    forecast = -30 * (1 - np.exp(-horizons / 40.0))
    actual = forecast + 8.0  # this rest recovers 8 bpm less
    online = OnlineRecovery(forecast, horizons, hr_end=150.0)
    before = np.mean(np.abs(online.forecast()[horizons > 40] - actual[horizons > 40]))
    remaining_before = online.remaining_s()
    for t in range(1, 41):
        online.observe(float(t), 150.0 + np.interp(t, horizons, actual))
    after = np.mean(np.abs(online.forecast()[horizons > 40] - actual[horizons > 40]))
    assert after < 0.5 * before
    assert online.remaining_s() < remaining_before
    online.observe(50.0, float("nan"))  # a lost sample is ignored, not used
    assert online.remaining_s() >= 0


# -- the recovery LSTM ----------------------------------------------------------------------------------------------
def test_lstm_ignores_padding_and_masks_unobserved_horizons():
    import torch

    from liftsense.models.rest_recovery import RestRecoveryLSTM, context_scaler, tensors

    ex = build_examples(bouts(validate(session_table())))
    model = RestRecoveryLSTM(ex.context.shape[1], len(ex.horizons), context_scaler(ex)).eval()
    seq, lengths, ctx, target, mask = tensors(ex)
    padded = torch.cat([seq, torch.full((len(seq), 7, 2), 9.0)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(model(seq, lengths, ctx), model(padded, lengths, ctx))
    assert mask.sum() < mask.numel()  # the second rest is shorter than the horizon
    target_nan_changed = target.clone()
    target_nan_changed[mask == 0] = 1e6  # whatever sits under the mask must not matter
    assert model._loss((seq, lengths, ctx, target, mask)) == model._loss(
        (seq, lengths, ctx, target_nan_changed, mask)
    )
    assert model.forecast(ex).shape == (len(ex), len(ex.horizons))


@pytest.mark.slow
def test_train_rest_hr_end_to_end_with_mlflow(tmp_path):
    proc = run_entry_point(
        "train.py",
        tmp_path,
        "task=rest_hr",
        "model=rest_lstm",
        "trainer=rest_smoke",
        "data.sim.subjects=8",
        "data.sim.sessions_per_subject=2",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = mlflow.search_runs(experiment_names=["rest-hr"], output_format="list")
    for key in (
        "test_mae_60s",
        "test_baseline_persistence_mae_60s",
        "test_baseline_mono_exponential_mae_60s",
        "test_target_hr_mae",
        "val_loss",
    ):
        assert key in run.data.metrics, key
    assert run.data.tags["split_by"] == "subject"
    assert "recovery_forecasts.png" in {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    model = mlflow.pytorch.load_model(f"runs:/{run.info.run_id}/model", map_location="cpu")
    ex = build_examples(bouts(validate(session_table())))
    assert np.isfinite(model.forecast(ex)).all()


# -- real data -------------------------------------------------------------------------------------------------------
@pytest.mark.real_data
def test_garmin_fit_sessions_convert_to_sets_and_rests():
    require_real_data("hr", "garmin_strength_fit")
    from liftsense.resthr.realdata import load_garmin

    table = load_garmin()
    assert table["id"].nunique() == 4 and set(table["state"].unique()) == {0, 1}
    found = bouts(table)
    assert len(found) > 80 and all(b.set_time[-1] == 0 for b in found)
    assert 20 < np.median([b.set_duration for b in found]) < 90


@pytest.mark.real_data
def test_physionet_sprints_are_found_from_the_tags():
    require_real_data("hr", "physionet_wearable_exercise")
    from liftsense.resthr.realdata import load_physionet

    found = bouts(load_physionet())
    per_session = pd.Series([b.session for b in found]).value_counts()
    assert per_session.between(1, 4).all() and per_session.median() >= 3
    assert all(15 <= b.set_duration <= 60 for b in found)


def test_residual_bands_cover_about_their_nominal_share():
    from liftsense.resthr.recovery import ResidualBands

    rng = np.random.default_rng(0)
    cal, test = exact_examples(n=20), exact_examples(n=20)
    forecast = np.zeros_like(cal.target)
    cal.target = cal.target + rng.normal(0, 3, cal.target.shape)
    test.target = test.target + rng.normal(0, 3, test.target.shape)
    bands = ResidualBands(0.1, 0.9).fit(forecast, cal)
    assert 0.7 < bands.coverage(forecast, test) < 0.9
    lo, hi = bands.bands(forecast)
    assert np.all(lo <= hi)


def test_compare_mae_reads_a_known_gain_and_says_when_the_rests_cannot_tell():
    rng = np.random.default_rng(1)
    baseline = rng.uniform(5, 25, 400)
    halved = compare_mae(0.5 * baseline, baseline)  # the same rests: every resample has exactly half the MAE
    assert halved.change == pytest.approx(-0.5) and halved.low == pytest.approx(-0.5)
    assert halved.high == pytest.approx(-0.5) and halved.decides() == "goal met"

    noisy = compare_mae(rng.uniform(5, 25, 400), baseline)  # no real difference, many rests
    assert noisy.low < 0 < noisy.high and noisy.decides() == "goal not met"
    few = compare_mae(0.7 * baseline[:12] + rng.normal(0, 6, 12).clip(-3), baseline[:12])
    assert few.high - few.low > 0.2 and few.decides().startswith(("too few", "better than"))

    with_gaps = np.where(np.arange(400) % 2 == 0, np.nan, baseline)  # unobserved rests are left out
    assert compare_mae(0.5 * baseline, with_gaps).n == 200
    with pytest.raises(ValueError, match="shape"):
        compare_mae(baseline[:10], baseline)


@pytest.mark.slow
def test_four_recorded_sessions_train_with_one_fold_each_and_evaluate_scores_the_model(tmp_path):
    # the README's `train.py task=rest_hr data=rest_garmin`: 4 sessions, fewer than the default 5 folds
    require_real_data("hr", "garmin_strength_fit")
    proc = run_entry_point("train.py", tmp_path, "task=rest_hr", "model=rest_lstm", "trainer=rest_smoke",
                           "data=rest_garmin")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "4 groups only: 4 group folds instead of 5" in proc.stdout + proc.stderr
    import json

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = mlflow.search_runs(experiment_names=["rest-hr"], output_format="list")
    out = tmp_path / "rest_eval.json"
    proc = run_entry_point("evaluate.py", tmp_path, "task=rest_hr", "data=rest_garmin", "subset=test",
                           f"model_uri=runs:/{run.info.run_id}/model", f"output_json={out}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    scored = json.loads(out.read_text())
    assert scored["mae_60s"] == pytest.approx(run.data.metrics["test_mae_60s"])  # the same test rests
    assert "baseline_persistence_mae_60s" in scored and scored["rests"] >= 1
    proc = run_entry_point("evaluate.py", tmp_path, "task=rest_hr", "data=builtin",
                           f"model_uri=runs:/{run.info.run_id}/model")  # fmt: skip
    assert proc.returncode != 0 and "scores rest data" in proc.stderr


def test_too_few_groups_for_train_validation_and_test_is_a_clear_error():
    from liftsense.datasets.splits import fitting_n_splits

    assert fitting_n_splits(pd.DataFrame({"group": list("abcd")}), 5) == 4
    assert fitting_n_splits(pd.DataFrame({"group": list("abcdefg")}), 5) == 5
    with pytest.raises(ValueError, match="3 at least"):
        fitting_n_splits(pd.DataFrame({"group": list("ab")}), 5)


# -- a trained network among the forecasters ---------------------------------------------------------------------------
class _FixedForecast:
    """A stand-in for a trained network's `forecast`: the validation rests' own future (unbeatable) or that future
    shifted by `offset_bpm` (beaten by the simple forecasters)."""

    def __init__(self, offset_bpm: float) -> None:
        self.offset_bpm = offset_bpm

    def forecast(self, examples) -> np.ndarray:
        return np.nan_to_num(examples.target, nan=0.0) + self.offset_bpm


@pytest.mark.parametrize("offset_bpm, answers", [(0.0, True), (25.0, False)])
def test_a_trained_network_answers_only_when_it_beats_the_simple_forecasters_on_the_validation_rests(
    offset_bpm, answers
):
    from liftsense.resthr import SetDone, TrainedNetwork, fitted_rest_forecaster

    sessions = simulate_sessions(SimConfig(subjects=12, sessions_per_subject=1, seed=3))
    forecaster = fitted_rest_forecaster(
        sessions, networks=(TrainedNetwork(_FixedForecast(offset_bpm), "net"),)
    )
    assert list(forecaster.scores_) == ["persistence", "mono-exponential, population tau", "net"]
    simple_best = min(v for k, v in forecaster.scores_.items() if k != "net")
    assert (forecaster.scores_["net"] < simple_best) == answers
    assert forecaster.network_answers == answers
    t = np.arange(-30.0, 0.1, 1.0)
    forecast = forecaster.forecast(SetDone(t, 120 + 0.5 * (t + 30)))
    assert forecast.produced_by.startswith("net" if answers else ("persistence", "mono-exponential"))
    if answers:  # the network's own output: no change at any horizon for a request without a rest
        assert forecast.hr == [forecast.hr_end] * len(forecast.hr)


def test_a_rest_network_is_offered_only_when_it_beat_its_baseline_at_promotion(tmp_path):
    import mlflow

    from liftsense.registry import BASELINE_TAG
    from liftsense.resthr import servable_rest_network

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert servable_rest_network("models:/rest-hr-rest_builtin@champion", uri)[1].startswith(
        "no rest network registered"
    )
    proc = run_entry_point(
        "train.py", tmp_path, "task=rest_hr", "model=rest_lstm", "trainer=rest_smoke",
        "data.sim.subjects=8", "data.sim.sessions_per_subject=2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    mlflow.set_tracking_uri(uri)
    (run,) = mlflow.search_runs(experiment_names=["rest-hr"], output_format="list")
    client = mlflow.MlflowClient()
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "rest-hr-rest_builtin").version
    client.set_registered_model_alias("rest-hr-rest_builtin", "champion", version)
    for tag, offered in (("false", False), ("true", True)):
        client.set_model_version_tag("rest-hr-rest_builtin", version, BASELINE_TAG, tag)
        network, why_not = servable_rest_network("models:/rest-hr-rest_builtin@champion", uri)
        assert (network is not None) == offered, why_not
        assert offered or "lost to its baseline" in why_not


# -- a live session: heart rate, sets and rests, rest over -------------------------------------------------------------
@pytest.fixture(scope="module")
def strength():
    from liftsense.ppg import from_counts, strength_session, to_counts
    from liftsense.resthr import fitted_rest_forecaster

    rec, state = strength_session(0)
    ppg, acc = from_counts(*to_counts(rec.ppg, rec.acc))  # as the gateway reads a band's counts
    return ppg, acc, state, rec.meta["hr"], fitted_rest_forecaster()


def _live(ppg, acc, forecast, events=(), frame=25):
    from liftsense.resthr import LiveSession

    session = LiveSession(forecast)
    readings, phases, decisions = [], [], []
    for k in range(0, ppg.shape[1], frame):
        out = session.push(
            ppg[:, k : k + frame], acc[:, k : k + frame], [e for e in events if k <= e[0] < k + frame]
        )
        readings += out.readings
        phases += out.phases
        decisions += out.decisions
    return readings, phases, decisions


def _library_forecast(forecaster):
    return lambda done, t, hr: forecaster.forecast(done) if len(t) == 0 else forecaster.update(done, t, hr)


def test_a_live_session_finds_the_sets_and_ends_rests_by_heart_rate_within_the_guard_rails(strength):
    from liftsense.resthr.live import CONSECUTIVE_BELOW

    ppg, acc, state, true_hr, forecaster = strength
    readings, phases, decisions = _live(ppg, acc, _library_forecast(forecaster))
    truth = [(k / 125, "set" if state[k] else "rest") for k in np.flatnonzero(np.diff(state)) + 1]
    assert [p.state for p in phases] == [s for _, s in truth]
    assert (
        max(abs(p.t_s - t) for p, (t, _) in zip(phases, truth, strict=True)) <= 3.0
    )  # 1 s blocks, 2-5 to decide
    ok = [r for r in readings if r.bpm is not None]
    assert len(ok) > 0.9 * len(readings)
    assert np.median([abs(r.bpm - true_hr[int(r.t_s * 125) - 500]) for r in ok]) < 3  # the window's middle
    ends = [d for d in decisions if d.kind == "rest_over"]
    assert len(ends) >= 3
    rests = [p for p in phases if p.state == "rest"]
    for d in ends:
        start = max(p.t_s for p in rests if p.t_s <= d.t_s)
        assert 30.0 <= d.t_s - start <= 180.0 + 0.2  # never before the minimum rest, always by the maximum
        if (
            d.hr is not None
        ):  # ended by heart rate: the deciding readings arrived within the last 2 s of stream
            below = [r for r in ok if start <= r.t_s and r.bpm <= d.target_hr + 1e-9 and r.t_s <= d.t_s]
            assert len(below) >= CONSECUTIVE_BELOW and d.hr <= d.target_hr
            lookahead = 8.0 / 2 + 2 * 2.0  # the window's second half and the smoother's two hops
            assert d.t_s - (below[-1].t_s + lookahead) <= 2.0


def test_without_a_forecast_the_maximum_rest_decides_and_without_readings_the_forecasts_rest(strength):
    ppg, acc, _, _, forecaster = strength

    def down(*_):
        raise ConnectionError("service unreachable")

    n = 125 * 420
    resting = acc[:, :n].copy()
    resting[:, 125 * 135 :] = acc[:, 125 * 135 : 125 * 136].mean(axis=1, keepdims=True)  # no second set
    _, phases, decisions = _live(ppg[:, :n], resting, down)
    assert any(d.kind == "no_forecast" and "service unreachable" in d.reason for d in decisions)
    (end,) = [d for d in decisions if d.kind == "rest_over"]
    rest_start = next(p.t_s for p in phases if p.state == "rest")
    assert end.reason == "maximum rest (180 s)" and abs(end.t_s - rest_start - 180.0) <= 0.2

    flat = ppg.copy()
    flat[:, 125 * 130 :] = np.random.default_rng(0).normal(
        0, 1e-3, flat[:, 125 * 130 :].shape
    )  # the sensor slips
    readings, _, decisions = _live(flat[:, :n], resting, _library_forecast(forecaster))
    (end,) = [d for d in decisions if d.kind == "rest_over"]
    assert end.reason.startswith("HR unreadable") and end.hr is None
    forecast = [d for d in decisions if d.kind == "forecast" and d.t_s <= end.t_s][-1]
    assert max(forecast.rest_s, 30.0) <= end.rest_s < 180.0  # the forecast's rest, before the maximum
    last_adequate = max(r.t_s for r in readings if r.bpm is not None and r.sqi >= 0.3 and r.t_s <= end.t_s)
    assert end.t_s - last_adequate >= 10.0


def test_button_presses_set_the_phases_and_the_session_continues_after_pickling(strength):
    import pickle

    ppg, acc, _, _, forecaster = strength
    n = 125 * 200
    still = np.broadcast_to(acc[:, :1], (3, n)).copy()  # an arm that does not move: only the buttons tell
    _, phases, _ = _live(ppg[:, :n], still, None, events=[(125 * 40, "set"), (125 * 90, "rest")])
    assert [(p.t_s, p.state, p.source) for p in phases] == [(40.0, "set", "button"), (90.0, "rest", "button")]

    from liftsense.resthr import LiveSession

    whole, half = LiveSession(_library_forecast(forecaster)), LiveSession(_library_forecast(forecaster))
    a = [whole.push(ppg[:, k : k + 25], acc[:, k : k + 25]) for k in range(0, n, 25)]
    b = [half.push(ppg[:, k : k + 25], acc[:, k : k + 25]) for k in range(0, n // 2, 25)]
    restored = pickle.loads(pickle.dumps(half))
    restored.forecast_fn = _library_forecast(forecaster)
    b += [restored.push(ppg[:, k : k + 25], acc[:, k : k + 25]) for k in range(n // 2, n, 25)]
    assert [o.readings for o in a] == [o.readings for o in b] and [o.phases for o in a] == [
        o.phases for o in b
    ]


def test_a_live_sessions_outputs_do_not_depend_on_how_its_samples_were_chunked(strength):
    """The gateway hands over whatever is durable: one frame, or seconds of them at once."""
    from liftsense.resthr import LiveSession

    ppg, acc, _, _, forecaster = strength
    n = 125 * 400
    rng = np.random.default_rng(3)
    runs = []
    for sizes in ([25] * (n // 25), [1000] * (n // 1000), list(rng.integers(1, 700, n))):
        session, outs, k = LiveSession(_library_forecast(forecaster)), [], 0
        for size in sizes:
            if k >= n:
                break
            stop = min(k + size, n)
            outs.append(session.push(ppg[:, k:stop], acc[:, k:stop]))
            k = stop
        runs.append([[x for o in outs for x in getattr(o, f)] for f in ("readings", "phases", "decisions")])
    assert any(d.kind == "rest_over" for d in runs[0][2])
    assert runs[0] == runs[1] == runs[2]


def test_the_session_schema_has_one_source_for_the_loader_the_gate_and_the_docs():
    from data_validation.suites import HR_BPM, RPE_SCALE
    from liftsense.resthr.sessions import HR_LIMITS, RPE_LIMITS, SessionError, schema_markdown, validate
    from tests.conftest import ROOT

    assert (HR_BPM, RPE_SCALE) == (HR_LIMITS, RPE_LIMITS)
    assert schema_markdown() in (ROOT / "docs" / "session_schema.md").read_text()  # regenerate on change
    assert f"{HR_LIMITS[0]:g}-{HR_LIMITS[1]:g}" in schema_markdown()
    table = pd.DataFrame(
        {"time": [0.0, 1.0], "heart_rate": [80.0, HR_LIMITS[1] + 1], "state": [1, 0], "id": "a"}
    )
    with pytest.raises(SessionError, match=f"outside {HR_LIMITS[0]:g}-{HR_LIMITS[1]:g} bpm"):
        validate(table)
    validate(table.assign(heart_rate=[80.0, HR_LIMITS[1]]))  # the limit itself is a reading
