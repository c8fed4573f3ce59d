"""Score a tracked model or a checkpoint on any configured dataset (held-out data is scored this way).

`output_json=FILE` writes the metrics and one row per clip (id, label, prediction, probability). A table without
labels (`data=table data.path=mine.parquet` from the extraction CLI without --label) gets predictions only.
Rest-HR models: `task=rest_hr data=rest_garmin|rest_physionet|rest_builtin|rest_table model_uri=...`, scored on
every rest of the data (or its test fold) with the baselines beside them.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
log = logging.getLogger("evaluate")


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from liftsense.console import quiet_known_noise

    quiet_known_noise()
    from liftsense.datasets.loaders import load_sequences
    from liftsense.datasets.splits import train_val_test
    from liftsense.pipelines.posture import clip_predictions, load_classifier, score
    from liftsense.tracking import setup_mlflow

    c = OmegaConf.to_container(cfg, resolve=True)
    experiment = c["logger"]["experiment"]
    if c["model_uri"]:  # runs:/ and models:/ URIs resolve against the tracking store
        setup_mlflow(c["logger"]["tracking_uri"], experiment, c["logger"]["artifact_location"])
    if c["task"]["name"] == "rest_hr":
        metrics, source = _score_rest(c)
        _report(c, metrics, source)
        return
    module = load_classifier(c["model_uri"], c["checkpoint"])
    seqs = load_sequences(c["data"])
    subset, why = _which_clips(c, seqs)
    n_all = len(seqs)
    if subset == "test":
        s = c["split"]
        seqs = seqs.subset(
            train_val_test(seqs.meta, s["n_splits"], s["fold"], s["val_fraction"], c["seed"])[2]
        )
        log.info("scoring the %d test-fold clips of %d in %s: %s", len(seqs), n_all, seqs.source, why)
    else:
        log.info("scoring all %d clips of %s: %s", n_all, seqs.source, why)
    clips = clip_predictions(module, seqs)
    if (seqs.meta["label"].astype(str) == "unknown").all():  # an unlabelled table: predictions, no metrics
        log.info("the data has no labels: %d clips predicted, no metrics", len(clips))
        counts = Counter(r["prediction"] or "no reading" for r in clips)
        for name, n in sorted(counts.items()):
            log.info("%-34s %d", name, n)
        if c["output_json"]:
            Path(c["output_json"]).write_text(json.dumps({"labelled": False, "clips": clips}, indent=2))
        return
    metrics, _, _ = score(module, seqs, c["task"]["name"])
    for key in (
        "clip_f1",
        "clip_macro_f1",
        "clip_accuracy",
        "window_accuracy",
        "baseline_always_correct_clip_f1",
    ):
        if key in metrics:
            log.info("%-34s %.4f", key, metrics[key])
    if c["output_json"]:
        Path(c["output_json"]).write_text(json.dumps({**metrics, "labelled": True, "clips": clips}, indent=2))
    _log(c, metrics, seqs.source)


def _which_clips(c: dict, seqs) -> tuple[str, str]:
    """`subset=auto`: the test fold when the model was trained on this very data (its run's data fingerprint),
    else every clip, since none of them was seen in training."""
    from liftsense.tracking import fingerprint, trained_fingerprint

    if c["subset"] in ("test", "all"):
        return c["subset"], f"subset={c['subset']}"
    trained_on = trained_fingerprint(c["model_uri"])
    if trained_on is None:
        return "all", "which data the model trained on is unknown; subset=test scores the held-out fold only"
    if trained_on == fingerprint(seqs.landmarks, seqs.offsets, seqs.meta["label"].to_numpy()):
        return "test", "the model trained on this data, so only the fold it never saw is scored"
    return "all", "the model never trained on this data"


def _log(c: dict, metrics: dict, source: str) -> None:
    if not c["log_to_mlflow"]:
        return
    import mlflow

    from liftsense.tracking import flatten, setup_mlflow

    exp_id = setup_mlflow(
        c["logger"]["tracking_uri"], c["logger"]["experiment"], c["logger"]["artifact_location"]
    )
    with mlflow.start_run(experiment_id=exp_id, run_name=c["logger"]["run_name"]):
        mlflow.log_params({k: v for k, v in flatten(c).items() if not k.startswith("logger.")})
        mlflow.set_tags({"evaluated_model": c["model_uri"] or c["checkpoint"], "data_source": source})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})


def _score_rest(c: dict) -> tuple[dict, str]:
    """A rest-HR model on every rest of the data, or on its test fold (`subset=test`, the training split)."""
    from liftsense.datasets.loaders import load_sessions
    from liftsense.pipelines.rest_hr import load_rest_model, prepare, score_rest_model
    from liftsense.resthr.examples import ExampleConfig, build_examples
    from liftsense.resthr.recovery import TargetRule
    from liftsense.resthr.sessions import SkipLog, bouts

    if not str(c["data"]["name"]).startswith("rest_"):
        raise ValueError(
            f"task=rest_hr scores rest data (data=rest_builtin|rest_garmin|...), not {c['data']['name']}"
        )
    module = load_rest_model(c["model_uri"], c["checkpoint"])
    sessions = load_sessions(c["data"])
    task = c["task"]
    subset = c["subset"]
    if subset == "auto":  # the test fold when the model trained on these very sessions
        from liftsense.tracking import fingerprint, trained_fingerprint

        seen = fingerprint(sessions["time"].to_numpy(), sessions["heart_rate"].to_numpy())
        subset = "test" if trained_fingerprint(c["model_uri"]) == seen else "all"
    log.info("scoring %s rests of %s", "the test fold's" if subset == "test" else "all", c["data"]["name"])
    if subset == "test":
        examples = prepare({"task": task, "split": c["split"], "seed": c["seed"]}, sessions).test
    else:
        all_bouts = bouts(sessions, task.get("min_set_s", 5.0), task.get("max_set_s", 600.0), SkipLog())
        examples = build_examples(all_bouts, ExampleConfig(**(task.get("examples") or {})))
    return score_rest_model(module, examples, TargetRule(**(task.get("target_rule") or {}))), c["data"][
        "name"
    ]


def _report(c: dict, metrics: dict, source: str) -> None:
    for key in sorted(k for k in metrics if k.startswith(("mae_60s", "baseline_", "target_hr_mae"))):
        if "60s" in key or key.startswith("target_hr"):
            log.info("%-44s %.3f", key, metrics[key])
    if c["output_json"]:
        Path(c["output_json"]).write_text(json.dumps(metrics, indent=2))
    _log(c, metrics, source)


if __name__ == "__main__":
    main()
