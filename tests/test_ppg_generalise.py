"""Heart rate off the treadmill: other devices, rates and formats, slow reps, weak pulses, and honest scoring."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from liftsense.evaluation.heart_rate import pool_scores, score_heart_rate
from liftsense.ppg.estimate import HeartRateEstimate
from liftsense.ppg.recording import RecordingError, from_signals, load_recording
from liftsense.ppg.spectral import SpectralConfig, SpectralTracker
from liftsense.ppg.stream import StreamingEstimator, estimate_recording
from liftsense.ppg.synth import synth_recording
from tests.conftest import require_real_data


def _estimate(window: int, bpm: float | None, candidate: float | None = None) -> HeartRateEstimate:
    return HeartRateEstimate(
        window, 0, bpm, 0.5, 0.9, candidate_bpm=candidate if candidate is not None else bpm
    )


def test_scores_count_confident_wrong_readings_and_skip_windows_without_a_reference():
    estimates = [_estimate(0, 100.0), _estimate(1, 80.0), _estimate(2, None, 130.0), _estimate(3, 90.0)]
    truth = np.array([101.0, 100.0, 120.0, np.nan])
    s = score_heart_rate(estimates, truth)
    assert s["windows"] == 3 and s["reported"] == 2 and s["coverage"] == pytest.approx(2 / 3)
    assert s["confident_wrong"] == 1 and s["confident_wrong_rate"] == pytest.approx(0.5)
    assert s["aae_all"] == pytest.approx((1 + 20 + 10) / 3) and s["aae_reported"] == pytest.approx(10.5)
    pooled = pool_scores([s, score_heart_rate([_estimate(0, 60.0)], np.array([61.0]))])
    assert pooled["confident_wrong_rate"] == pytest.approx(1 / 3) and pooled["coverage"] == pytest.approx(
        3 / 4
    )


def _write_edf(path, signals: dict[str, tuple[np.ndarray, int, str]], record_s: int = 1) -> None:
    """A minimal EDF writer for the tests: {label: (values, samples per record, unit)}, physical = digital / 10."""
    n_records = len(next(iter(signals.values()))[0]) // next(iter(signals.values()))[1]
    ns = len(signals)

    def field(text: str, width: int) -> bytes:
        return text.ljust(width)[:width].encode("ascii")

    header = (
        field("0", 8) + field("test", 80) + field("rec", 80) + field("01.01.26", 8) + field("00.00.00", 8)
    )
    header += field(str(256 * (ns + 1)), 8) + field("", 44) + field(str(n_records), 8)
    header += field(str(record_s), 8) + field(str(ns), 4)
    columns = [
        [field(label, 16) for label in signals],
        [field("", 80)] * ns,
        [field(unit, 8) for _, _, unit in signals.values()],
        [field("-3276.8", 8)] * ns,
        [field("3276.7", 8)] * ns,
        [field("-32768", 8)] * ns,
        [field("32767", 8)] * ns,
        [field("", 80)] * ns,
        [field(str(per), 8) for _, per, _ in signals.values()],
        [field("", 32)] * ns,
    ]
    header += b"".join(b"".join(c) for c in columns)
    body = b""
    for r in range(n_records):
        for values, per, _ in signals.values():
            body += np.round(values[r * per : (r + 1) * per] * 10).astype("<i2").tobytes()
    path.write_bytes(header + body)


def test_an_edf_recording_round_trips_with_the_accelerometer_at_its_own_rate(tmp_path):
    rec = synth_recording("running", duration_s=30, fs=128.0, seed=2)
    acc_64 = rec.acc[:, ::2] * 9.80665  # m/s^2 at half the rate
    path = tmp_path / "run.edf"
    _write_edf(
        path,
        {
            "wrist_ppg": (rec.ppg[0], 128, "mV"),
            "acc_x": (acc_64[0], 64, "m/s^2"),
            "acc_y": (acc_64[1], 64, "m/s^2"),
            "acc_z": (acc_64[2], 64, "m/s^2"),
        },
    )
    loaded = load_recording(path)
    assert (
        loaded.fs == 128.0
        and loaded.ppg.shape == (1, rec.n_samples)
        and loaded.acc.shape == (3, rec.n_samples)
    )
    assert np.max(np.abs(loaded.ppg[0] - rec.ppg[0])) <= 0.05 + 1e-9  # quantised to 0.1
    assert np.max(np.abs(loaded.acc[:, ::2] - rec.acc[:, ::2])) < 0.01  # back in g, on the PPG's time base
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(RecordingError, match="truncated"):
        load_recording(path)
    (tmp_path / "bad.edf").write_bytes(b"not an edf")
    with pytest.raises(RecordingError, match="not a readable EDF"):
        load_recording(tmp_path / "bad.edf")


def test_an_accelerometer_shorter_than_the_ppg_is_refused():
    with pytest.raises(RecordingError, match="accelerometer covers"):
        from_signals("x", np.zeros((1, 1000)), 100.0, np.zeros((3, 200)), 25.0)


@pytest.mark.parametrize("channels", [1, 3])
def test_one_to_three_ppg_channels(channels):
    rec = synth_recording("lifting", seed=3)
    rng = np.random.default_rng(0)
    ppg = (
        rec.ppg[:1]
        if channels == 1
        else np.vstack([rec.ppg, rec.ppg[:1] + 5 * rng.standard_normal(rec.n_samples)])
    )
    rec = from_signals("x", ppg, rec.fs, rec.acc, bpm_truth=rec.bpm_truth)
    assert score_heart_rate(estimate_recording(rec), rec.bpm_truth)["aae_all"] < 2.5


def test_the_sqi_means_the_same_at_every_sample_rate():
    """The same wrist at 25-512 Hz: the tracker reads it as well, and its sqi and confidence do not drift."""
    sqis, confidences = [], []
    for fs in (25.0, 50.0, 64.0, 125.0, 256.0, 512.0):
        rec = synth_recording("lifting", seed=1, fs=fs)
        estimates = estimate_recording(rec)
        assert score_heart_rate(estimates, rec.bpm_truth)["aae_all"] < 2.0, fs
        sqis.append(np.median([e.sqi for e in estimates]))
        confidences.append(np.median([e.confidence for e in estimates]))
    assert np.ptp(sqis) < 0.1 and np.ptp(confidences) < 0.03, (sqis, confidences)


def test_the_harmonics_of_slow_reps_are_treated_as_motion():
    """20-30 reps a minute with a weak pulse: the reps' multiples (40-90 BPM) sit in the heart-rate band and the
    accelerometer barely shows them. Modelling them as motion removes most of the confident wrong readings."""
    recs = [synth_recording("slow_reps", seed=s, pulse_amplitude=0.3) for s in range(3)]

    def wrong(config: SpectralConfig) -> int:
        return sum(
            score_heart_rate(estimate_recording(r, config), r.bpm_truth)["confident_wrong"] for r in recs
        )

    lines_only, with_harmonics = wrong(replace(SpectralConfig(), motion_harmonics=1)), wrong(SpectralConfig())
    assert with_harmonics < lines_only / 3, (with_harmonics, lines_only)


@pytest.mark.parametrize("rate", [18.0, 22.2, 33.0])
def test_a_reps_line_is_measured_at_its_true_rate(rate):
    """Slow reps sit on the band-pass's low edge (24 per minute), which pulled their line a BPM up in an 8 s window;
    re-measured on the unfiltered accelerometer, the line is where the arm moves."""
    fs = 125.0
    t = np.arange(round(8 * fs)) / fs
    rep = 2 * np.pi * rate / 60 * t
    acc = np.vstack([0.5 * np.sin(rep + 0.3), 0.05 * np.sin(rep), -1 + 0.4 * np.cos(rep)])
    window = np.vstack([np.random.default_rng(0).normal(size=(2, len(t))), acc])

    def measured(config: SpectralConfig) -> float:
        tracker = SpectralTracker(fs, config=config)
        tracker.step(window)
        return float(tracker.last_motion_bpm[0])

    assert measured(SpectralConfig()) == pytest.approx(rate, abs=0.15)
    if rate == 22.2:
        assert measured(replace(SpectralConfig(), rep_line_refit_bpm=0.0)) > rate + 0.5


def test_a_weak_pulse_under_slow_reps_is_not_read_on_the_reps_multiples():
    """A pulse a seventh of the reps' artefact: with the reps' multiples modelled where they are, what is reported
    is right; modelled a few BPM off, the track sat beside the 2nd multiple and reported it for minutes."""
    recs = [synth_recording("slow_reps", seed=s, pulse_amplitude=0.3) for s in range(6)]

    def wrong_rate(config: SpectralConfig) -> float:
        scores = [score_heart_rate(estimate_recording(r, config), r.bpm_truth) for r in recs]
        return pool_scores(scores)["confident_wrong_rate"]

    refit, biased = (
        wrong_rate(SpectralConfig()),
        wrong_rate(replace(SpectralConfig(), rep_line_refit_bpm=0.0)),
    )
    assert refit < 0.06 and biased > 0.3, (refit, biased)


@pytest.mark.parametrize(("channels", "fs"), [(1, 256.0), (2, 125.0), (3, 50.0)])
def test_noise_without_a_pulse_gives_no_reading_and_says_why(channels, fs):
    """A band off the skin: white noise on every PPG channel, a still arm. The track still settles somewhere on
    noise; what is reported must not be. The noise thresholds hold at 1-3 channels and 50-256 Hz."""
    rng = np.random.default_rng(channels)
    n = round(300 * fs)
    ppg, acc = rng.normal(size=(channels, n)), 0.01 * rng.normal(size=(3, n)) + [[0.0], [0.0], [1.0]]
    stream = StreamingEstimator(fs, channels)
    estimates = stream.push(ppg, acc) + stream.flush()
    reported = [e for e in estimates if e.ok]
    assert len(reported) <= 0.02 * len(estimates), len(reported)  # one stray line reports 5 windows at most
    assert sum("no pulse stands out" in e.reason for e in estimates) >= 0.8 * len(estimates)


def test_a_pulse_under_motion_is_still_reported_when_noise_is_not():
    """The same check keeps readings where there is a pulse: lifting, running and slow reps with their artefact."""
    for activity in ("lifting", "running", "slow_reps"):
        rec = synth_recording(activity, seed=2)
        estimates = estimate_recording(rec)
        assert not any("no pulse stands out" in e.reason for e in estimates), activity


def test_a_walkers_comb_of_weak_accelerometer_lines_counts_as_motion():
    """A walker's arm swing and its multiples fill the accelerometer's spectrum, so that none of them stood out from
    its median; the PPG's strong copy of the comb was then read as the heart rate (Jarchi & Casson's walks: 170-190
    against 75-100). Treating a lasting comb as motion cuts the error and the confident wrong readings."""
    recs = [synth_recording("walking", seed=s, motion_gain=4.0) for s in (3, 4, 5)]

    def scores(config: SpectralConfig) -> tuple[float, int]:
        each = [score_heart_rate(estimate_recording(r, config), r.bpm_truth) for r in recs]
        return float(np.mean([e["aae_all"] for e in each])), sum(e["confident_wrong"] for e in each)

    (comb_error, comb_wrong), (lines_error, lines_wrong) = (
        scores(SpectralConfig()),
        scores(replace(SpectralConfig(), comb_contrast=0.0)),
    )
    assert comb_error < lines_error / 3 and comb_wrong < lines_wrong / 5, (comb_error, lines_error)


def test_a_tracker_saved_by_the_version_before_comb_lines_and_the_pulse_check_still_loads():
    """A stream's tracker is saved after every chunk; one saved before an upgrade must go on after it."""
    import pickle

    tracker = SpectralTracker(125.0)
    state = tracker.__getstate__()
    for added in ("_previous_comb_bpm", "_pulse_strengths", "last_pulse_seen"):
        del state[added]
    restored = SpectralTracker.__new__(SpectralTracker)
    restored.__setstate__(state)
    rec = synth_recording("walking", seed=1, duration_s=12.0)
    window = np.vstack([rec.ppg, rec.acc])[:, : restored.window_len]
    assert pickle.loads(pickle.dumps(restored)).step(window).candidate_bpm is not None


