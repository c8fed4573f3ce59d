"""Run the suites on the tables of one dataset and report: passed, failed (the data), or could not run (exit 2)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from data_validation.suites import CHECKS, Check, expectation
from data_validation.tables import LOADERS, SourceError

log = logging.getLogger(__name__)
logging.getLogger("great_expectations").setLevel(logging.WARNING)  # its INFO lines at import drown the table


class ValidationRunError(RuntimeError):
    """The validation itself broke (a suite error, an expectation that raised, fewer expectations than defined)."""


@dataclass
class CheckResult:
    check: str
    table: str
    expectation: str
    column: str
    rule: str
    success: bool
    unexpected_count: int | None = None
    examples: list = field(default_factory=list)


@dataclass
class Report:
    kind: str
    source: str
    results: list[CheckResult]
    not_applicable: list[str]
    seconds: float
    notes: list[str] = field(default_factory=list)  # why a check does not apply to this data

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success]

    def table(self) -> str:
        head = f"{self.kind} {self.source}: {len(self.results)} expectations ran, {len(self.failures)} failed"
        if self.not_applicable:
            head += f" ({len(self.not_applicable)} not applicable: {', '.join(self.not_applicable)})"
        notes = [f"  note: {n}" for n in self.notes]
        if self.success:
            return "\n".join([head + " -> PASS", *notes])
        rows = [f"{'check':<22} {'table':<10} {'column':<22} {'count':>7}  rule / offending values"]
        for r in self.failures:
            count = "" if r.unexpected_count is None else str(r.unexpected_count)
            rows.append(
                f"{r.check:<22} {r.table:<10} {r.column:<22} {count:>7}  {r.rule}; e.g. {r.examples[:5]}"
            )
        return "\n".join([head + " -> FAIL", *notes, *rows])

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "source": self.source,
            "success": self.success,
            "seconds": self.seconds,
            "not_applicable": self.not_applicable,
            "notes": self.notes,
            "results": [asdict(r) for r in self.results],
        }


def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _applicable(check: Check, tables: dict[str, pd.DataFrame]) -> bool:
    table = tables.get(check.table)
    column = check.kwargs.get("column")
    return table is not None and (column is None or column in table.columns)


def validate_tables(
    kind: str, tables: dict[str, pd.DataFrame], source: str = "", docs_dir: str | Path | None = None
) -> Report:
    import great_expectations as gx

    t0 = time.perf_counter()
    checks = CHECKS[kind]
    todo = [c for c in checks if _applicable(c, tables)]
    skipped = [c.id for c in checks if c not in todo]
    context = _context()
    docs_site = _docs_site(context, Path(docs_dir)) if docs_dir is not None else None
    datasource = context.data_sources.add_pandas(f"{kind}_source")
    results: list[CheckResult] = []
    for table_name in dict.fromkeys(c.table for c in todo):
        suite_checks = [c for c in todo if c.table == table_name]
        suite = context.suites.add(gx.ExpectationSuite(name=f"{kind}_{table_name.strip('_')}"))
        for check in suite_checks:
            suite.add_expectation(expectation(check))
        asset = datasource.add_dataframe_asset(table_name.strip("_") or "table")
        batch = asset.add_batch_definition_whole_dataframe("all")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{kind}_{table_name.strip('_')}_validation", data=batch, suite=suite
            )
        )
        frame = tables[table_name].reset_index(drop=True)
        outcome = _run(context, definition, frame, docs_site)
        ran = outcome.statistics["evaluated_expectations"]
        if ran != len(suite_checks):  # a dropped expectation must never pass silently
            raise ValidationRunError(
                f"{kind}/{table_name}: {ran} expectations ran, {len(suite_checks)} defined"
            )
        by_id = {c.id: c for c in suite_checks}
        for r in outcome.results:
            cfg = r.expectation_config
            check = by_id[cfg.meta["check"]]
            info = r.exception_info or {}
            if info.get("raised_exception"):
                raise ValidationRunError(
                    f"{kind}/{table_name}: check {check.id} raised: {info.get('exception_message')}"
                )
            res = r.result or {}
            examples = res.get("partial_unexpected_list") or (
                [res["observed_value"]] if "observed_value" in res else []
            )
            rows = res.get("unexpected_index_list") or []
            if rows and "sequence_id" in frame and not r.success:
                examples = [
                    f"row {i} ({frame.at[i, 'sequence_id']}): {v}"
                    for i, v in zip(rows[:5], examples[:5], strict=False)
                ]
            elif rows and not r.success:
                label = next((c for c in ("id", "recording", "landmark", "labels") if c in frame), None)
                examples = [
                    f"row {i}{f' ({frame.at[i, label]})' if label else ''}: {v}"
                    for i, v in zip(rows[:5], examples[:5], strict=False)
                ]
            results.append(
                CheckResult(
                    check.id,
                    table_name,
                    check.expectation,
                    str(check.kwargs.get("column", "")),
                    check.rule,
                    bool(r.success),
                    res.get("unexpected_count"),
                    [str(e) for e in examples[:5]],
                )
            )
    notes = [t.attrs["note"] for t in tables.values() if "note" in t.attrs]
    return Report(kind, source, results, skipped, time.perf_counter() - t0, notes)


def _docs_site(context, folder: Path) -> str:
    """A Data Docs site in `folder` (it renders unstyled offline: GE's CSS comes from a CDN)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = "liftsense"
    context.add_data_docs_site(
        name,
        {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(folder.resolve()),
            },
        },
    )
    return name


