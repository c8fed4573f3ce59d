"""Registered networks load for prediction without Lightning, and predict exactly as the Lightning modules do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import ROOT


def _log(tmp_path: Path, module) -> str:
    """`module` logged as the project logs a trained network; returns its runs:/ URI."""
    import mlflow

    from liftsense.tracking import log_module

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run() as run:
        pass
    log_module(run.info.run_id, module)
    return f"runs:/{run.info.run_id}/model"


def _inputs():
    rng = np.random.default_rng(3)
    windows = rng.normal(size=(20, 15, 7)).astype(np.float32)
    lengths = np.array([30, 12, 1, 25], dtype=np.int64)
    sequence = rng.normal(size=(4, 30, 2)).astype(np.float32)
    context = rng.normal(size=(4, 3)).astype(np.float32)
    return windows, sequence, lengths, context


def _form_classifier(**extra):
    import torch

    from liftsense.models.form_classifier import FormClassifier

    torch.manual_seed(0)
    module = FormClassifier("cnn", 7, ["correct", "knees_in", "shallow"], {"classes": ["correct"]})
    for name, value in extra.items():
        setattr(module, name, value)
    return module


def _rest_network():
    import torch

    from liftsense.models.rest_recovery import RestRecoveryLSTM

    torch.manual_seed(0)
    return RestRecoveryLSTM(3, 5, {"context_mean": [1.0, 0.0, -1.0], "context_scale": [2.0, 1.0, 0.5]})


LOAD_IN_A_FRESH_PROCESS = """
import json, sys
from types import SimpleNamespace
import numpy as np
import mlflow
from liftsense.models.inference import load_for_inference
from tests.test_inference_models import _inputs
mlflow.set_tracking_uri(sys.argv[1])
windows, sequence, lengths, context = _inputs()
form, rest = load_for_inference(sys.argv[2]), load_for_inference(sys.argv[3])
np.savez(sys.argv[4], proba=form.predict_proba(windows),
         forecast=rest.forecast(SimpleNamespace(sequence=sequence, lengths=lengths, context=context)))
print(json.dumps({"lightning": "pytorch_lightning" in sys.modules, "form": type(form).__name__,
                  "rest": type(rest).__name__, "classes": list(form.hparams.classes),
                  "horizons": int(rest.hparams.n_horizons)}))
"""


def test_a_registered_network_loads_without_lightning_and_predicts_the_same(tmp_path):
    from types import SimpleNamespace

    form, rest = _form_classifier(), _rest_network()
    form_uri, rest_uri = _log(tmp_path, form), _log(tmp_path, rest)
    out = tmp_path / "out.npz"
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_IN_A_FRESH_PROCESS, f"sqlite:///{tmp_path / 'mlflow.db'}",
         form_uri, rest_uri, str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {
        "lightning": False,
        "form": "FormNetwork",
        "rest": "RestNetwork",
        "classes": ["correct", "knees_in", "shallow"],
        "horizons": 5,
    }
    windows, sequence, lengths, context = _inputs()
    served = np.load(out)
    np.testing.assert_array_equal(served["proba"], form.predict_proba(windows))
    examples = SimpleNamespace(sequence=sequence, lengths=lengths, context=context)
    np.testing.assert_array_equal(served["forecast"], rest.forecast(examples))


def test_a_network_holding_another_lightning_object_loads_with_lightning(tmp_path):
    from pytorch_lightning.callbacks import EarlyStopping

    from liftsense.models.form_classifier import FormClassifier
    from liftsense.models.inference import load_for_inference

    form = _form_classifier(stopper=EarlyStopping(monitor="val_loss"))
    loaded = load_for_inference(_log(tmp_path, form))
    assert isinstance(loaded, FormClassifier)
    windows = _inputs()[0]
    np.testing.assert_array_equal(loaded.predict_proba(windows), form.predict_proba(windows))
