"""The sweep's PostgreSQL storage rides out a server restart and gives up on an outage after its window."""

import threading
import time

import pytest


def _study(url: str, ride_out_s: float):
    import optuna

    from liftsense.study_storage import study_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(study_name="ride", storage=study_storage(url, ride_out_s=ride_out_s))


def _one_trial(study) -> None:
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)


def test_trials_keep_running_through_a_restart_and_stop_after_the_window_of_an_outage(postgres):
    import optuna

    study = _study(postgres.create_database("ride_out"), ride_out_s=3)
    _one_trial(study)
    restart = threading.Thread(target=postgres.restart)
    restart.start()
    during = 0
    while restart.is_alive():  # storage calls land while the server shuts down, is down and starts up
        _one_trial(study)
        during += 1
    restart.join()
    _one_trial(study)
    states = [t.state.name for t in study.get_trials()]
    assert states == ["COMPLETE"] * (2 + during), states

    postgres.stop()
    try:
        t0 = time.monotonic()
        with pytest.raises(optuna.exceptions.StorageInternalError):
            _one_trial(study)
        assert 3 <= time.monotonic() - t0 < 15  # waited out the window, then gave up
    finally:
        postgres.start()
    assert len(study.get_trials()) == 2 + during  # the outage recorded nothing half-done
