"""LightningModule for window-level form classification (binary or fault)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn

from liftsense.models.networks import build_network


class FormClassifier(pl.LightningModule):
    """Wraps a network with Adam, cross-entropy and the preprocessing needed to use it later.

    `preprocessing` (feature config, scaler state, class names) is saved with the hyperparameters, so a
    checkpoint or a logged MLflow model alone is enough to score new landmark data.
    """

    def __init__(
        self,
        network: str,
        n_features: int,
        classes: list[str],
        preprocessing: dict[str, Any],
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        class_weights: list[float] | None = None,
        net_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = build_network(network, n_features, len(classes), **(net_kwargs or {}))
        weight = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        self.loss = nn.CrossEntropyLoss(weight=weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = self.loss(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
        # sync_dist: under DDP each process sees part of the batches; early stopping and the checkpoint need all
        log = {"on_epoch": True, "on_step": False, "batch_size": len(y), "sync_dist": True}
        self.log(f"{stage}_loss", loss, prog_bar=True, **log)
        self.log(f"{stage}_acc", acc, prog_bar=stage == "val", **log)
        return loss

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)

    def train(self, mode: bool = True) -> FormClassifier:
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
