"""Window- and clip-level metrics. F1 treats "correct" as the positive class, as the paper does."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

CORRECT = "correct"


def task_classes(task: str, labels: pd.Series) -> list[str]:
    """Binary: [incorrect, correct]. Fault: "correct" first, then the named faults present, sorted."""
    if task == "binary":
        return ["incorrect", CORRECT]
    if task == "fault":
        # "incorrect" names no fault: a fault model cannot learn it (such clips are counted as unknown labels)
        faults = sorted(set(labels.astype(str)) - {CORRECT, "incorrect"})
        return ([CORRECT] if (labels == CORRECT).any() else []) + faults
    raise ValueError(f"unknown task {task!r}; expected binary or fault")


def classes_of(task: str, meta: pd.DataFrame) -> list[str]:
    """`task_classes` of a clip table: clips marked correct count as "correct" whatever their label says
    (squat_3d labels its correct clips "olympic squat" and "powerlifting squat")."""
    return task_classes(task, meta["label"].astype(str).where(~meta["correct"].astype(bool), CORRECT))


def clip_targets(task: str, meta: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """Class index of each clip; -1 for a label the model does not know."""
    if task == "binary":
        return meta["correct"].astype(bool).astype(int).to_numpy()
    lookup = {c: i for i, c in enumerate(classes)}
    labels = np.where(meta["correct"].astype(bool), CORRECT, meta["label"].astype(str))
    return np.array([lookup.get(lab, -1) for lab in labels])


def one_class_reason(task: str, meta: pd.DataFrame, classes: list[str]) -> str | None:
    """Why clips cannot rank a model against its baseline, or None when they can.

    Clips of one class only (validation dates that hold no correct squat) score every model and the baseline
    alike: F1 of "correct" is 0 for all when no clip is correct, and always "correct" is unbeatable when every
    clip is. A promotion read from them would be a coin the split tossed, so it is refused with this reason."""
    y = clip_targets(task, meta, classes)
    present = sorted({classes[i] for i in y[y >= 0]})
    if len(present) >= 2:
        return None
    groups = sorted(set(meta["group"].astype(str))) if "group" in meta else []
    where = f"the {len(meta)} clips of group(s) {', '.join(groups)}" if groups else f"the {len(meta)} clips"
    held = f"only {present[0]!r} clips" if present else "no clip of a class the model knows"
    return f"{where} hold {held}, so every model and the baseline score alike"


def correct_f1(y_true: np.ndarray, y_pred: np.ndarray, correct_index: int) -> float:
    return float(f1_score(y_true == correct_index, y_pred == correct_index, zero_division=0.0))


def clip_vote(proba: np.ndarray, clip_index: np.ndarray, n_clips: int) -> tuple[np.ndarray, np.ndarray]:
    """Majority vote of window predictions per clip (ties broken by mean probability).

    Returns the predicted class per clip (-1 for a clip with no window) and the clips that had windows.
    """
    n_classes = proba.shape[1]
    votes = np.zeros((n_clips, n_classes))
    np.add.at(votes, (clip_index, proba.argmax(1)), 1.0)
    mean_p = np.zeros((n_clips, n_classes))
    np.add.at(mean_p, clip_index, proba)
    has = votes.sum(1) > 0
    score = votes + 1e-3 * mean_p / np.maximum(votes.sum(1, keepdims=True), 1)
    pred = np.where(has, score.argmax(1), -1)
    return pred, has


def evaluate(
    proba: np.ndarray, clip_index: np.ndarray, meta: pd.DataFrame, classes: list[str], task: str
) -> dict[str, float]:
    """All the numbers a run logs: window and clip level, per exercise, per fault, and the trivial baseline."""
    y_clip = clip_targets(task, meta, classes)
    y_win = y_clip[clip_index]
    pred_win = proba.argmax(1)
    ci = classes.index(CORRECT) if CORRECT in classes else -1
    m: dict[str, float] = {
        "n_windows": float(len(y_win)),
        "window_accuracy": float(accuracy_score(y_win, pred_win)) if len(y_win) else float("nan"),
        "window_f1": correct_f1(y_win, pred_win, ci),
    }
    pred_clip, has = clip_vote(proba, clip_index, len(meta))
    yc, pc = y_clip[has], pred_clip[has]
    m["n_clips_scored"] = float(has.sum())
    m["n_clips_without_window"] = float((~has).sum())
    m["clip_accuracy"] = float(accuracy_score(yc, pc)) if len(yc) else float("nan")
    m["clip_f1"] = correct_f1(yc, pc, ci)
    # trivial baselines next to the model: always "correct", and always the most frequent class
    m["baseline_always_correct_clip_f1"] = correct_f1(yc, np.full_like(yc, ci), ci)
    if len(yc):
        m["baseline_majority_clip_accuracy"] = float(np.bincount(yc[yc >= 0]).max() / len(yc))
    if task == "fault":
        labels = list(range(len(classes)))
        m["window_macro_f1"] = float(
            f1_score(y_win, pred_win, labels=labels, average="macro", zero_division=0.0)
        )
        m["clip_macro_f1"] = float(
            f1_score(yc, pc, labels=sorted(set(yc) | set(pc)), average="macro", zero_division=0.0)
        )
        if len(yc):  # the same score for "always the most frequent class"
            majority = np.full_like(yc, np.bincount(yc[yc >= 0]).argmax())
            m["baseline_majority_clip_macro_f1"] = float(
                f1_score(yc, majority, labels=sorted(set(yc)), average="macro", zero_division=0.0)
            )
        rec = recall_score(y_win, pred_win, labels=labels, average=None, zero_division=0.0)
        for c, r in zip(classes, rec, strict=True):
            m[f"recall_{c}"] = float(r)
    # per label (each fault, and correct): how often its clips get the right verdict; in the binary task this is
    # the detection rate of each fault
    clip_labels = meta["label"].astype(str).to_numpy()[has]
    for lab in sorted(set(clip_labels)):
        sel = clip_labels == lab
        m[f"label_{lab.replace(' ', '_')}_clip_accuracy"] = float((yc[sel] == pc[sel]).mean())
    exercises = meta["exercise"].astype(str).to_numpy()
    for ex in sorted(set(exercises)):
        sel = exercises[clip_index] == ex
        if sel.any():
            m[f"{ex}_window_accuracy"] = float(accuracy_score(y_win[sel], pred_win[sel]))
            m[f"{ex}_window_f1"] = correct_f1(y_win[sel], pred_win[sel], ci)
        csel = exercises[has] == ex
        if csel.any():
            m[f"{ex}_clip_accuracy"] = float(accuracy_score(yc[csel], pc[csel]))
    return m


def confusion(
    proba: np.ndarray, clip_index: np.ndarray, meta: pd.DataFrame, classes: list[str], task: str
) -> np.ndarray:
    y = clip_targets(task, meta, classes)[clip_index]
    return confusion_matrix(y, proba.argmax(1), labels=list(range(len(classes))))
