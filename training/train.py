"""Train a model: `python training/train.py model=cnn` (form) or `task=rest_hr model=rest_lstm` (rest HR).

See conf/ for every option.
"""

from __future__ import annotations

import logging
import os

import hydra
from omegaconf import DictConfig, OmegaConf

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
log = logging.getLogger("train")


def train_posture(cfg: DictConfig) -> float | None:
    from liftsense.evaluation.verdict import baseline_verdict
    from liftsense.pipelines.posture import run

    result = run(OmegaConf.to_container(cfg, resolve=True))
    if result.get("ddp_worker"):  # rank 0 reports
        return None
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
    log.info(baseline_verdict(m, cfg.task.name))
    log.info("see the run: %s", _where_to_look(cfg.logger.tracking_uri, result["run_id"]))
    return float(m[key])


def train_rest_hr(cfg: DictConfig) -> float:
    from liftsense.pipelines.rest_hr import run

    result = run(OmegaConf.to_container(cfg, resolve=True))
    m = result["metrics"]
    log.info(
        "run %s: test 60 s forecast MAE %.2f bpm (persistence %.2f, population curve %.2f, mono-exponential %.2f, "
        "ridge %.2f); target HR MAE %.2f, rest time MAE %.1f s on %d full rests",
        result["run_id"],
        m["mae_60s"],
        m["baseline_persistence_mae_60s"],
        m["baseline_population_mean_curve_mae_60s"],
        m["baseline_mono_exponential_mae_60s"],
        m["baseline_ridge_on_context_mae_60s"],
        m["target_hr_mae"],
        m["rest_time_mae_s"],
        m["n_full_rests"],
    )
    log.info("see the run: %s", _where_to_look(cfg.logger.tracking_uri, result["run_id"]))
    return float(m["mae_60s"])


def _where_to_look(tracking_uri: str, run_id: str) -> str:
    from liftsense.datasets.paths import REPO_ROOT
    from liftsense.tracking import is_server, run_url

    url = run_url(tracking_uri, run_id)
    if is_server(tracking_uri):
        return url
    start = f"mlflow ui --backend-store-uri {tracking_uri} --workers 1"
    if tracking_uri == f"sqlite:///{REPO_ROOT / 'mlflow.db'}":
        start = "make mlflow-ui"
    return f"start the UI ({start}) and open {url}"


def _last_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:300] if text else type(exc).__name__


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    from liftsense.console import quiet_known_noise

    quiet_known_noise()
    from data_validation.gate import DataValidationFailed
    from liftsense.datasets.paths import RealDataMissing
    from liftsense.tracking import tracking_outage

    try:
        score = train_rest_hr(cfg) if cfg.task.name == "rest_hr" else train_posture(cfg)
    except DataValidationFailed as exc:
        log.error("the dataset failed its validation gate; nothing was trained:\n%s", exc)
        raise SystemExit(1) from None
    except RealDataMissing as exc:
        log.error("nothing trained: %s", exc)
        raise SystemExit(1) from None
    except Exception as exc:
        if not tracking_outage(exc):
            raise
        log.error(
            "training stopped: the MLflow tracking server at %s stopped answering (%s). The run did not finish: "
            "no model was logged and nothing was registered; run the command again once the server is back.",
            cfg.logger.tracking_uri,
            _last_line(exc),
        )
        raise SystemExit(1) from None
    return score


if __name__ == "__main__":
    main()
