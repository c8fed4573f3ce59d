"""Promotion's grouped gate: a clip model's settings scored on each group by a refit that never saw that group."""

from __future__ import annotations

import re

import mlflow
import numpy as np
import pytest

from tests.conftest import require_real_data, run_entry_point
from tests.test_calibration import CLASSES, lifters

LEANS = {"a": 5.0, "b": 19.0, "c": 33.0, "d": 12.0}


def _targets(seqs) -> np.ndarray:
    return seqs.meta["correct"].astype(int).to_numpy()


def test_a_models_settings_rebuild_it_and_refit_to_the_same_model():
    import inspect

    from liftsense.models.clip_model import ClipFormModel

    seqs = lifters(LEANS)
    fitted = ClipFormModel(
        CLASSES, estimator="forest", n_trees=20, seed=4, drop_cues=("heel",), group_balance="drop"
    ).fit(seqs, _targets(seqs))
    settings = fitted.settings()
    assert set(settings) == set(inspect.signature(ClipFormModel.__init__).parameters) - {"self"}
    copy = ClipFormModel(**settings)
    assert copy.model_ is None and copy.columns_ is None and copy.settings() == settings
    assert (
        settings["n_trees"] == 20
        and settings["drop_cues"] == ("heel",)
        and settings["group_balance"] == "drop"
    )
    np.testing.assert_array_equal(
        copy.fit(seqs, _targets(seqs)).predict_proba(seqs), fitted.predict_proba(seqs)
    )


def test_each_group_is_scored_by_a_refit_that_never_saw_it():
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.pipelines.grouped_gate import out_of_group_proba

    seqs = lifters(LEANS)
    y = _targets(seqs)
    model = ClipFormModel(CLASSES, estimator="logistic", c=1.0).fit(seqs, y)
    before = model.predict_proba(seqs)
    proba, folds, unfitted = out_of_group_proba(model, seqs, y)
    assert folds == 4 and unfitted == ()
    groups = seqs.meta["group"].to_numpy()
    for group in LEANS:
        held = np.flatnonzero(groups == group)
        others = np.flatnonzero(groups != group)
        alone = ClipFormModel(CLASSES, estimator="logistic", c=1.0).fit(seqs.subset(others), y[others])
        np.testing.assert_allclose(proba[held], alone.predict_proba(seqs.subset(held)))
    # the logged model itself is not refitted in place
    np.testing.assert_array_equal(model.predict_proba(seqs), before)
    # out of its group, a plain model cannot judge every lifter by absolute lean (see test_calibration)
    assert (proba.argmax(1) != y).any()

    proba, folds, unfitted = out_of_group_proba(model, seqs, y, max_folds=2)
    assert folds == 2 and unfitted == () and np.isfinite(proba).all()


def test_a_fold_that_cannot_be_fitted_leaves_its_clips_unscored_and_says_why():
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.pipelines.grouped_gate import grouped_score

    both = lifters({"a": 5.0, "b": 19.0})
    only_good_a = np.flatnonzero((both.meta["group"] != "a") | both.meta["correct"])
    seqs = both.subset(only_good_a)  # a: 4 correct clips; b: 4 correct and 2 faulty
    model = ClipFormModel(CLASSES, estimator="logistic", c=1.0)
    scored = grouped_score(model, seqs, "binary")
    # holding b out leaves a's correct clips alone to fit on: b's clips get no reading, never a made-up one
    assert len(scored.unfitted) == 1 and scored.unfitted[0].startswith("b: ")
    assert "single class" in scored.unfitted[0]
    assert scored.metrics["n_clips_scored"] == 4 and scored.metrics["n_clips_without_window"] == 6
    assert "1 fold(s) could not be fitted" in scored.describe() and "2 training and validation groups" in (
        scored.describe()
    )

    one_verdict_each = both.subset(
        np.flatnonzero(both.meta["correct"].to_numpy() == (both.meta["group"] == "a"))
    )
    with pytest.raises(ValueError, match=r"scored no clip: a: .*single class.*; b: "):
        grouped_score(model, one_verdict_each, "binary")
    with pytest.raises(ValueError, match="at least 2 groups"):
        grouped_score(model, both.subset(np.flatnonzero(both.meta["group"] == "a")), "binary")


def test_the_gate_is_grouped_only_where_every_model_compared_refits_in_seconds():
    from liftsense.models.clip_model import ClipFormModel
    from training.promote import choose_gate

    clip = ClipFormModel(CLASSES)
    network = object()  # anything that is not a clip model: a FormClassifier or a rest-HR network
    assert choose_gate("auto", "binary", [clip]) == "groups"
    assert choose_gate("auto", "fault", [clip, clip]) == "groups"
    assert choose_gate("auto", "binary", [clip, network]) == "validation"
    assert choose_gate("auto", "rest_hr", [network]) == "validation"
    assert choose_gate("validation", "binary", [clip]) == "validation"
    with pytest.raises(ValueError, match="only clip models"):
        choose_gate("groups", "binary", [clip, network])


