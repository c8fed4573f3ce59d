"""LightningModule forecasting the HR recovery over the coming rest (the paper's architecture, a real target).

Masking for variable-length sets (packed sequences), 2 LSTM layers, dropout, dense layers; RMSprop and MSE, as
the wristband paper. Unlike the paper, the target is the future: the HR change at each horizon of the rest, with
unobserved horizons masked out of the loss. The context scaler (fitted on the training split only) is saved with
the hyperparameters, so a checkpoint or a logged MLflow model alone is enough to forecast.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn

from liftsense.models.inference import TARGET_SCALE_BPM, RestForecasting


class RestRecoveryLSTM(RestForecasting, pl.LightningModule):
    def __init__(
        self,
        n_context: int,
        n_horizons: int,
        preprocessing: dict[str, Any],
        hidden: int = 32,
        layers: int = 2,
        dropout: float = 0.2,
        dense: int = 64,
        lr: float = 1e-3,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.lstm = nn.LSTM(
            2, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.head = nn.Sequential(
            nn.Linear(hidden + n_context, dense), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dense, n_horizons)
        )
        self.register_buffer("context_mean", torch.tensor(preprocessing["context_mean"], dtype=torch.float32))
        self.register_buffer(
            "context_scale", torch.tensor(preprocessing["context_scale"], dtype=torch.float32)
        )

    def _loss(self, batch) -> torch.Tensor:
        sequence, lengths, context, target, mask = batch
        pred = self(sequence, lengths, context)
        return (((pred - target) ** 2) * mask).sum() / mask.sum().clamp(min=1)

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train_loss", loss, on_epoch=True, on_step=False, batch_size=len(batch[0]))
        return loss

    def validation_step(self, batch, batch_idx):
        self.log(
            "val_loss",
            self._loss(batch),
            on_epoch=True,
            on_step=False,
            prog_bar=True,
            batch_size=len(batch[0]),
        )

    def configure_optimizers(self):
        return torch.optim.RMSprop(self.parameters(), lr=self.hparams.lr)


def tensors(examples) -> tuple[torch.Tensor, ...]:
    target = np.nan_to_num(examples.target / TARGET_SCALE_BPM).astype(np.float32)
    mask = np.isfinite(examples.target).astype(np.float32)
    return (
        torch.from_numpy(examples.sequence),
        torch.from_numpy(examples.lengths),
        torch.from_numpy(examples.context),
        torch.from_numpy(target),
        torch.from_numpy(mask),
    )


def context_scaler(train) -> dict[str, list[float]]:
    mean, scale = train.context.mean(axis=0), train.context.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return {"context_mean": mean.tolist(), "context_scale": scale.tolist()}
