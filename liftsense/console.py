"""What the entry points print: our own lines and real warnings, not the libraries' advertising and notices about
their own internals, which a user can do nothing about. Each entry point calls `quiet_known_noise()` first."""

from __future__ import annotations

import logging
import warnings

#: logger -> fragments of its messages that say nothing about the user's run
_NOISE: dict[str, tuple[str, ...]] = {
    "pytorch_lightning.utilities.rank_zero": (
        "💡 Tip:",  # an advertisement for another logging service, on every Trainer
        "GPU available:",  # hardware lines, on a CPU-only project
        "TPU available:",
        "was configured so 100% of the batches",
    ),
    "mlflow.pytorch": ("Pickle or CloudPickle",),  # our modules are pickled on purpose (tracking.log_module)
    "mlflow.tracking._model_registry.fluent": ("has no artifacts at artifact path",),
    "mlflow.store.model_registry.abstract_store": ("Waiting up to",),
}


class _DropNoise(logging.Filter):
    def __init__(self, fragments: tuple[str, ...]) -> None:
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(fragment in message for fragment in self.fragments)


def quiet_known_noise() -> None:
    """Filter the known noise at the loggers that emit it (idempotent)."""
    for name, fragments in _NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropNoise) for f in logger.filters):
            logger.addFilter(_DropNoise(fragments))
    # pytorch_lightning's own use of a torch API it has not caught up with, on every fit
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")


def progress_bar(configured: bool) -> bool:
    """Lightning's bar only on a terminal: redirected to a file, its redraws fill megabytes of log."""
    import sys

    return bool(configured) and sys.stderr.isatty()


def epoch_lines(configured: bool) -> list:
    """Without the bar, one line per epoch instead (losses, validation accuracy, best so far): progress a log
    can keep. Empty where the bar shows, or where progress is switched off (trainer.progress_bar=false)."""
    if not configured or progress_bar(configured):
        return []
    import pytorch_lightning as pl

    log = logging.getLogger("train")

    class EpochLines(pl.Callback):
        def on_train_epoch_end(self, trainer, pl_module) -> None:
            if not trainer.is_global_zero:
                return
            metrics = trainer.callback_metrics
            shown = [
                f"{k} {float(metrics[k]):.4f}" for k in ("train_loss", "val_loss", "val_acc") if k in metrics
            ]
            log.info("epoch %d/%d: %s", trainer.current_epoch + 1, trainer.max_epochs, ", ".join(shown))

    return [EpochLines()]
