"""Score a tracked model or a checkpoint on any configured dataset (held-out data is scored this way).

`output_json=FILE` writes the metrics and one row per clip (id, label, prediction, probability). A table without
labels (`data=table data.path=mine.parquet` from the extraction CLI without --label) gets predictions only.
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
    from liftsense.datasets.loaders import load_sequences
    from liftsense.datasets.splits import train_val_test
    from liftsense.pipelines.posture import clip_predictions, load_classifier, score
    from liftsense.tracking import flatten, setup_mlflow

    c = OmegaConf.to_container(cfg, resolve=True)
    experiment = c["logger"]["experiment"]
    if c["model_uri"]:  # runs:/ and models:/ URIs resolve against the tracking store
        setup_mlflow(c["logger"]["tracking_uri"], experiment, c["logger"]["artifact_location"])
    module = load_classifier(c["model_uri"], c["checkpoint"])
    seqs = load_sequences(c["data"])
    if c["subset"] == "test":
        s = c["split"]
        seqs = seqs.subset(
            train_val_test(seqs.meta, s["n_splits"], s["fold"], s["val_fraction"], c["seed"])[2]
        )
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
    if c["log_to_mlflow"]:
        import mlflow

        exp_id = setup_mlflow(c["logger"]["tracking_uri"], experiment, c["logger"]["artifact_location"])
        with mlflow.start_run(experiment_id=exp_id, run_name=c["logger"]["run_name"]):
            mlflow.log_params({k: v for k, v in flatten(c).items() if not k.startswith("logger.")})
            mlflow.set_tags(
                {"evaluated_model": c["model_uri"] or c["checkpoint"], "data_source": seqs.source}
            )
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})


if __name__ == "__main__":
    main()
