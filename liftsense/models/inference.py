"""Trained networks for prediction only, loaded without PyTorch Lightning.

A logged form or rest network is a pickled LightningModule. Unpickling it the usual way imports Lightning,
torchmetrics, sympy and matplotlib: about 85 MB of every service worker's own memory and seconds of its start, for
code that only trains. Prediction needs the weights and the saved preprocessing, nothing more, so the pickle's
classes are read here as plain `torch.nn.Module`s that share the Lightning classes' prediction code (the mixins
below) and their state. A pickle naming any other Lightning class is loaded the usual way.
"""

from __future__ import annotations

import logging
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

log = logging.getLogger(__name__)

#: the rest network's targets are HR changes divided by this (the loss stays near 1)
TARGET_SCALE_BPM = 20.0


class AttributeDict(dict):
    """Lightning's hyperparameter dict (`hparams.classes`), without Lightning."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(key) from exc

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


class FormPrediction:
    """Window-classifier prediction, shared by the trainable `FormClassifier` and the served `FormNetwork`."""

    net: nn.Module
    hparams: Any

    def train(self, mode: bool = True):
        if mode:  # training may change the weights: rebuild the fused copy at the next prediction
            self.__dict__.pop("_inference_net", None)
        return super().train(mode)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_inference_net", None)  # a derived copy: not worth pickling into logged models
        return state

    def inference_network(self) -> nn.Module:
        """The network for prediction: a fused copy where the architecture offers one (BatchNorm folded)."""
        # kept in __dict__, not as a registered submodule: it must stay out of state_dict and checkpoints
        if "_inference_net" not in self.__dict__:
            self.net.eval()
            fuse = getattr(self.net, "fuse_for_inference", None)
            self.__dict__["_inference_net"] = fuse() if fuse else self.net
        return self.__dict__["_inference_net"]

    @torch.inference_mode()
    def predict_proba(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Softmax class probabilities for scaled windows (n, time, features)."""
        self.eval()
        net = self.inference_network()
        out = []
        for i in range(0, len(x), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size], dtype=np.float32))
            out.append(torch.softmax(net(xb), dim=1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.hparams.classes)), np.float32)


class RestForecasting:
    """The rest network's forward pass and forecast, shared by `RestRecoveryLSTM` and the served `RestNetwork`."""

    lstm: nn.LSTM
    head: nn.Module
    context_mean: torch.Tensor
    context_scale: torch.Tensor

    def forward(self, sequence: torch.Tensor, lengths: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(
            sequence, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        _, (hidden, _) = self.lstm(packed)
        context = (context - self.context_mean) / self.context_scale
        return self.head(torch.cat([hidden[-1], context], dim=1))

    @torch.inference_mode()
    def forecast(self, examples) -> np.ndarray:
        """HR change (bpm) at every horizon for each example."""
        self.eval()
        out = self(
            torch.from_numpy(examples.sequence),
            torch.from_numpy(examples.lengths),
            torch.from_numpy(examples.context),
        )
        return out.numpy() * TARGET_SCALE_BPM


class _Unpickled(nn.Module):
    """A LightningModule's state read into a plain module: `hparams` as Lightning keeps them."""

    @property
    def hparams(self) -> AttributeDict:
        return self.__dict__["_hparams"]


class FormNetwork(FormPrediction, _Unpickled):
    """A logged `FormClassifier`, for prediction."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class RestNetwork(RestForecasting, _Unpickled):
    """A logged `RestRecoveryLSTM`, for forecasting."""


_READ_AS: dict[tuple[str, str], type] = {
    ("liftsense.models.form_classifier", "FormClassifier"): FormNetwork,
    ("liftsense.models.rest_recovery", "RestRecoveryLSTM"): RestNetwork,
    ("lightning_fabric.utilities.data", "AttributeDict"): AttributeDict,
    ("lightning.fabric.utilities.data", "AttributeDict"): AttributeDict,
    ("pytorch_lightning.utilities.parsing", "AttributeDict"): AttributeDict,
}
_LIGHTNING_PACKAGES = {"pytorch_lightning", "lightning", "lightning_fabric", "torchmetrics"}


class NeedsLightning(pickle.UnpicklingError):
    """The pickle holds a Lightning object that prediction has no plain stand-in for."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _READ_AS:
            return _READ_AS[module, name]
        if module.split(".")[0] in _LIGHTNING_PACKAGES:
            raise NeedsLightning(f"{module}.{name}")
        return super().find_class(module, name)


def _pickle_module() -> types.ModuleType:
    """What `torch.load(pickle_module=...)` wants: a module-like object with `Unpickler` and `load`."""
    module = types.ModuleType("liftsense_lightning_free_pickle")
    module.Unpickler = _Unpickler
    module.load = lambda file, **kwargs: _Unpickler(file, **kwargs).load()
    return module


def read_network(path: Path) -> nn.Module:
    """A pickled LightningModule file (`torch.save`) read as its served module; NeedsLightning if it can't be."""
    # weights_only=False: a registered model is a pickle the project wrote, as mlflow.pytorch.load_model trusts it
    return torch.load(path, map_location="cpu", pickle_module=_pickle_module(), weights_only=False)


def load_for_inference(model_uri: str):
    """A registered model for prediction (runs:/ID/model, models:/name@alias): a scikit-learn clip model as
    mlflow.sklearn loads it, a Lightning network as a plain module (Lightning is not imported); a network the
    plain reader can't read is loaded with mlflow.pytorch and logged as such."""
    import mlflow.artifacts
    import yaml

    local = Path(mlflow.artifacts.download_artifacts(model_uri))
    flavors = yaml.safe_load((local / "MLmodel").read_text())["flavors"]
    if "pytorch" not in flavors:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(local))
    before = "pytorch_lightning" in sys.modules
    try:
        module = read_network(local / flavors["pytorch"]["model_data"] / "model.pth")
    except NeedsLightning as exc:
        log.info("%s holds %s: loading it with Lightning", model_uri, exc)
        import mlflow.pytorch

        return mlflow.pytorch.load_model(str(local), map_location="cpu")
    if not before and "pytorch_lightning" in sys.modules:
        log.info("%s imported Lightning while loading (a class outside liftsense's networks)", model_uri)
    return module