@pytest.mark.parametrize("activity", ["fidgeting", "slow_reps"])
def test_resting_rates_under_slow_arm_motion_are_followed(activity):
    errors = [
        score_heart_rate(estimate_recording(r), r.bpm_truth)
        for r in (synth_recording(activity, seed=s) for s in range(3))
    ]
    assert np.mean([e["aae_all"] for e in errors]) < 2.0 and all(
        e["confident_wrong_rate"] < 0.02 for e in errors
    )


@pytest.mark.real_data
def test_ppg_extra_loads_68_unique_recordings_with_aligned_references():
    require_real_data("ppg_extra")
    from liftsense.datasets.ppg_extra import load_bami, load_cardiac_rehab, load_jarchi_casson, load_ppg_extra

    recs = load_ppg_extra()
    sets = [r.meta["set"] for r in recs]
    assert len(recs) == 68 and sets.count("BAMI-1") == 25 and sets.count("Jarchi-Casson") == 16
    assert all(len(r.bpm_truth) == r.n_windows() and np.isfinite(r.bpm_truth).mean() > 0.95 for r in recs)
    assert {r.fs for r in recs} == {50.0, 256.0} and {r.ppg.shape[0] for r in recs} == {1, 3}
    # the conventions line the reference up with the PPG: the tracker reads these closely (Jarchi & Casson's
    # alignment is approximate, by the data's README)
    for rec, limit in (
        (load_bami("BAMI1_13"), 3.0),
        (load_bami("BAMI2_6"), 3.0),
        (load_cardiac_rehab(6), 3.0),
        (load_jarchi_casson("s2_high_resistance_bike"), 4.5),
    ):
        assert score_heart_rate(estimate_recording(rec), rec.bpm_truth)["aae_all"] < limit, rec.name


