"""The data-validation gates: clean data passes, each realistic corruption is caught by the check meant for it,
the CLI's exit codes never confuse 'data fails' with 'could not validate', and training stops on bad data."""

from __future__ import annotations

import pandas as pd
import pytest

from data_validation import mutations
from data_validation.__main__ import main
from data_validation.gate import ValidationRunError, validate_tables
from data_validation.suites import CHECKS
from tests.conftest import run_entry_point


@pytest.mark.parametrize("kind", sorted(mutations.CLEAN))
def test_clean_data_passes_every_check(kind):
    report = validate_tables(kind, mutations.CLEAN[kind](), "clean")
    assert report.success, report.table()
    assert len(report.results) == len(CHECKS[kind]) - len(report.not_applicable)


@pytest.mark.parametrize("mutation", mutations.MUTATIONS, ids=[m.name for m in mutations.MUTATIONS])
def test_each_corruption_is_caught_by_its_check(mutation):
    report = validate_tables(mutation.kind, mutation.apply(), mutation.name)
    failed = {f.check for f in report.failures}
    assert mutation.expected_check in failed, report.table()


def test_the_mutation_suite_is_broad():
    assert len(mutations.MUTATIONS) >= 20
    assert {m.kind for m in mutations.MUTATIONS} == {"landmarks", "ppg", "hr"}


def test_a_silently_dropped_expectation_breaks_the_run_instead_of_passing(monkeypatch):
    import great_expectations as gx

    original = gx.ExpectationSuite.add_expectation

    def dropping(self, expectation):
        if expectation.meta.get("check") == "unique_frames":
            return expectation  # as GE does with an unimported custom expectation: gone without a trace
        return original(self, expectation)

    monkeypatch.setattr(gx.ExpectationSuite, "add_expectation", dropping)
    with pytest.raises(ValidationRunError, match="expectations ran"):
        validate_tables("landmarks", mutations.CLEAN["landmarks"](), "clean")


def test_failure_table_names_the_check_the_column_the_count_and_rows():
    report = validate_tables("hr", mutations.zero_for_dropouts(), "zeros")
    text = report.table()
    assert "FAIL" in text and "hr_range" in text and "heart_rate" in text and "row 0" in text
    (failure,) = [f for f in report.failures if f.check == "hr_range"]
    assert failure.unexpected_count > 0


# -- the CLI --------------------------------------------------------------------------------------------------------
@pytest.fixture
def session_files(tmp_path):
    good = tmp_path / "good.csv"
    mutations.clean_sessions().to_csv(good, index=False)
    bad = tmp_path / "bad.csv"
    mutations.clean_sessions().assign(heart_rate=lambda t: t["heart_rate"] / 60).to_csv(bad, index=False)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    return good, bad, broken


def test_cli_exit_codes_pass_fail_and_could_not_run(session_files, tmp_path, capsys):
    good, bad, broken = session_files
    assert main(["validate", "hr", str(good)]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["validate", "hr", str(bad), "--json", str(tmp_path / "r.json")]) == 1
    assert "hr_range" in capsys.readouterr().out
    assert pd.read_json(tmp_path / "r.json", typ="series")["success"] is False
    assert main(["validate", "hr", str(broken)]) == 2
    assert "could not validate" in capsys.readouterr().err
    assert main(["validate", "ppg", str(tmp_path / "missing.mat")]) == 2


def test_data_docs_are_written_on_request(session_files, tmp_path):
    good, _, _ = session_files
    assert main(["validate", "hr", str(good), "--docs", str(tmp_path / "docs")]) == 0
    pages = {p.relative_to(tmp_path / "docs").parts[0] for p in (tmp_path / "docs").rglob("*.html")}
    assert {"index.html", "expectations", "validations"} <= pages  # the suites and this run's results


# -- wired into training ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_training_stops_on_bad_data_and_the_override_is_logged(tmp_path):
    bad = tmp_path / "landmarks_in_pixels.parquet"
    table = mutations.clean_landmark_table().copy()
    table[[c for c in table.columns if c.endswith("_x")]] *= 640
    table.to_parquet(bad)
    small = ["trainer=smoke", "data=table", f"data.path={bad}", "split.n_splits=3"]
    proc = run_entry_point("train.py", tmp_path, *small)
    assert proc.returncode == 1
    assert (
        "x_max_in_image" in proc.stdout + proc.stderr and "nothing was trained" in proc.stdout + proc.stderr
    )

    proc = run_entry_point("train.py", tmp_path, *small, "validation.fail_on_error=false")
    assert proc.returncode == 0, proc.stderr[-2000:]
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = mlflow.search_runs(experiment_names=["posture-binary"], output_format="list")
    assert run.data.tags["validation_override"] == "True"
    assert run.data.metrics["validation_success"] == 0.0 and run.data.metrics["validation_failed"] >= 1


def test_rules_doc_is_in_sync_with_the_suites():
    from pathlib import Path

    from data_validation.suites import markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "data_validation.md"
    assert doc.read_text() == markdown(), (
        "regenerate: python -m data_validation.suites > docs/data_validation.md"
    )


def test_a_landmark_never_present_fails_the_gate_by_name_as_training_would():
    report = validate_tables("landmarks", mutations.landmark_never_present(), "extraction")
    (failure,) = [f for f in report.failures if f.check == "landmarks_present"]
    assert any("left_knee (" in str(e) and ": 0.0" in str(e) for e in failure.examples), failure.examples


def test_a_single_label_recording_is_validated_for_what_it_is_and_training_data_is_not(tmp_path, capsys):
    table = mutations.clean_landmark_table()
    one = table[table["label"] == "correct"]
    path = tmp_path / "mine.csv"
    one.to_csv(path, index=False)
    assert (
        main(["validate", "landmarks", str(path)]) == 0
    )  # a recording of correct reps: nothing wrong with it
    out = capsys.readouterr().out
    assert "this file holds only one label, 'correct'" in out and "class_balance" in out
    one.drop(columns=["label"]).to_csv(path, index=False)
    assert main(["validate", "landmarks", str(path)]) == 0
    assert "this file holds no labels" in capsys.readouterr().out
    report = validate_tables("landmarks", mutations.one_class_only(), "training")
    (failure,) = [f for f in report.failures if f.check == "class_balance"]
    assert "this data holds only one label, 'correct'" in str(failure.examples)
