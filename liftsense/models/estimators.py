"""The scikit-learn estimators behind the clip models (and the forest baseline in the benchmarks)."""

from __future__ import annotations


def forest(seed: int = 0):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=300, min_samples_leaf=2, class_weight="balanced", random_state=seed, n_jobs=2
    )


def logistic(c: float = 0.01):
    """Standardised, strongly regularised logistic regression: with a dozen sessions, a simple boundary
    generalises to a new session better than a deep forest (measured in benchmarks/RESULTS.md)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, class_weight="balanced", max_iter=3000))
