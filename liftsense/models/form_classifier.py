"""LightningModule for window-level form classification (binary or fault)."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from liftsense.models.inference import FormPrediction
from liftsense.models.networks import build_network


class FormClassifier(FormPrediction, pl.LightningModule):
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
