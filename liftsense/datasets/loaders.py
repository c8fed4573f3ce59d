"""Every dataset a `data` config can name, loaded in one place (pose clips and rest-HR sessions).

The pipelines, the data-validation gate, the benchmarks and the coach all load data through here, so none of
them has to import another to get at a dataset (the gate used to import the pipelines, which import the gate).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from liftsense.pose.sequences import PoseSequences

POSE_DATASETS: tuple[str, ...] = (
    "builtin",
    "squat_3d",
    "pushup",
    "exercise_correction",
    "posetrainer",
    "table",
)


def load_sequences(data: dict[str, Any]) -> PoseSequences:
    """The dataset named by a `data` config (one of `POSE_DATASETS`)."""
    name = data["name"]
    if name == "builtin":
        from liftsense.pose.synth import SynthConfig, generate

        synth = dict(data.get("synth") or {})
        return generate(SynthConfig(**synth))
    if name == "squat_3d":
        from liftsense.datasets.real import load_squat_3d

        return load_squat_3d()
    if name == "pushup":
        from liftsense.datasets.real import load_pushup

        return load_pushup()
    if name == "exercise_correction":
        from liftsense.datasets.extra_pose import load_exercise_correction

        return load_exercise_correction(data.get("tasks"))
    if name == "posetrainer":
        from liftsense.datasets.extra_pose import load_posetrainer

        return load_posetrainer(data.get("exercises"))
    if name == "table":
        from liftsense.pose.table import read_table, table_to_sequences

        labels = pd.read_csv(data["labels"], dtype=str) if data.get("labels") else None
        if labels is not None and "correct" in labels:
            labels = labels.drop(columns="correct")
        return table_to_sequences(read_table(data["path"]), labels=labels, source=str(data["path"]))
    raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(POSE_DATASETS)}")


def load_sessions(data: dict[str, Any]) -> pd.DataFrame:
    """rest_builtin | rest_garmin | rest_physionet | rest_table (a CSV or Parquet in the session schema)."""
    name = data["name"]
    if name == "rest_builtin":
        from liftsense.resthr.simulate import SimConfig, simulate_sessions

        sim = {k: tuple(v) if isinstance(v, list) else v for k, v in (data.get("sim") or {}).items()}
        return simulate_sessions(SimConfig(**sim))
    if name == "rest_garmin":
        from liftsense.resthr.realdata import load_garmin

        return load_garmin()
    if name == "rest_physionet":
        from liftsense.resthr.realdata import load_physionet

        return load_physionet()
    if name == "rest_table":
        from liftsense.resthr.sessions import read_sessions

        return read_sessions(data["path"])
    raise ValueError(
        f"unknown rest dataset {name!r}; expected rest_builtin, rest_garmin, rest_physionet or rest_table"
    )
