"""A clip-level form classifier (scikit-learn) on percentile and rep features: one verdict per clip.

On the real data, where a new recording date or scene must be judged, this beats the paper's window networks
(benchmarks/RESULTS.md): with a dozen sessions, what generalises is a few well-chosen, camera-free rep
features and a simple boundary. It follows scikit-learn's fit/predict_proba split, on `PoseSequences`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from liftsense.pose.sequences import PoseSequences

CLIP_MODELS: tuple[str, ...] = ("clip_logistic", "clip_forest")
#: which rep feature set describes an exercise; every exercise not listed is done standing
REP_SET_OF_EXERCISE: dict[str, str] = {"pushup": "plank"}


class ClipFormModel:
    """Fit on training clips, predict class probabilities for new clips (columns in `classes` order)."""

    def __init__(
        self,
        classes: list[str],
        estimator: str = "logistic",
        c: float = 0.01,
        normalization: str = "canonical",
        rep_features: bool = True,
        seed: int = 0,
    ) -> None:
        if estimator not in ("logistic", "forest"):
            raise ValueError(f"unknown estimator {estimator!r}; expected 'logistic' or 'forest'")
        self.classes = list(classes)
        self.estimator = estimator
        self.c = c
        self.normalization = normalization
        self.rep_features = rep_features
        self.seed = seed
        self.columns_: list[str] | None = None
        self.model_ = None

    def features(self, seqs: PoseSequences) -> pd.DataFrame:
        """Clip features, each exercise with its own rep set; columns fixed to the training columns once fitted."""
        from liftsense.evaluation.baselines import clip_features

        parts = []
        exercises = seqs.meta["exercise"].astype(str).to_numpy()
        for exercise in dict.fromkeys(exercises):
            idx = np.flatnonzero(exercises == exercise)
            rep_sets = (REP_SET_OF_EXERCISE.get(exercise, "standing_rep"),) if self.rep_features else ()
            part = clip_features(seqs.subset(idx), self.normalization, rep_sets=rep_sets)
            parts.append(part.set_axis(idx))
        x = pd.concat(parts).sort_index().fillna(0.0) if parts else pd.DataFrame(index=range(0))
        if self.columns_ is not None:
            x = x.reindex(columns=self.columns_, fill_value=0.0)  # an exercise unseen in training: no signal
        return x

    def fit(self, seqs: PoseSequences, y: np.ndarray) -> ClipFormModel:
        """`y`: class index per clip (into `classes`)."""
        from liftsense.evaluation.baselines import forest, logistic

        if len(seqs) != len(y):
            raise ValueError(f"{len(seqs)} clips but {len(y)} targets")
        if len(np.unique(y)) < 2:
            raise ValueError("the training clips hold a single class; nothing to learn")
        x = self.features(seqs)
        self.columns_ = list(x.columns)
        self.model_ = logistic(self.c) if self.estimator == "logistic" else forest(self.seed)
        self.model_.fit(x.to_numpy(np.float64), np.asarray(y))
        if self.estimator == "forest":
            # threads speed up fitting 300 trees; when predicting a clip or two they cost 30+ ms
            self.model_.set_params(n_jobs=1)
        return self

    def predict_proba(self, seqs: PoseSequences) -> np.ndarray:
        if self.model_ is None:
            raise RuntimeError("fit the model first")
        known = self.model_.predict_proba(self.features(seqs).to_numpy(np.float64))
        proba = np.zeros((len(seqs), len(self.classes)))
        proba[:, self.model_.classes_.astype(int)] = known  # classes absent from training keep probability 0
        return proba

    def predict(self, seqs: PoseSequences) -> np.ndarray:
        return self.predict_proba(seqs).argmax(axis=1)