def test_the_cli_scores_any_recording_against_a_reference_csv(tmp_path, capsys):
    from liftsense.ppg.__main__ import main

    rec = synth_recording("lifting", duration_s=60, fs=64.0, seed=4)
    path = tmp_path / "wrist.edf"
    signals = {"ppg": (rec.ppg[0], 64, "mV")} | {
        f"acc_{a}": (rec.acc[i], 64, "g") for i, a in enumerate("xyz")
    }
    _write_edf(path, signals)
    truth = rec.bpm_truth.copy()
    truth[3] += 30  # one window the reference says is far off
    (tmp_path / "ref.csv").write_text("ref_bpm\n" + "\n".join(f"{v:.2f}" for v in truth[:-1]) + "\n")
    assert main([str(path), "--reference", str(tmp_path / "ref.csv")]) == 0
    out = capsys.readouterr().out
    assert f"over all {len(truth) - 1} scored windows" in out and "1 readings off by more than 10 BPM" in out
    assert main([str(path), "--reference", str(tmp_path / "missing.csv")]) == 2
    assert "'ref_bpm' column" in capsys.readouterr().err


def test_readings_do_not_depend_on_the_number_of_blas_threads():
    """The gateway computes on one thread, the service and the tests on several: the same stream must give the same
    bits. The tracker's one large product (data and motion basis against every candidate frequency) is checked at
    every row count it meets, on short and long windows: a plain `rows @ matrix` differs from a dozen rows up."""
    from threadpoolctl import threadpool_limits

    from liftsense.ppg.spectral import SpectralTracker

    rng = np.random.default_rng(0)
    for fs in (125.0, 48.0, 64.0):
        tracker = SpectralTracker(fs)
        for n_rows in (1, 2, 3, 11, 12, 16, 22, 23):
            rows = rng.standard_normal((n_rows, len(tracker._t)))
            default = tracker._times_cossin(rows)
            with threadpool_limits(1):
                assert np.array_equal(tracker._times_cossin(rows), default), (fs, n_rows)
            assert np.allclose(default, rows @ tracker._cossin)


