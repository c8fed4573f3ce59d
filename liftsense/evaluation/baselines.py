"""Simple baselines reported next to every model: a one-feature threshold on the clip features
(`liftsense.pose.clip_features`). If a model cannot beat it, it is not learning form."""

from __future__ import annotations

import numpy as np
import pandas as pd


class ThresholdBaseline:
    """The best single feature and threshold on the training clips (by accuracy), applied to new clips."""

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> ThresholdBaseline:
        best = (-1.0, "", 0.0, 1)
        for col in x.columns:
            v = x[col].to_numpy()
            for t in np.unique(np.percentile(v, np.linspace(2, 98, 49))):
                for sign in (1, -1):
                    acc = float(((sign * (v - t) > 0) == y).mean())
                    if acc > best[0]:
                        best = (acc, col, float(t), sign)
        _, self.feature_, self.threshold_, self.sign_ = best
        return self

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return (self.sign_ * (x[self.feature_].to_numpy() - self.threshold_) > 0).astype(int)