def _run(context, definition, frame: pd.DataFrame, docs_site: str | None):
    """Run one validation; with a docs site, through a checkpoint that renders the result into it."""
    if docs_site is None:
        return definition.run(batch_parameters={"dataframe": frame}, result_format="COMPLETE")
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{definition.name}_checkpoint",
            validation_definitions=[definition],
            actions=[UpdateDataDocsAction(name="data_docs", site_names=[docs_site])],
            result_format="COMPLETE",
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    return next(iter(result.run_results.values()))


def validate(kind: str, source: str, docs_dir: str | Path | None = None) -> Report:
    """Load a dataset by name or path and validate it. Raises SourceError/ValidationRunError when it cannot run."""
    if kind not in LOADERS:
        raise SourceError(f"unknown kind {kind!r}; expected one of {sorted(LOADERS)}")
    try:
        tables = LOADERS[kind](source)
    except SourceError:
        raise
    except Exception as exc:
        raise SourceError(f"{kind} {source}: cannot load ({type(exc).__name__}: {exc})") from exc
    return validate_tables(kind, tables, source, docs_dir)


class DataValidationFailed(RuntimeError):
    """Training refused: the dataset failed its gate. The message is the failure table."""

    def __init__(self, report: Report) -> None:
        super().__init__(
            report.table() + "\n(to train anyway, override with validation.fail_on_error=false; it is logged)"
        )
        self.report = report


def gate_for_training(
    kind: str, make_tables: Callable[[], dict[str, pd.DataFrame]], source: str, validation_cfg: dict | None
) -> Report | None:
    """Validate before training (None when `validation.enabled=false`): raise DataValidationFailed on failure
    unless `validation.fail_on_error=false` (then log a warning and go on)."""
    vcfg = validation_cfg or {}
    if not vcfg.get("enabled", True):
        return None
    report = validate_tables(kind, make_tables(), source)
    if not report.success:
        if vcfg.get("fail_on_error", True):
            raise DataValidationFailed(report)
        log.warning(
            "data validation FAILED but training goes on (validation.fail_on_error=false):\n%s",
            report.table(),
        )
    else:
        log.info("%s", report.table())
    return report


def log_to_mlflow(report: Report | None, client, run_id: str, validation_cfg: dict | None) -> None:
    """The gate's result on the training run (nothing when the gate was off)."""
    import json
    import tempfile

    if report is None:
        return
    overridden = not (validation_cfg or {}).get("fail_on_error", True)
    client.log_metric(run_id, "validation_success", float(report.success))
    client.log_metric(run_id, "validation_expectations", float(len(report.results)))
    client.log_metric(run_id, "validation_failed", float(len(report.failures)))
    client.log_metric(run_id, "validation_seconds", report.seconds)
    client.set_tag(run_id, "validation_override", str(overridden and not report.success))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data_validation.json"
        path.write_text(json.dumps(report.to_dict(), indent=2, default=str))
        client.log_artifact(run_id, str(path))
