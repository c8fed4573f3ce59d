"""Register a model and promote it: `python training/promote.py --run-id ID` or `--sweep` (the sweep's best trial).

Other arguments are train.py overrides naming the task and data (`model=cnn`, `task=rest_hr model=rest_lstm`, ...): the
candidate and the current champion are both scored on the same data of that config, never its test groups. The
candidate gets the `champion` alias only if it is better and beats the task's best simple baseline on that data
(posture: always "correct" / always the majority class; rest HR: persistence, population curve, mono-exponential,
ridge); otherwise `challenger`, with the reason tagged on the version, and it is never served.

The gate (`--gate`): clip models are scored by their settings refitted with each training and validation group left
out in turn (`liftsense.pipelines.grouped_gate`), so a few sessions' validation split does not decide alone;
networks, which take minutes to refit, on the split's validation groups.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


GATES = ("auto", "groups", "validation")


def load_model(cfg: dict, model_uri: str):
    """A logged model of the config's task: a rest-HR network, or a form model (a network or a clip model)."""
    if cfg["task"]["name"] == "rest_hr":
        import mlflow.pytorch

        return mlflow.pytorch.load_model(model_uri, map_location="cpu")
    from liftsense.pipelines.posture import load_classifier

    return load_classifier(model_uri=model_uri)


def choose_gate(requested: str, task: str, models: list) -> str:
    """`groups` (the settings refitted without each group in turn) where every model to compare is a clip model,
    which refits in seconds; `validation` (the config's validation groups) otherwise. An explicit request is
    refused where it cannot apply, rather than silently changed."""
    from liftsense.models.clip_model import ClipFormModel

    clip_models = task != "rest_hr" and all(isinstance(m, ClipFormModel) for m in models)
    if requested == "groups" and not clip_models:
        raise ValueError(
            "--gate groups refits each model on other groups, which only clip models do in seconds: the candidate "
            "or the champion here is a network (or a rest-HR model); use --gate validation or auto"
        )
    if requested == "auto":
        return "groups" if clip_models else "validation"
    return requested


def validation_data(cfg: dict):
    """What every model compared is scored on, loaded once: rest HR's prepared examples, or the posture clips."""
    if cfg["task"]["name"] == "rest_hr":
        from liftsense.datasets.loaders import load_sessions
        from liftsense.pipelines.rest_hr import prepare

        return prepare(cfg, load_sessions(cfg["data"]))
    from liftsense.datasets.loaders import load_sequences

    return load_sequences(cfg["data"])


def validation_score(cfg: dict, module, gate: str, data) -> tuple[float, object, tuple[str, float], str]:
    """The task's validation metric for a model on `validation_data(cfg)`, the part of it the model was scored on
    (rest HR: the prepared examples; posture: the clips), the best simple baseline's score on the same part (rest
    HR: fitted on the training split) and how it was scored. Every model compared is scored on the same data by
    the same gate."""
    from liftsense.registry import BASELINE_METRIC, VALIDATION_METRIC

    task = cfg["task"]["name"]
    metric, _ = VALIDATION_METRIC[task]
    if task == "rest_hr":
        from liftsense.resthr.recovery import BASELINES, horizon_mae

        prep = data
        scores = {}
        for cls in BASELINES:
            b = cls().fit(prep.train)
            scores[b.name] = horizon_mae(b.predict(prep.val), prep.val, (60,))[metric]
        best = min(scores, key=lambda k: scores[k] if np.isfinite(scores[k]) else np.inf)
        model_score = horizon_mae(module.forecast(prep.val), prep.val, (60,))[metric]
        return model_score, prep, (best, scores[best]), "the validation sessions"
    from liftsense.pipelines.posture import score, split_clips

    seqs = data
    baseline = BASELINE_METRIC[task]
    if gate == "groups":
        from liftsense.pipelines.grouped_gate import gate_clips, grouped_score

        scored = grouped_score(module, gate_clips(cfg, seqs), task)
        metrics, scored_on, how = scored.metrics, scored.clips, scored.describe()
    else:
        val = seqs.subset(split_clips(cfg, seqs, warn_one_class=False)[1])  # the model's own preprocessing
        metrics, scored_on = score(module, val, task)[0], val
        groups = sorted(set(val.meta["group"].astype(str)))
        how = f"the {len(val)} clips of the validation group(s) {', '.join(groups)}"
    return (
        metrics[metric],
        scored_on,
        (baseline.removeprefix("baseline_"), metrics.get(baseline, np.nan)),
        how,
    )


