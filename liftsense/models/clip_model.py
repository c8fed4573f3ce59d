"""A clip-level form classifier (scikit-learn) on percentile and rep features: one verdict per clip.

On the real data, where a new recording date or scene must be judged, this beats the paper's window networks
(benchmarks/RESULTS.md): with a dozen sessions, what generalises is a few well-chosen, camera-free rep
features and a simple boundary. It follows scikit-learn's fit/predict_proba split, on `PoseSequences`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from liftsense.models.calibration import ReferenceDraw, draw_references, relative_to_references
from liftsense.models.estimators import FOREST_TREES, default_extra_trees_share, predict_proba
from liftsense.models.group_balance import check_group_balance, group_weights, require_some_kept
from liftsense.pose.gaps import valid_frames
from liftsense.pose.rep_features import MIN_FRAMES
from liftsense.pose.sequences import PoseSequences

CLIP_MODELS: tuple[str, ...] = ("clip_logistic", "clip_forest")
FEATURE_SETS: tuple[str, ...] = ("body", "partial")
EXERCISE_PREFIX = "exercise_is_"
#: which rep feature set describes an exercise; every exercise not listed is done standing
REP_SET_OF_EXERCISE: dict[str, str] = {"pushup": "plank"}


def _has_reading(values: np.ndarray) -> np.ndarray:
    """Per row of a feature (or probability) matrix: every value present, so the clip can be judged."""
    return np.isfinite(values).all(axis=1) & (values.shape[1] > 0)


class ClipFormModel:
    """Fit on training clips, predict class probabilities for new clips (columns in `classes` order).

    A clip with fewer than `MIN_FRAMES` tracked frames has nothing to judge: it is left out of fitting, and its
    prediction row is NaN ("no reading"), never a verdict made up from zero-filled features.

    With `calibration=k` the model judges each clip against the lifter's own reference reps
    (`liftsense.models.calibration`): it is fitted on features relative to k correct clips of each training
    group, and `predict_proba` needs the lifter's reference clips.
    """

    def __init__(
        self,
        classes: list[str],
        estimator: str = "logistic",
        c: float = 0.01,
        normalization: str = "canonical",
        rep_features: bool = True,
        seed: int = 0,
        calibration: int = 0,
        group_balance: str = "none",
        coordinates: str = "image",
        feature_set: str = "body",
        drop_cues: tuple[str, ...] = (),
        percentile_features: bool = True,
        n_trees: int = FOREST_TREES,
        extra_trees_share: float | None = None,
        rep_curves: bool = False,
        pool_sides: bool = False,
    ) -> None:
        if estimator not in ("logistic", "forest"):
            raise ValueError(f"unknown estimator {estimator!r}; expected 'logistic' or 'forest'")
        if isinstance(n_trees, bool) or not isinstance(n_trees, int | np.integer) or n_trees < 1:
            raise ValueError(f"n_trees is the forest's number of trees, a positive integer; got {n_trees!r}")
        if extra_trees_share is None:
            extra_trees_share = default_extra_trees_share(len(classes))
        share = extra_trees_share
        if (
            isinstance(share, bool)
            or not isinstance(share, int | float | np.number)
            or not 0.0 <= share <= 1.0
        ):
            raise ValueError(
                f"extra_trees_share is the share of the forest's trees that are extremely randomised, in [0, 1]; "
                f"got {extra_trees_share!r}"
            )
        if calibration < 0:
            raise ValueError(f"calibration is a number of reference clips (0 = off), got {calibration}")
        self.classes = list(classes)
        self.estimator = estimator
        self.c = c
        self.normalization = normalization
        self.rep_features = rep_features
        self.seed = seed
        self.calibration = calibration
        self.group_balance = check_group_balance(group_balance)
        if coordinates not in ("image", "world"):
            raise ValueError(f"coordinates must be 'image' or 'world', got {coordinates!r}")
        #: what the training landmarks were: image landmarks, or 3-D joints (the coach then feeds world landmarks)
        self.coordinates = coordinates
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature_set {feature_set!r}; expected one of {FEATURE_SETS}")
        #: body: percentile and rep features on all 17 kept landmarks in 3-D; partial: image-plane features
        #: from whichever joints a source records (`liftsense.pose.partial_features`)
        self.feature_set = feature_set
        #: cues left out of every feature (a column is dropped when its name contains one): for a source whose
        #: measurement of them varies by session (see conf/data/squat_3d.yaml)
        self.drop_cues = tuple(drop_cues)
        if not percentile_features and (feature_set != "body" or not rep_features):
            raise ValueError(
                "percentile_features=False leaves only the rep features: it needs feature_set='body' and "
                "rep_features=True"
            )
        #: False: only the rep features, measured against the lifter's own pose in the clip; the clip percentiles
        #: read positions in the camera-derived frame, where a session's set-up leaks in (conf/data/squat_3d.yaml)
        self.percentile_features = bool(percentile_features)
        if (rep_curves or pool_sides) and feature_set != "body":
            raise ValueError("rep_curves and pool_sides read the body features: they need feature_set='body'")
        if rep_curves and not rep_features:
            raise ValueError("rep_curves adds to the rep features: it needs rep_features=True")
        #: True: standing exercises also get the rep as a curve (`pose.rep_features.standing_rep_and_curve_features`)
        self.rep_curves = bool(rep_curves)
        #: True: each left/right pair of cues is read as their mean (`pose.clip_features.pool_sides`), for a source
        #: whose sides are not known to be the lifter's
        self.pool_sides = bool(pool_sides)
        #: trees of the forest (estimator="forest" only)
        self.n_trees = int(n_trees)
        #: of those, the share that are extremely randomised trees, the two kinds' probabilities averaged (0: a
        #: plain random forest; None: half for a two-class verdict, none for fault classes)
        self.extra_trees_share = float(extra_trees_share)
        self.fill_: np.ndarray | None = None
        #: below this top-class probability the coach says "not sure" (0: always judge); `learn_when_unsure`
        self.sure_probability_ = 0.0
        self.columns_: list[str] | None = None
        self.model_ = None

    def __setstate__(self, state: dict) -> None:
        state.setdefault("calibration", 0)  # models logged before these options existed
        state.setdefault("group_balance", "none")
        state.setdefault("coordinates", "image")
        state.setdefault("feature_range_", None)
        state.setdefault("feature_set", "body")
        state.setdefault("fill_", None)
        state.setdefault("sure_probability_", 0.0)
        state.setdefault("drop_cues", ())
        state.setdefault("percentile_features", True)
        state.setdefault("n_trees", 300)  # the forests fitted before the option had 300 trees
        state.setdefault("extra_trees_share", 0.0)  # ... and were plain random forests
        state.setdefault("rep_curves", False)
        state.setdefault("pool_sides", False)
        self.__dict__.update(state)

    def settings(self) -> dict:
        """The constructor's arguments as this model holds them (scikit-learn's `get_params`): how promotion refits
        a logged model's recipe on other groups, to score it on groups it never saw."""
        import inspect

        names = [name for name in inspect.signature(ClipFormModel.__init__).parameters if name != "self"]
        return {name: getattr(self, name) for name in names}

    def features(self, seqs: PoseSequences) -> pd.DataFrame:
        """Clip features, each exercise with its own rep set; columns fixed to the training columns once fitted."""
        from liftsense.pose.clip_features import clip_features

        if self.feature_set == "partial":
            return self._final_columns(self._partial_features(seqs))
        parts = []
        exercises = seqs.meta["exercise"].astype(str).to_numpy()
        for exercise in dict.fromkeys(exercises):
            idx = np.flatnonzero(exercises == exercise)
            part = clip_features(seqs.subset(idx), self.normalization, rep_sets=self._rep_sets(exercise))
            parts.append(part.set_axis(idx))
        if len(parts) == 1:  # one exercise (every judged set): its rows are already in order and complete
            x = parts[0]
        else:  # an exercise's rep set leaves another's columns empty: no signal, 0
            x = pd.concat(parts).sort_index().fillna(0.0) if parts else pd.DataFrame(index=range(0))
        x = self._final_columns(x)
        if self.columns_ is not None:
            x = x.reindex(columns=self.columns_, fill_value=0.0)  # an exercise unseen in training: no signal
        return x

    @property
    def _fast_features(self) -> bool:
        """Whether `_fitted_body_features` gives what `features` gives: body features, `features` not replaced."""
        return self.feature_set == "body" and type(self).features is ClipFormModel.features

    def _fitted_body_features(self, seqs: PoseSequences) -> np.ndarray:
        """`features(seqs)` of a fitted body-feature model as a matrix in its training columns, without pandas
        (every set the coach judges comes here; building and reindexing the tables took a quarter of a judge).
        The same values: a missing or non-finite cue is 0, a dropped cue is not among the training columns."""
        from liftsense.pose.clip_features import clip_feature_rows, side_sources

        # a pooled column is the mean of its two sides, each read as the table reads it (missing: 0)
        first, second = side_sources(self.columns_) if self.pool_sides else (self.columns_, self.columns_)
        pooled = [j for j, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
        out = np.zeros((len(seqs), len(self.columns_)))
        exercises = np.asarray(seqs.column("exercise"), dtype=str)  # not pandas' astype: 50 µs a set
        for exercise in dict.fromkeys(exercises):
            idx = np.flatnonzero(exercises == exercise)
            part = seqs if len(idx) == len(seqs) else seqs.subset(idx)  # a judged set: one exercise
            rows = clip_feature_rows(part, self.normalization, rep_sets=self._rep_sets(exercise))
            values = np.array([[row.get(c, 0.0) for c in first] for row in rows]).reshape(
                len(rows), len(first)
            )
            values = np.where(np.isfinite(values), values, 0.0)
            if pooled:  # only the right sides of pooled columns are read a second time
                other = np.array([[row.get(second[j], 0.0) for j in pooled] for row in rows])
                other = other.reshape(len(rows), len(pooled))
                values[:, pooled] = 0.5 * (values[:, pooled] + np.where(np.isfinite(other), other, 0.0))
            out[idx] = values
        return out

    def _rep_sets(self, exercise: str) -> tuple[str, ...]:
        """The rep feature sets of an exercise's clips: plank or standing, the latter with its curve if asked."""
        if not self.rep_features:
            return ()
        rep_set = REP_SET_OF_EXERCISE.get(exercise, "standing_rep")
        return ("standing_rep_curve",) if self.rep_curves and rep_set == "standing_rep" else (rep_set,)

    def _final_columns(self, x: pd.DataFrame) -> pd.DataFrame:
        """The columns the estimator sees: `drop_cues` and, with `percentile_features=False`, the clip
        percentiles gone, and the rep curve without `rep_curves` (a table computed with it, as the benchmarks
        share one); with `pool_sides`, each left/right pair as their mean."""
        from liftsense.pose.clip_features import is_rep_feature, pool_sides
        from liftsense.pose.rep_features import CURVE_PREFIX

        curves_to_drop = not self.rep_curves and any(c.startswith(CURVE_PREFIX) for c in x.columns)
        if self.drop_cues or not self.percentile_features or curves_to_drop:
            x = x.loc[
                :,
                [
                    c
                    for c in x.columns
                    if not any(cue in c for cue in self.drop_cues)
                    and (self.percentile_features or is_rep_feature(c))
                    and (self.rep_curves or not c.startswith(CURVE_PREFIX))
                ],
            ]
        return pool_sides(x) if self.pool_sides else x

    def _partial_features(self, seqs: PoseSequences) -> pd.DataFrame:
        """Image-plane features; a cue a clip cannot measure stays NaN here and is imputed in `_values`."""
        from liftsense.pose.partial_features import partial_clip_features

        x = pd.DataFrame(
            [partial_clip_features(seqs.clip(i)) for i in range(len(seqs))], index=range(len(seqs))
        )
        # one model may learn several exercises of a source (a curl and a plank share no boundary): say which
        exercises = seqs.meta["exercise"].astype(str).to_numpy()
        for name in sorted(set(exercises)):
            x[f"{EXERCISE_PREFIX}{name}"] = (exercises == name).astype(float)
        return x if self.columns_ is None else x.reindex(columns=self.columns_)

    def usable(self, seqs: PoseSequences, min_visibility: float = 0.5) -> np.ndarray:
        """Per clip: enough tracked frames to measure a rep (for partial sources: frames showing a torso)."""
        if self.feature_set == "partial":
            from liftsense.pose.partial_features import torso_frames

            frames = [torso_frames(seqs.clip(i), min_visibility) for i in range(len(seqs))]
        else:
            frames = [valid_frames(seqs.clip(i), min_visibility) for i in range(len(seqs))]
        return np.array([f.sum() >= MIN_FRAMES for f in frames], dtype=bool)

    def _values(self, seqs: PoseSequences) -> np.ndarray:
        """Feature matrix with a NaN row for every clip without enough tracked frames.

        While fitting (no columns yet), the columns found here become the model's columns.
        """
        ok = self.usable(seqs)
        width = len(self.columns_) if self.columns_ is not None else None
        if not ok.any():
            return np.full((len(seqs), width or 0), np.nan)
        if self.columns_ is not None and self._fast_features:
            values = np.full((len(seqs), len(self.columns_)), np.nan)
            values[ok] = self._fitted_body_features(seqs if ok.all() else seqs.subset(np.flatnonzero(ok)))
            return values
        x = self.features(seqs.subset(np.flatnonzero(ok)))
        if self.feature_set == "partial":
            x = self._impute(x)
        if self.columns_ is None:
            self.columns_ = list(x.columns)
        values = np.full((len(seqs), x.shape[1]), np.nan)
        values[ok] = x.to_numpy(np.float64)
        return values

    def _impute(self, x: pd.DataFrame) -> pd.DataFrame:
        """Partial features: a cue no training clip could measure is dropped; one a clip cannot measure takes
        the training clips' median (learnt at fit), so a missing joint reads as "typical", never as 0."""
        values = x.to_numpy(np.float64)  # numpy, not pandas' fillna: this runs for every rep the coach judges
        indicators = np.array([c.startswith(EXERCISE_PREFIX) for c in x.columns], dtype=bool)
        values[:, indicators] = np.nan_to_num(
            values[:, indicators]
        )  # an unseen exercise: none of its indicators
        columns = list(x.columns)
        if self.fill_ is None:  # fitting: these clips are the training clips
            measured = ~np.isnan(values).all(axis=0)
            values, columns = (
                values[:, measured],
                [c for c, keep in zip(columns, measured, strict=True) if keep],
            )
            self.fill_ = np.nanmedian(values, axis=0)
        missing = np.isnan(values)
        self.imputed_cells_ = int(missing.sum())
        values = np.where(missing, self.fill_, values)
        return pd.DataFrame(values, columns=columns, index=x.index)

    @staticmethod
    def _calibrate_groups(values: np.ndarray, meta: pd.DataFrame, draw: ReferenceDraw) -> np.ndarray:
        """Each calibrated group's clips relative to its references; NaN for clips of other groups."""
        out = np.full_like(values, np.nan)
        groups = meta["group"].astype(str).to_numpy()
        for group, refs in draw.references.items():
            members = groups == group
            out[members] = relative_to_references(values[members], values[refs])
        return out

    def fit(self, seqs: PoseSequences, y: np.ndarray) -> ClipFormModel:
        """`y`: class index per clip (into `classes`). Clips without enough tracked frames are skipped; with
        calibration, so are the reference clips and the clips of groups with fewer than k correct clips; with
        `group_balance` other than none, so are the clips of groups whose clips all share one verdict."""
        from liftsense.models.estimators import forest, logistic, predict_with_one_thread

        if len(seqs) != len(y):
            raise ValueError(f"{len(seqs)} clips but {len(y)} targets")
        y = np.asarray(y)
        self.columns_ = None
        self.fill_ = None
        self.imputed_cells_ = 0
        values = self._values(seqs)
        self.imputed_training_cells_ = self.imputed_cells_
        rows = _has_reading(values)
        self.skipped_training_clips_ = int((~rows).sum())
        self.uncalibrated_training_clips_ = 0
        if self.calibration:
            draw = draw_references(seqs.meta, self.calibration, self.seed, usable=rows)
            if not draw.references:
                raise ValueError(
                    f"calibration={self.calibration}: no training group has {self.calibration} usable clips "
                    "of correct form to serve as references"
                )
            self.uncalibrated_training_clips_ = int((rows & draw.uncalibrated).sum())
            values = self._calibrate_groups(values, seqs.meta, draw)
            rows &= draw.judged
        weights = group_weights(seqs.meta, self.group_balance)
        self.unbalanced_training_clips_ = int((rows & (weights == 0)).sum())
        rows &= weights > 0
        require_some_kept(np.where(rows, weights, 0.0), self.group_balance)
        if len(np.unique(y[rows])) < 2:
            raise ValueError("the training clips hold a single class; nothing to learn")
        if self.estimator == "logistic":
            self.model_ = logistic(self.c)
        else:
            self.model_ = forest(self.seed, self.n_trees, self.extra_trees_share)
        fit_kwargs = {}
        if self.group_balance != "none":  # a pipeline routes sample weights by step name
            key = "logisticregression__sample_weight" if self.estimator == "logistic" else "sample_weight"
            fit_kwargs[key] = weights[rows]
        self.model_.fit(values[rows], y[rows], **fit_kwargs)
        self.feature_range_ = (values[rows].min(axis=0), values[rows].max(axis=0))
        if self.estimator == "forest":
            predict_with_one_thread(self.model_)
        return self

    def learn_when_unsure(self, validation_proba: np.ndarray, judge_share: float | None) -> float:
        """Set the "not sure" bar so that the model would have judged `judge_share` of these validation clips
        (clips of groups it never saw), leaving the rest to "not sure". None or 1: always judge."""
        if judge_share is not None and not 0.0 < judge_share <= 1.0:
            raise ValueError(f"judge_share is the share of clips to judge, in (0, 1]; got {judge_share}")
        if judge_share is None or judge_share == 1.0 or not len(validation_proba):
            self.sure_probability_ = 0.0
        else:
            self.sure_probability_ = float(np.quantile(validation_proba.max(axis=1), 1.0 - judge_share))
        return self.sure_probability_

    def _proba(self, values: np.ndarray) -> np.ndarray:
        ok = np.flatnonzero(_has_reading(values))
        proba = np.full((len(values), len(self.classes)), np.nan)  # NaN row: no reading
        if len(ok):
            known = predict_proba(self.model_, values[ok])
            proba[ok] = 0.0  # classes absent from training keep probability 0
            proba[np.ix_(ok, self.model_.classes_.astype(int))] = known
        return proba

    def _model_input(self, seqs: PoseSequences, references: PoseSequences | None) -> np.ndarray:
        """The feature rows the estimator sees (relative to the references for a calibrated model)."""
        if self.model_ is None:
            raise RuntimeError("fit the model first")
        if self.calibration and references is None:
            raise ValueError(
                f"this model judges a clip against the lifter's own good reps: pass references= "
                f"({self.calibration} clips of correct form recorded at set-up)"
            )
        if references is not None and not self.calibration:
            raise ValueError("this model was trained without calibration; it takes no reference clips")
        values = self._values(seqs)
        if references is not None:
            ref_values = self._values(references)
            ref_values = ref_values[_has_reading(ref_values)]
            if not len(ref_values):
                raise ValueError(
                    f"none of the {len(references)} reference clips has {MIN_FRAMES} tracked frames; "
                    "record the reference reps again with the whole body in view"
                )
            values = relative_to_references(values, ref_values)
        return values

    def outside_training_range(
        self, seqs: PoseSequences, references: PoseSequences | None = None
    ) -> np.ndarray:
        """Per clip, the share of its features outside the range seen in training (a distribution-shift
        check: high means the clip looks like nothing the model learnt from); NaN without a reading or a range."""
        return self._outside(self._model_input(seqs, references))

    def _outside(self, values: np.ndarray) -> np.ndarray:
        if self.feature_range_ is None:
            return np.full(len(values), np.nan)
        lo, hi = self.feature_range_
        share = ((values < lo) | (values > hi)).mean(axis=1) if values.shape[1] else np.zeros(len(values))
        return np.where(_has_reading(values), share, np.nan)

    def predict_proba_and_shift(
        self, seqs: PoseSequences, references: PoseSequences | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """`predict_proba` and `outside_training_range` from one pass over the clips' features."""
        values = self._model_input(seqs, references)
        return self._proba(values), self._outside(values)

    def predict_proba(self, seqs: PoseSequences, references: PoseSequences | None = None) -> np.ndarray:
        """Class probabilities per clip; a NaN row where there is no reading (too few tracked frames).

        `references`: the lifter's own clips of correct form; required by a calibrated model, refused otherwise.
        """
        return self._proba(self._model_input(seqs, references))

    def predict_proba_by_group(self, seqs: PoseSequences, seed: int = 0) -> tuple[np.ndarray, ReferenceDraw]:
        """For labelled evaluation data: each group's references drawn from its own correct clips.

        Reference clips and clips of groups with too few correct clips get a NaN row (not judged).
        """
        if not self.calibration:
            raise ValueError("predict_proba_by_group is for calibrated models; use predict_proba")
        if self.model_ is None:
            raise RuntimeError("fit the model first")
        values = self._values(seqs)
        usable = _has_reading(values)
        draw = draw_references(seqs.meta, self.calibration, seed, usable=usable)
        values = self._calibrate_groups(values, seqs.meta, draw)
        values[~draw.judged] = np.nan
        return self._proba(values), draw

    def predict(
        self, seqs: PoseSequences | pd.DataFrame, references: PoseSequences | None = None
    ) -> np.ndarray | pd.DataFrame:
        """Class index per clip; -1 where there is no reading.

        Given a landmark table (a DataFrame in the format of `liftsense.pose.table`, as MLflow's pyfunc
        `predict` passes it), returns one row per clip instead: sequence_id, prediction (class name, None
        without a reading) and probability.
        """
        if isinstance(seqs, pd.DataFrame):
            return self._predict_table(seqs, references)
        proba = self.predict_proba(seqs, references)
        return np.where(np.isfinite(proba).all(axis=1), np.nan_to_num(proba, nan=-1.0).argmax(axis=1), -1)

    def _predict_table(self, table: pd.DataFrame, references: PoseSequences | None) -> pd.DataFrame:
        from liftsense.pose.table import LandmarkTableError, table_to_sequences

        missing = [c for c in ("sequence_id", "frame_index", "timestamp_s") if c not in table.columns]
        if missing:
            raise LandmarkTableError(f"the input is not a landmark table: it lacks {missing}")
        seqs = table_to_sequences(table, source="pyfunc", coordinates=self.coordinates)
        proba = self.predict_proba(seqs, references)
        judged = _has_reading(proba)
        best = np.where(judged, np.nan_to_num(proba, nan=-1.0).argmax(axis=1), -1)
        return pd.DataFrame(
            {
                "sequence_id": seqs.meta["sequence_id"].to_numpy(),
                "prediction": [self.classes[b] if b >= 0 else None for b in best],
                "probability": [float(proba[i, b]) if b >= 0 else np.nan for i, b in enumerate(best)],
            }
        )
