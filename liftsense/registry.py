"""The MLflow Model Registry: one registered model per task, a feature spec for serving, champion promotion.

Promotion rule: a candidate version becomes `champion` only if it beats the current champion on the task's
validation metric, both scored now on the same validation data; otherwise it becomes `challenger`. Every decision is
tagged on the version (`promotion_decision`, `promotion_reason`, the two scores).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

#: task -> (metric name, higher is better)
VALIDATION_METRIC = {
    "binary": ("clip_f1", True),
    "fault": ("clip_macro_f1", True),
    "rest_hr": ("mae_60s", False),
}


#: posture task -> the validation metric of its trivial baseline, scored on the same clips by `evaluate`
BASELINE_METRIC = {"binary": "baseline_always_correct_clip_f1", "fault": "baseline_majority_clip_macro_f1"}


def registered_name(task: str, data: str, calibrated: bool = False) -> str:
    """One name per task and dataset, e.g. posture-builtin-binary, posture-squat_3d-binary, rest-hr-rest_builtin.

    Calibrated clip models (they need the lifter's reference reps, a different serving contract, and are scored
    on other clips) get their own name, `...-calibrated`, so they never compete with uncalibrated ones.
    """
    if task == "rest_hr":
        return f"rest-hr-{data}"
    return f"posture-{data}-{task}" + ("-calibrated" if calibrated else "")


def posture_feature_spec(module) -> dict[str, Any]:
    """Everything a service needs to rebuild the model's input without the training config."""
    from liftsense.models.clip_model import ClipFormModel
    from liftsense.pose.landmarks import BLAZEPOSE_NAMES, JOINT_ANGLES, KEPT_LANDMARKS

    common = {
        "landmark_indices": list(KEPT_LANDMARKS),
        "landmark_names": [BLAZEPOSE_NAMES[i] for i in KEPT_LANDMARKS],
        "angles": [
            {"name": a.name, "proximal": a.proximal, "vertex": a.vertex, "distal": a.distal}
            for a in JOINT_ANGLES
        ],
    }
    if isinstance(module, ClipFormModel):
        return {
            "kind": "posture-clip",
            **common,
            "normalization": module.normalization,
            "rep_features": module.rep_features,
            "rep_curves": module.rep_curves,
            "pool_sides": module.pool_sides,
            "calibration": module.calibration,
            "feature_columns": module.columns_,
            "classes": module.classes,
            "input": "one clip of BlazePose landmarks (frames, 33, 4); output: class probabilities, NaN = no reading"
            + (
                f"; calibrated: also {module.calibration} reference clips of the lifter's correct form"
                if module.calibration
                else ""
            ),
        }
    pre = module.hparams.preprocessing
    return {
        "kind": "posture",
        **common,
        "features": pre["features"],
        "scaler": pre["scaler"],
        "classes": list(pre["classes"]),
        "input": "float32 (batch, window, n_features) after the scaler; output: class probabilities",
    }


def rest_feature_spec(module, horizons) -> dict[str, Any]:
    from liftsense.resthr.examples import CONTEXT

    return {
        "kind": "rest_hr",
        "context": list(CONTEXT),
        "horizons_s": [float(h) for h in horizons],
        "preprocessing": module.hparams.preprocessing,
        "input": "set HR trace (steps, 2), lengths, context; output: HR change (bpm) per horizon",
    }


#: MLflow caps a tag value at 5,000 characters
TAG_LIMIT = 4900


def spec_tag(spec: dict[str, Any], run_id: str) -> str:
    """The spec as JSON for a version tag; when too long for a tag, its long lists are replaced by a pointer to
    the full spec (the run's `feature_spec.json`) rather than cut into invalid JSON."""
    text = json.dumps(spec)
    if len(text) <= TAG_LIMIT:
        return text
    where = f"runs:/{run_id}/feature_spec.json"
    short = {k: (f"see {where}" if len(json.dumps(v)) > 200 else v) for k, v in spec.items()}
    return json.dumps({**short, "full_spec": where})


def version_of_run(name: str, run_id: str) -> Any | None:
    """The version of `name` already registered from this run, if any: promoting a run twice registers it once."""
    import mlflow

    client = mlflow.MlflowClient()
    try:
        client.get_registered_model(name)
    except mlflow.exceptions.MlflowException:
        return None
    versions = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    return min(versions, key=lambda v: int(v.version)) if versions else None


