"""The test suite (a package, so that `tests.conftest` is ours even when a dependency ships a `tests` package)."""