def main(argv: list[str]) -> int:
    from liftsense.console import quiet_known_noise

    quiet_known_noise()
    parser = argparse.ArgumentParser(prog="python training/promote.py", description=__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run-id", help="an MLflow run with a logged model")
    which.add_argument("--sweep", action="store_true", help="the best trial of this config's sweep")
    parser.add_argument(
        "--gate",
        choices=GATES,
        default="auto",
        help="how models are scored: groups = each training and validation group in turn scored by the model's "
        "settings refitted without it (clip models); validation = the split's validation groups; auto (default) = "
        "groups where the candidate and the champion are clip models",
    )
    args, overrides = parser.parse_known_args(argv)

    import mlflow
    from omegaconf import OmegaConf

    from liftsense import registry
    from training.sweep import compose

    root = os.environ.get("LIFTSENSE_HOME", os.getcwd())
    cfg = OmegaConf.to_container(compose([f"paths.root_dir={root}", *overrides]), resolve=False)
    cfg["paths"]["output_dir"] = root
    cfg = OmegaConf.to_container(OmegaConf.create(cfg), resolve=True)
    from liftsense.tracking import TrackingUnavailable, require_reachable

    try:
        require_reachable(cfg["logger"]["tracking_uri"])
    except TrackingUnavailable as exc:
        print(f"nothing promoted: {exc}", file=sys.stderr)
        return 1
    mlflow.set_tracking_uri(cfg["logger"]["tracking_uri"])
    client = mlflow.MlflowClient()
    run_id = args.run_id or _best_trial_run(client, cfg, overrides)
    status = client.get_run(run_id).info.status
    if (
        status != "FINISHED"
    ):  # e.g. training cut off by a tracking outage: its model may be missing or partial
        print(
            f"nothing promoted: run {run_id} is {status}, not FINISHED; only finished runs are registered",
            file=sys.stderr,
        )
        return 1
    task, data = cfg["task"]["name"], cfg["data"]["name"]
    metric, higher = registry.VALIDATION_METRIC[task]
    module = load_model(cfg, f"runs:/{run_id}/model")
    name = registry.registered_name(task, data, calibrated=bool(getattr(module, "calibration", 0)))
    existing = registry.version_of_run(name, run_id)
    if existing is not None:  # promote.py run again: the decision stands
        decision = existing.tags.get("promotion_decision", "not decided")
        print(f"{name} v{existing.version} is already run {run_id} ({decision}): nothing registered")
        return 0
    current = registry.champion_version(name)
    champion_module = None if current is None else load_model(cfg, f"models:/{name}/{current}")
    try:
        gate = choose_gate(
            args.gate, task, [module, *([champion_module] if champion_module is not None else [])]
        )
    except ValueError as exc:
        print(f"nothing promoted: {exc}", file=sys.stderr)
        return 2
    try:  # both scored before anything is registered: a gate that cannot score either registers nothing
        loaded = validation_data(cfg)
        candidate, scored_on, baseline, how = validation_score(cfg, module, gate, loaded)
        champion = (
            None if champion_module is None else validation_score(cfg, champion_module, gate, loaded)[0]
        )
    except ValueError as exc:  # e.g. the grouped gate could fit no fold
        print(f"nothing promoted: the {gate} gate cannot score the models: {exc}", file=sys.stderr)
        return 2
    print(f"gate: {gate}, {how}")
    if gate == "validation" and client.get_run(run_id).data.metrics.get("test_refit") == 1.0:
        print(
            "warning: this run's model was refitted on every group (split.refit=true), the validation groups "
            "included, so its validation score below is optimistic; its honest group-split scores are the run's "
            "test_* metrics (the grouped gate, --gate groups, refits without each group and is not)",
            file=sys.stderr,
        )
    spec = (
        registry.rest_feature_spec(module, scored_on.val.horizons)
        if task == "rest_hr"
        else registry.posture_feature_spec(module)
    )
    version = registry.register(run_id, name, spec, {"source_run": run_id, "task": task, "data": data})
    decision = registry.decide(
        candidate, champion, higher, baseline, _cannot_judge(task, module, scored_on, gate)
    )
    registry.apply(name, version, decision, metric, {"promotion_gate": gate})
    print(
        f"{name} v{version}: validation {metric} {candidate:.4f} (baseline {baseline[0]} {baseline[1]:.4f}) -> "
        f"{decision.alias} ({decision.reason})"
    )
    return 0


def _cannot_judge(task: str, module, scored_on, gate: str = "validation") -> str | None:
    """Why the scored clips cannot rank a posture model against its baseline (one class only), with the fix."""
    if task == "rest_hr":
        return None
    from liftsense.evaluation.metrics import one_class_reason
    from liftsense.pipelines.posture import model_classes

    reason = one_class_reason(task, scored_on.meta, model_classes(module))
    if reason is None:
        return None
    if gate == "groups":
        return f"{reason}; the training and validation groups need clips of more than one class"
    return (
        f"{reason}; choose validation groups holding more than one (another split.fold, or a larger "
        "split.val_fraction), or score a clip model with --gate groups"
    )


def _best_trial_run(client, cfg, overrides) -> str:
    from omegaconf import OmegaConf

    from training.sweep import compose

    probe = compose([f"paths.root_dir={cfg['paths']['root_dir']}", *overrides])
    with_sweep = compose(
        [f"paths.root_dir={cfg['paths']['root_dir']}", f"sweep={probe.model.name}", *overrides]
    )
    study = OmegaConf.to_container(with_sweep.sweep, resolve=True)["study_name"]
    experiment = client.get_experiment_by_name(cfg["logger"]["experiment"])
    (parent,) = client.search_runs([experiment.experiment_id], f"tags.sweep_study = '{study}'")
    best = parent.data.tags["best_trial"]
    (run,) = client.search_runs(
        [experiment.experiment_id],
        f"tags.optuna_study = '{study}' and tags.optuna_trial = '{best}' and tags.trial_state = 'COMPLETE'",
    )
    return run.info.run_id


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    raise SystemExit(main(sys.argv[1:]))
