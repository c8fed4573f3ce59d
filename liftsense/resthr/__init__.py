"""Rest between sets, ended by the lifter's own heart rate.

- `sessions`: the session table (time, heart_rate, heart_rate_change, state, id, RPE), validation, sets and rests.
- `simulate`: built-in HR sessions of resistance training (the default data).
- `realdata`: Garmin FIT strength sessions and PhysioNet bike sprints converted to the session table.
- `examples`: (set just done -> coming rest) examples with nothing after the set end in the input.
- `recovery`: baselines, the target-HR rule and the online update of a forecast.
- `forecast`: what a lifter gets: `RestForecaster` (the best simple forecaster on validation rests, its band,
  target and rest; `update` from the rest's samples), `SetDone`, `fitted_rest_forecaster`; a registry rest
  network joins the candidates as a `TrainedNetwork` (`servable_rest_network` says whether one may be offered).
- `live`: a band's session as it happens (`LiveSession`): heart rate, sets and rests, forecasts, "rest over".
"""

from liftsense.resthr.forecast import (
    RestForecast,
    RestForecaster,
    SetDone,
    TrainedNetwork,
    fitted_rest_forecaster,
    servable_rest_network,
)
from liftsense.resthr.live import Decision, LiveSession, Phase, Reading

__all__ = [
    "Decision",
    "LiveSession",
    "Phase",
    "Reading",
    "RestForecast",
    "RestForecaster",
    "SetDone",
    "TrainedNetwork",
    "fitted_rest_forecaster",
    "servable_rest_network",
]
