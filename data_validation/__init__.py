"""Data-validation gates (Great Expectations 1.x) for the three kinds of data the platform consumes.

- `tables`: turn a dataset (landmarks, PPG recordings, HR sessions) into the flat tables the suites check, with
  derived per-row facts (e.g. "time increases within the session") where a built-in expectation cannot say it.
- `suites`: the expectations, each with the domain rule it enforces.
- `gate`: run the suites, build the failure table, write Data Docs; `python -m data_validation validate ...`.
- `mutations`: realistic corruptions of clean data, and which expectation must catch each.
"""

KINDS = ("landmarks", "ppg", "hr")
