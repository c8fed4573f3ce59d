"""A clip-level form classifier (scikit-learn) on percentile and rep features: one verdict per clip.

On the real data, where a new recording date or scene must be judged, this beats the paper's window networks
(benchmarks/RESULTS.md): with a dozen sessions, what generalises is a few well-chosen, camera-free rep
features and a simple boundary. It follows scikit-learn's fit/predict_proba split, on `PoseSequences`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from liftsense.pose.gaps import valid_frames
from liftsense.pose.rep_features import MIN_FRAMES
from liftsense.pose.sequences import PoseSequences

CLIP_MODELS: tuple[str, ...] = ("clip_logistic", "clip_forest")
#: which rep feature set describes an exercise; every exercise not listed is done standing
REP_SET_OF_EXERCISE: dict[str, str] = {"pushup": "plank"}


class ClipFormModel:
    """Fit on training clips, predict class probabilities for new clips (columns in `classes` order).

    A clip with fewer than `MIN_FRAMES` tracked frames has nothing to judge: it is left out of fitting, and its
    prediction row is NaN ("no reading"), never a verdict made up from zero-filled features.
    """

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

    @staticmethod
    def usable(seqs: PoseSequences, min_visibility: float = 0.5) -> np.ndarray:
        """Per clip: enough tracked frames to measure a rep."""
        return np.array(
            [valid_frames(seqs.clip(i), min_visibility).sum() >= MIN_FRAMES for i in range(len(seqs))]
        )

    def fit(self, seqs: PoseSequences, y: np.ndarray) -> ClipFormModel:
        """`y`: class index per clip (into `classes`). Clips without enough tracked frames are skipped."""
        from liftsense.evaluation.baselines import forest, logistic

        if len(seqs) != len(y):
            raise ValueError(f"{len(seqs)} clips but {len(y)} targets")
        ok = self.usable(seqs)
        self.skipped_training_clips_ = int((~ok).sum())
        seqs, y = seqs.subset(np.flatnonzero(ok)), np.asarray(y)[ok]
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
        ok = np.flatnonzero(self.usable(seqs))
        proba = np.full(
            (len(seqs), len(self.classes)), np.nan
        )  # NaN row: no reading (too few tracked frames)
        if len(ok):
            known = self.model_.predict_proba(self.features(seqs.subset(ok)).to_numpy(np.float64))
            proba[ok] = 0.0  # classes absent from training keep probability 0
            proba[np.ix_(ok, self.model_.classes_.astype(int))] = known
        return proba

    def predict(self, seqs: PoseSequences) -> np.ndarray:
        """Class index per clip; -1 where there is no reading."""
        proba = self.predict_proba(seqs)
        return np.where(np.isfinite(proba).all(axis=1), np.nan_to_num(proba, nan=-1.0).argmax(axis=1), -1)