def register(run_id: str, name: str, spec: dict[str, Any], tags: dict[str, str] | None = None) -> str:
    """Register the run's logged model under `name`; the feature spec goes with the run and on the version."""
    import mlflow

    client = mlflow.MlflowClient()
    client.log_dict(run_id, spec, "feature_spec.json")
    version = mlflow.register_model(f"runs:/{run_id}/model", name)
    client.set_model_version_tag(name, version.version, "feature_spec", spec_tag(spec, run_id))
    for k, v in (tags or {}).items():
        client.set_model_version_tag(name, version.version, k, str(v))
    return str(version.version)


@dataclass
class Decision:
    alias: str
    candidate: float
    champion: float | None
    reason: str
    beats_baseline: bool | None = None  # None: no baseline score to compare with


#: the version tag that lets a champion be served: "true" only when it beat its baseline at promotion
BASELINE_TAG = "beats_baseline"


def decide(
    candidate: float,
    champion: float | None,
    higher_is_better: bool,
    baseline: tuple[str, float] | None = None,
    cannot_judge: str | None = None,
) -> Decision:
    """The rule alone (testable without MLflow). A candidate that does not beat its task's best simple baseline
    on the same validation data never becomes champion, whatever the current champion; nor does one whose
    validation data cannot tell models apart (`cannot_judge`: why, e.g. `evaluation.metrics.one_class_reason`)."""
    word = "higher" if higher_is_better else "lower"
    if cannot_judge:
        return Decision("challenger", candidate, champion, f"cannot be judged: {cannot_judge}: never served")
    passed = None
    if baseline is not None and np.isfinite(baseline[1]):
        name, score = baseline
        passed = bool(
            np.isfinite(candidate) and (candidate > score if higher_is_better else candidate < score)
        )
        if not passed:
            return Decision(
                "challenger",
                candidate,
                champion,
                f"{candidate:.4f} does not beat the baseline ({name}: {score:.4f}, {word} is better): "
                "never served",
                False,
            )
    if champion is None:
        return Decision("champion", candidate, None, "no champion yet", passed)
    better = candidate > champion if higher_is_better else candidate < champion
    if better:
        return Decision(
            "champion",
            candidate,
            champion,
            f"{candidate:.4f} beats the champion's {champion:.4f} ({word} is better)",
            passed,
        )
    return Decision(
        "challenger",
        candidate,
        champion,
        f"{candidate:.4f} does not beat the champion's {champion:.4f} ({word} is better)",
        passed,
    )


def champion_version(name: str) -> str | None:
    """The version holding the `champion` alias; None when there is none, or no model of that name yet."""
    import mlflow

    try:
        aliases = (
            mlflow.MlflowClient().get_registered_model(name).aliases
        )  # reliable (search_model_versions is not)
    except mlflow.exceptions.MlflowException:
        return None
    current = aliases.get("champion")
    return None if current is None else str(current)  # MLflow 3 returns the version as an int here


def apply(
    name: str, version: str, decision: Decision, metric: str, tags: dict[str, str] | None = None
) -> None:
    """Set the decision's alias and tag the version with the decision, its scores and any further `tags`."""
    import mlflow

    client = mlflow.MlflowClient()
    client.set_registered_model_alias(name, decision.alias, version)
    for k, v in {
        "promotion_decision": decision.alias,
        "promotion_reason": decision.reason,
        f"validation_{metric}": f"{decision.candidate:.6f}",
        "champion_validation_" + metric: "" if decision.champion is None else f"{decision.champion:.6f}",
        BASELINE_TAG: {True: "true", False: "false", None: "unknown"}[decision.beats_baseline],
        **(tags or {}),
    }.items():
        client.set_model_version_tag(name, version, k, v)


def serving_refusal(model_uri: str) -> str | None:
    """Why a registry alias (`models:/NAME@ALIAS`) must not be served, or None. Only a version that beat its
    task's baseline at promotion is served: one promoted before that check existed, or by setting the alias by
    hand, may be worse than always answering the majority class, so it waits for `training/promote.py`."""
    if not model_uri.startswith("models:/") or "@" not in model_uri:
        return None  # a run or a version the user named: their choice
    import mlflow

    name, alias = model_uri.removeprefix("models:/").split("@", 1)
    version = mlflow.MlflowClient().get_model_version_by_alias(name, alias)
    verdict = version.tags.get(BASELINE_TAG)
    if verdict == "true":
        return None
    why = "lost to its baseline" if verdict == "false" else "was never checked against its baseline"
    return (
        f"{name} v{version.version} is {alias} but {why}: not served (promote one that beats the baseline with "
        "training/promote.py)"
    )
