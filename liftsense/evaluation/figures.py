"""Report figures logged with every run: a confusion matrix and a per-exercise bar chart."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_figure(cm: np.ndarray, classes: list[str], path: Path, title: str) -> Path:
    plt = _plt()
    size = max(4.0, 0.6 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def per_exercise_figure(metrics: dict[str, float], path: Path, title: str) -> Path:
    plt = _plt()
    names = sorted(
        k[: -len("_window_accuracy")]
        for k in metrics
        if k.endswith("_window_accuracy") and k != "window_accuracy"
    )
    fig, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(names) + 2), 3.5))
    x = np.arange(len(names))
    ax.bar(x - 0.2, [metrics[f"{n}_window_accuracy"] for n in names], 0.4, label="window accuracy")
    ax.bar(
        x + 0.2, [metrics.get(f"{n}_clip_accuracy", np.nan) for n in names], 0.4, label="clip accuracy (vote)"
    )
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