@pytest.mark.slow
def test_promote_judges_squats_over_every_training_date_where_two_validation_dates_cannot(tmp_path):
    """train.py's fold 2 validates on two squat dates that hold no correct clip: the validation gate cannot judge
    any model there, the grouped gate reads every training and validation date and can."""
    require_real_data("pose", "squat_3d")
    common = ["data=squat_3d", "model=clip_logistic", "split.fold=2", "logger.log_model=true"]
    train = run_entry_point("train.py", tmp_path, *common, "validation.enabled=false")
    assert train.returncode == 0, train.stderr[-3000:]
    run_id = re.findall(r"run ([0-9a-f]{32})", train.stdout + train.stderr)[-1]

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = mlflow.MlflowClient()
    home = tmp_path / "validation_gate"
    home.mkdir()
    (home / "mlflow.db").write_bytes((tmp_path / "mlflow.db").read_bytes())
    by_validation = run_entry_point(
        "promote.py", home, "--run-id", run_id, "--gate", "validation", *common,
        "logger.tracking_uri=sqlite:///" + str(home / "mlflow.db"),
    )  # fmt: skip
    assert by_validation.returncode == 0, by_validation.stderr[-3000:]
    assert (
        "gate: validation, the 141 clips of the validation group(s) 12042023, 21042023"
        in by_validation.stdout
    )
    assert "-> challenger (cannot be judged" in by_validation.stdout
    assert "promote.py's validation gate" not in by_validation.stderr  # the decision says it, once

    grouped = run_entry_point("promote.py", tmp_path, "--run-id", run_id, *common)
    assert grouped.returncode == 0, grouped.stderr[-3000:]
    said = re.search(r"gate: groups, (\d+) training and validation groups, (\d+) clips", grouped.stdout)
    assert said and int(said.group(1)) >= 8 and int(said.group(2)) > 600, grouped.stdout
    score, baseline = map(
        float,
        re.search(
            r"clip_f1 ([0-9.]+) \(baseline always_correct_clip_f1 ([0-9.]+)\)", grouped.stdout
        ).groups(),
    )
    assert score > baseline + 0.1, grouped.stdout  # leave one date out on squats: about 0.73 against 0.58
    version = client.get_model_version("posture-squat_3d-binary", "1")
    assert version.tags["promotion_gate"] == "groups" and version.tags["beats_baseline"] == "true"
    assert str(client.get_registered_model("posture-squat_3d-binary").aliases["champion"]) == "1"


def test_features_computed_once_judge_as_the_product_computes_them():
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.models.feature_cache import cached_feature_model

    seqs = lifters(LEANS)
    y = _targets(seqs)
    fit, judge = np.flatnonzero(seqs.meta["group"] != "d"), np.flatnonzero(seqs.meta["group"] == "d")
    cached = cached_feature_model(seqs, rep_curves=True)
    for settings in (
        {},
        {"drop_cues": ("heel",), "percentile_features": False},
        {"rep_curves": True, "pool_sides": True, "group_balance": "weight"},
    ):
        plain = ClipFormModel(CLASSES, c=1.0, **settings).fit(seqs.subset(fit), y[fit])
        once = cached(CLASSES, c=1.0, **settings).fit(seqs.subset(fit), y[fit])
        assert once.columns_ == plain.columns_
        np.testing.assert_allclose(
            once.predict_proba(seqs.subset(judge)), plain.predict_proba(seqs.subset(judge)), atol=1e-12
        )
    # a model whose features are not the table's is refused, never judged on the wrong features
    with pytest.raises(ValueError, match="not the cached table's"):
        cached(CLASSES, normalization="body").fit(seqs, y)
    with pytest.raises(ValueError, match="rep_curves"):
        cached_feature_model(seqs)(CLASSES, rep_curves=True).fit(seqs, y)
    twice = seqs.subset(np.array([0, 0, 1]))
    with pytest.raises(ValueError, match="must be unique"):
        cached_feature_model(twice)


@pytest.mark.slow
def test_a_gate_that_cannot_score_registers_nothing_and_says_why(tmp_path):
    """Promoted against a config whose groups cannot be scored (2 built-in subjects in 2 folds leave one subject
    for training and validation together, which cannot be split), promote.py registers nothing and says why."""
    from tests.conftest import SMALL_POSTURE

    train = run_entry_point(
        "train.py", tmp_path, *SMALL_POSTURE, "model=clip_logistic", "validation.enabled=false"
    )
    assert train.returncode == 0, train.stderr[-3000:]
    run_id = re.findall(r"run ([0-9a-f]{32})", train.stdout + train.stderr)[-1]
    tiny = [
        "data.synth.clips_per_exercise=6",
        "data.synth.subjects=2",
        "split.n_splits=2",
        "model=clip_logistic",
    ]
    promote = run_entry_point("promote.py", tmp_path, "--run-id", run_id, *tiny)
    assert promote.returncode == 2, promote.stdout + promote.stderr[-3000:]
    assert "nothing promoted: the groups gate cannot score the models: split: fold 0 of 2 leaves 1 group" in (
        promote.stderr
    )
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert not mlflow.MlflowClient().search_registered_models()
