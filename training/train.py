"""Train a form classifier: `python training/train.py model=cnn` (see conf/ for every option)."""

from __future__ import annotations

import logging
import os

import hydra
from omegaconf import DictConfig, OmegaConf

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
log = logging.getLogger("train")


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from liftsense.pipelines.posture import run

    result = run(OmegaConf.to_container(cfg, resolve=True))
    m = result["metrics"]
    key = "clip_macro_f1" if cfg.task.name == "fault" else "clip_f1"
    log.info(
        "run %s: test %s = %.3f (always-correct baseline clip F1 %.3f), clip accuracy %.3f",
        result["run_id"],
        key,
        m[key],
        m["baseline_always_correct_clip_f1"],
        m["clip_accuracy"],
    )
    log.info("open the MLflow UI: mlflow ui --backend-store-uri %s --workers 1", cfg.logger.tracking_uri)
    return float(m[key])


if __name__ == "__main__":
    main()
