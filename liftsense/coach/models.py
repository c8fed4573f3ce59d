"""Which form model judges an exercise: an explicit MLflow URI, or the registry champion for it."""

from __future__ import annotations

import os

import numpy as np

from liftsense.coach.exercises import rep_signal_of
from liftsense.datasets.paths import REPO_ROOT

#: the dataset whose registered models judge an exercise (the built-in synthesiser covers the paper's 9; the
#: real curls, presses and raises of exercise_correction and posetrainer are too few to replace it)
DATASET_OF_EXERCISE: dict[str, str] = {
    "squat": "squat_3d",
    "pushup": "pushup",
    "forward_lunge": "exercise_correction",
}


#: windows featurised and classified in one pass. Each window is its own clip, so the answer does not depend on it;
#: the speed does: the float64 intermediates of 1,024 windows (6 MB each) overflow the cache, and featurising them
#: took 6.7 ms per 256 windows against 3.8 ms in passes of 256 (the service batches up to 1,024 at a time)
WINDOWS_PER_PASS = 256


class NoFormModel(LookupError):
    """No model was named and the registry holds no champion for the exercise; the message says how to get one."""


def default_tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{REPO_ROOT / 'mlflow.db'}"


def champion_uris(exercise: str) -> list[str]:
    """Registry URIs tried in order: the fault model (it names the fault), then the correct/incorrect one."""
    from liftsense.registry import registered_name

    data = DATASET_OF_EXERCISE.get(rep_signal_of(exercise).exercise, "builtin")
    return [f"models:/{registered_name(task, data)}@champion" for task in ("fault", "binary")]


def load_form_model(uri: str | None, exercise: str, tracking_uri: str | None = None):
    """(model, uri). `uri` None: the exercise's champion; raises NoFormModel with the commands to train one."""
    import mlflow

    from liftsense.models.inference import load_for_inference

    tracking_uri = tracking_uri or default_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    from liftsense.registry import serving_refusal

    if uri:
        return load_for_inference(uri), uri
    tried = champion_uris(exercise)
    refused = []
    for candidate in tried:
        try:
            if why := serving_refusal(candidate):
                refused.append(why)
                continue
            return load_for_inference(candidate), candidate
        except Exception:
            continue
    data = DATASET_OF_EXERCISE.get(rep_signal_of(exercise).exercise, "builtin")
    raise NoFormModel(
        f"no form model for {exercise}: the registry at {tracking_uri} has no champion to serve "
        f"({'; '.join(refused) or ', '.join(tried)}). Train and promote one:\n"
        f"  python training/train.py model=clip_logistic data={data} task=fault split.refit=true\n"
        f"  python training/promote.py --run-id <the run id it prints> model=clip_logistic data={data} task=fault\n"
        "or name one with --model models:/NAME@champion (or runs:/RUN_ID/model). Until then the coach reports "
        "reps, range of motion and tempo without verdicts."
    )


def load_window_model(uri: str | None = None, tracking_uri: str | None = None):
    """(window network, uri): `uri`, or the built-in binary champion. A clip model is refused: windows need the
    paper's CNN/LSTM/RNN."""
    import mlflow

    from liftsense.models.inference import load_for_inference
    from liftsense.registry import registered_name, serving_refusal

    uri = uri or f"models:/{registered_name('binary', 'builtin')}@champion"
    mlflow.set_tracking_uri(tracking_uri or default_tracking_uri())
    if why := serving_refusal(uri):
        raise ValueError(why)
    module = load_for_inference(uri)
    if "preprocessing" not in getattr(module, "hparams", {}):
        raise ValueError(
            f"{uri} is a clip model; 15-frame windows need a window network (model=cnn|lstm|rnn)"
        )
    return module, uri


def classify_windows(module, windows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(n, 15, 33, 4) landmark windows -> (n, classes) probabilities (a NaN row: too many missing frames), and
    the classes, through the network's own saved preprocessing: featurised and classified in passes of
    `WINDOWS_PER_PASS` windows."""
    from liftsense.pipelines.posture import mean_window_proba
    from liftsense.pose.features import FeatureConfig, WindowFeaturizer

    featurizer = WindowFeaturizer(FeatureConfig(**module.hparams.preprocessing["features"]))
    windows = np.asarray(windows, dtype=np.float32)
    classes = list(module.hparams.preprocessing["classes"])
    proba = np.full((len(windows), len(classes)), np.nan)
    for start in range(0, len(windows), WINDOWS_PER_PASS):
        chunk = windows[start : start + WINDOWS_PER_PASS]
        x, clip_index, _, _ = featurizer.clips_windows(chunk, "unknown")
        proba[start : start + len(chunk)] = mean_window_proba(module, x, clip_index, len(chunk))[0]
    return proba, classes
