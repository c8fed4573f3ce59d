"""The scikit-learn estimators behind the clip models (and the forest baseline in the benchmarks)."""

from __future__ import annotations

import numpy as np

#: trees in the clip forest. More trees only average out the forest's own randomness; on real push-ups (leave one
#: near-duplicate group out, seeds 0-4) 1000 gave pooled F1 0.850 +- 0.008 against 0.840 +- 0.008 with 300, at
#: about 3 times the prediction time (benchmarks/RESULTS.md)
FOREST_TREES = 1000

#: share of a two-class forest's trees that are extremely randomised (split thresholds drawn at random, no
#: bootstrap). Averaging the two kinds' probabilities beat either kind alone on real push-ups and tied on squats
#: by date (benchmarks/RESULTS.md): the random thresholds smooth the boundary where a few near-duplicate groups
#: would otherwise set it.
EXTRA_TREES_SHARE = 0.5


def default_extra_trees_share(n_classes: int) -> float:
    """Half the trees extremely randomised for a correct/incorrect verdict; none for the fault classes, where on
    squats by date the average lost 0.06 macro-F1 to the plain forest (random thresholds over a few dozen clips
    per fault blur the rarer faults)."""
    return EXTRA_TREES_SHARE if n_classes == 2 else 0.0


def forest(seed: int = 0, n_trees: int = FOREST_TREES, extra_trees_share: float = EXTRA_TREES_SHARE):
    """Balanced-class trees: a random forest, extremely randomised trees, or both with their class probabilities
    averaged with equal weight (`extra_trees_share` of the `n_trees` trees are the extremely randomised ones)."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, VotingClassifier

    if not 0.0 <= extra_trees_share <= 1.0:
        raise ValueError(f"extra_trees_share is a share of the trees, in [0, 1]; got {extra_trees_share}")
    n_extra = round(n_trees * extra_trees_share)
    common = {"min_samples_leaf": 2, "class_weight": "balanced", "random_state": seed, "n_jobs": 2}
    kinds = []
    if n_trees - n_extra:
        kinds.append(("random_forest", RandomForestClassifier(n_estimators=n_trees - n_extra, **common)))
    if n_extra:
        kinds.append(("extra_trees", ExtraTreesClassifier(n_estimators=n_extra, **common)))
    if len(kinds) == 1:
        return kinds[0][1]
    return VotingClassifier(kinds, voting="soft")


def fitted_trees(model) -> list:
    """The fitted tree ensembles inside `model` (one for a plain forest, one per kind for an average)."""
    return list(getattr(model, "estimators_", [])) if hasattr(model, "voting") else [model]


def predict_with_one_thread(model) -> None:
    """Threads speed up fitting the trees; when predicting a clip or two they cost 30+ ms."""
    for trees in fitted_trees(model):
        trees.set_params(n_jobs=1)


def logistic(c: float = 0.01):
    """Standardised, strongly regularised logistic regression: with a dozen sessions, a simple boundary
    generalises to a new session better than a deep forest (measured in benchmarks/RESULTS.md)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=3000))


def predict_proba(model, x: np.ndarray) -> np.ndarray:
    """`model.predict_proba(x)`; for the standardised logistic pipeline above, the same arithmetic in numpy.

    The coach judges a set a few rows at a time, and scikit-learn's input checks and output wrapping took a
    tenth of judging a set (0.4 ms) for a product of a few dozen numbers. Equal to scikit-learn's within
    float rounding (tested); any other model is asked as usual."""
    steps = [step for _, step in getattr(model, "steps", [])]
    kinds = [type(step).__name__ for step in steps]
    if kinds != ["StandardScaler", "LogisticRegression"]:
        return model.predict_proba(x)
    from scipy.special import expit
    from sklearn.utils.extmath import softmax

    scaler, logistic_regression = steps
    z = np.asarray(x, dtype=np.float64)
    if scaler.with_mean:
        z = z - scaler.mean_
    if scaler.with_std:
        z = z / scaler.scale_
    decision = z @ logistic_regression.coef_.T + logistic_regression.intercept_
    if len(logistic_regression.classes_) <= 2:  # one-vs-rest: P(second class) = expit(decision)
        p = expit(decision[:, 0])
        return np.vstack([1.0 - p, p]).T
    return softmax(decision, copy=False)
