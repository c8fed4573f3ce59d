"""Clip features computed once for a set of clips, for code that fits a clip model many times on subsets of them
(promotion's grouped gate, the benchmarks' leave-one-group-out loops). Features are computed clip by clip, so a
clip's row is the same whichever subset it is fitted or judged in; everything else is `ClipFormModel`'s code."""

from __future__ import annotations

import numpy as np
import pandas as pd

from liftsense.models.clip_model import ClipFormModel
from liftsense.pose.sequences import PoseSequences


def cached_feature_model(
    seqs: PoseSequences,
    feature_set: str = "body",
    rep_curves: bool = False,
    normalization: str = "canonical",
    rep_features: bool = True,
) -> type[ClipFormModel]:
    """A `ClipFormModel` subclass whose `features` looks clips of `seqs` up, by `sequence_id`, in one table
    computed now with these settings. Each model's own columns (dropped cues, percentiles, curves, pooled sides)
    are picked from the table as `features` would pick them; a model must share the table's settings."""
    ids = seqs.meta["sequence_id"].astype(str)
    if ids.duplicated().any():
        raise ValueError("cached clip features are looked up by sequence_id, which must be unique")
    builder = ClipFormModel(
        ["a", "b"],
        feature_set=feature_set,
        rep_curves=rep_curves,
        normalization=normalization,
        rep_features=rep_features,
    )
    table = builder.features(seqs).set_axis(ids.to_numpy())

    table_settings = {
        "feature_set": feature_set,
        "normalization": normalization,
        "rep_features": rep_features,
    }

    class CachedFeatures(ClipFormModel):
        def features(self, part: PoseSequences) -> pd.DataFrame:
            differ = {k: getattr(self, k) for k, v in table_settings.items() if getattr(self, k) != v}
            if differ or (self.rep_curves and not rep_curves):
                raise ValueError(
                    f"this model's features ({differ or {'rep_curves': True}}) are not the cached table's "
                    f"({table_settings | {'rep_curves': rep_curves}})"
                )
            x = table.loc[part.meta["sequence_id"].astype(str).to_numpy()].reset_index(drop=True)
            x = self._final_columns(x)
            if self.columns_ is None:
                return x
            # as `features` reindexes: a body cue absent is 0, a partial one NaN (imputed later)
            return x.reindex(columns=self.columns_, fill_value=0.0 if self.feature_set == "body" else np.nan)

    return CachedFeatures
