"""Optuna sweep: `python training/sweep.py model=cnn sweep.n_trials=20` (any train.py override flows into every trial).

Resumes the study of the same name after a crash or Ctrl-C; start the same command in several terminals (or hosts,
with `sweep.storage=postgresql://...`) to share one study. Trials run in this process via Hydra's compose API.
The best trial's config is saved as `<root>/sweeps/<study>/best_config.yaml` for
`python training/train.py --config-dir <root>/sweeps/<study> --config-name best_config`.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
CONF = str(Path(__file__).resolve().parents[1] / "conf")
log = logging.getLogger("sweep")


def compose(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides)


def main(argv: list[str]) -> int:
    from liftsense.console import quiet_known_noise

    quiet_known_noise()
    from omegaconf import OmegaConf

    from liftsense.sweep import StorageUnavailable, best_overrides, run_sweep

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("train").setLevel(logging.INFO)  # a trial's epoch lines: progress inside it
    root = os.environ.get("LIFTSENSE_HOME", os.getcwd())
    user = [a for a in argv if not a.startswith("-")]
    base = [f"paths.root_dir={root}"]
    probe = compose([*base, *(a for a in user if not a.startswith("sweep."))])
    if not any(a.startswith("sweep=") for a in user):
        user = [f"sweep={probe.model.name}", *user]
    cfg = compose([*base, *user])
    if int(OmegaConf.select(cfg, "trainer.devices", default=1)) > 1:
        print(
            "sweep not started: trainer.devices > 1. A sweep runs its trials in this process; scale it out with "
            "more workers on one study (docs/deploy.md), then train the best config with DDP.",
            file=sys.stderr,
        )
        return 2
    scfg = OmegaConf.to_container(cfg.sweep, resolve=True)
    sweep_dir = Path(root) / "sweeps" / scfg["study_name"]
    worker = uuid.uuid4().hex[:8]  # parallel workers never share an output folder

    import mlflow

    from liftsense.tracking import TrackingUnavailable, setup_mlflow

    lcfg = OmegaConf.to_container(cfg.logger, resolve=True)
    try:
        experiment = setup_mlflow(lcfg["tracking_uri"], lcfg["experiment"], lcfg.get("artifact_location"))
    except TrackingUnavailable as exc:
        print(f"sweep not started: {exc}", file=sys.stderr)
        return 1
    client = mlflow.MlflowClient(lcfg["tracking_uri"])
    parents = client.search_runs([experiment], filter_string=f"tags.sweep_study = '{scfg['study_name']}'")
    parent = (
        parents[0]
        if parents
        else client.create_run(
            experiment, run_name=f"sweep-{scfg['study_name']}", tags={"sweep_study": scfg["study_name"]}
        )
    )
    parent_id = parent.info.run_id

    def run_trial(overrides, trial, tags) -> float:
        from liftsense.sweep import pruning_callback

        trial_cfg = compose(
            [
                *base,
                *user,
                *overrides,
                f"paths.output_dir={sweep_dir / f'trial_{trial.number}_{worker}'}",
                f"logger.run_name=trial-{trial.number}",
            ]
        )
        plain = OmegaConf.to_container(trial_cfg, resolve=True)
        plain["logger"]["tags"] = tags
        callbacks = (
            [pruning_callback(trial, "val_loss", scfg.get("warmup_epochs", 0))] if scfg.get("pruning") else []
        )
        if plain["task"]["name"] == "rest_hr":
            from liftsense.pipelines.rest_hr import run
        else:
            from liftsense.pipelines.posture import run
        import optuna

        try:
            result = run(plain, callbacks=callbacks)
        except optuna.TrialPruned:
            _mark_pruned(client, lcfg, tags)
            raise
        client.set_tag(result["run_id"], "trial_state", "COMPLETE")
        return float(result["metrics"][scfg["metric"]])

    defaults = {name: OmegaConf.select(cfg, name) for name in scfg["params"]}
    try:
        study = run_sweep(scfg, run_trial, parent_id, defaults=defaults)
    except StorageUnavailable as exc:
        client.set_terminated(parent_id, "FAILED")
        print(f"sweep stopped: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from liftsense.tracking import tracking_outage

        if not tracking_outage(exc):
            raise
        print(
            f"sweep stopped: the MLflow tracking server at {lcfg['tracking_uri']} stopped answering; trials the "
            "study recorded as finished are kept, the one cut off is run again. Run the same command again once "
            "the server is back.",
            file=sys.stderr,
        )
        return 1
    default_trial = study.trials[0]
    if default_trial.state.name == "COMPLETE":
        print(f"default config (trial 0): {scfg['metric']}={default_trial.value:.4f}")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    best = best_overrides(study)
    best_cfg = compose([*base, *user, *best])
    OmegaConf.save(best_cfg, sweep_dir / "best_config.yaml")
    (sweep_dir / "best_overrides.txt").write_text(" ".join([*user, *best]) + "\n")
    if not parents:
        client.log_param(parent_id, "n_trials", scfg["n_trials"])
    client.log_metric(parent_id, f"best_{scfg['metric']}", study.best_value)
    client.set_tag(parent_id, "best_trial", str(study.best_trial.number))
    client.set_tag(parent_id, "best_overrides", " ".join(best))
    client.log_artifact(parent_id, str(sweep_dir / "best_config.yaml"))
    states = [t.state.name for t in study.trials]
    print(f"best trial {study.best_trial.number}: {scfg['metric']}={study.best_value:.4f}  {' '.join(best)}")
    print(
        f"trials: {states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned, {states.count('FAIL')} failed"
    )
    print(
        f"best config: {sweep_dir / 'best_config.yaml'}  (python training/train.py --config-dir {sweep_dir} "
        f"--config-name best_config)"
    )
    return 0


def _mark_pruned(client, lcfg, tags) -> None:
    """The pruned trial's MLflow run: tagged PRUNED and ended as KILLED (Lightning left it running)."""
    from liftsense.tracking import setup_mlflow

    experiment = setup_mlflow(lcfg["tracking_uri"], lcfg["experiment"], lcfg.get("artifact_location"))
    runs = client.search_runs(
        [experiment],
        filter_string=f"tags.optuna_trial = '{tags['optuna_trial']}' and "
        f"tags.optuna_study = '{tags['optuna_study']}'",
    )
    for r in runs:
        client.set_tag(r.info.run_id, "trial_state", "PRUNED")
        client.set_terminated(r.info.run_id, "KILLED")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
