"""Hydra composition: a dataset's own settings take effect, and the command line still has the last word."""

from pathlib import Path

import pytest

CONF = str(Path(__file__).resolve().parents[1] / "conf")


def compose(name: str, overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return hydra_compose(config_name=name, overrides=overrides)


@pytest.mark.parametrize("name", ["config", "evaluate"])
def test_a_dataset_sets_its_own_split_and_features(name):
    squats = compose(name, ["data=squat_3d"])  # 12 dates: 4 folds; 3-D joints: canonical coordinates
    assert squats.split.n_splits == 4 and squats.features.normalization == "canonical"
    default = compose(name, [])
    assert default.split.n_splits == 5 and default.features.normalization == "body"
    mine = compose(name, ["data=squat_3d", "split.n_splits=3", "features.normalization=floor"])
    assert mine.split.n_splits == 3 and mine.features.normalization == "floor"


@pytest.mark.parametrize("name", ["config", "evaluate"])
def test_squat_dates_weigh_per_task_and_an_explicit_choice_wins(name):
    # binary: each mixed date counts once, half correct and half faulty; faults: single-verdict dates left out
    assert compose(name, ["data=squat_3d"]).split.group_balance == "weight"
    assert compose(name, ["data=squat_3d", "task=fault"]).split.group_balance == "drop"
    assert compose(name, ["data=squat_3d", "split.group_balance=none"]).split.group_balance == "none"
    mine = compose(name, ["data=squat_3d", "data.group_balance_by_task.binary=drop"])
    assert mine.split.group_balance == "drop"
    # other data: groups are not sessions
    assert compose(name, []).split.get("group_balance", "none") == "none"


@pytest.mark.parametrize("name", ["config", "evaluate"])
def test_the_rep_curve_and_pooled_sides_are_off_unless_asked_for(name):
    for task in ("binary", "fault"):
        squats = compose(name, ["data=squat_3d", f"task={task}"]).data
        assert (squats.rep_curves, squats.pool_sides) == (False, False)
    mine = compose(name, ["data=squat_3d", "task=fault", "data.rep_curves=true", "data.pool_sides=true"]).data
    assert (mine.rep_curves, mine.pool_sides) == (True, True)
    assert "rep_curves" not in compose(name, []).data  # other data: the model's default, off


def test_task_and_logger_settings_survive_the_order():
    assert compose("evaluate", ["data=squat_3d"]).logger.experiment == "posture-evaluation"
    rest = compose("config", ["task=rest_hr"])
    assert rest.data.name == "rest_builtin" and rest.model.name == "rest_lstm" and rest.task.name == "rest_hr"