def test_readings_do_not_depend_on_the_memory_layout_of_the_chunks():
    """The gateway decodes frames into transposed (Fortran-ordered) arrays; the library's callers pass C-ordered ones.
    Both the window's decimation and the stream must give the same bits for either."""
    from liftsense.ppg import from_counts, strength_session, to_counts
    from liftsense.ppg.spectral import SpectralTracker

    rec, _ = strength_session(0)
    signals = np.vstack(from_counts(*to_counts(rec.ppg[:, 997:5997], rec.acc[:, 997:5997])))
    tracker = SpectralTracker(rec.fs)
    for k in range(0, 4000, 250):
        window = signals[:, k : k + 1000]
        blocks, fortran_blocks = tracker._blocks(window), tracker._blocks(np.asfortranarray(window))
        assert np.array_equal(blocks, fortran_blocks)
        assert np.array_equal(tracker._bandpassed(blocks), tracker._bandpassed(fortran_blocks))
    c_order, f_order = StreamingEstimator(rec.fs), StreamingEstimator(rec.fs)
    for k in range(0, signals.shape[1], 100):
        ppg, acc = signals[:2, k : k + 100], signals[2:, k : k + 100]
        expected = [(e.bpm, e.sqi) for e in c_order.push(ppg, acc)]
        assert [
            (e.bpm, e.sqi) for e in f_order.push(np.asfortranarray(ppg), np.asfortranarray(acc))
        ] == expected
