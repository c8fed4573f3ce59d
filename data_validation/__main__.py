"""`python -m data_validation validate <kind> <source>`: exit 0 = data passes, 1 = data fails, 2 = could not validate.

kinds and sources:
  landmarks  builtin | squat_3d | pushup | exercise_correction | posetrainer | FILE.csv/.parquet (the extraction CLI's landmark table)
  ppg        spc2015 | builtin | FILE.mat/.csv | FOLDER of .mat
  hr         builtin | garmin | physionet | FILE.csv/.parquet (the session table)
`python -m data_validation mutations` runs the corruption suite and prints which check caught each.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from data_validation import KINDS

CI_DATASETS = (
    ("landmarks", "builtin"),
    ("landmarks", "squat_3d"),
    ("landmarks", "pushup"),
    ("landmarks", "exercise_correction"),
    ("landmarks", "posetrainer"),
    ("ppg", "builtin"),
    ("ppg", "spc2015"),
    ("hr", "builtin"),
    ("hr", "garmin"),
    ("hr", "physionet"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_validation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    val = sub.add_parser("validate", help="validate one dataset")
    val.add_argument("kind", choices=KINDS)
    val.add_argument("source", help="a dataset name or a path (see above)")
    val.add_argument("--docs", metavar="DIR", help="also write Great Expectations Data Docs (HTML) here")
    val.add_argument("--json", metavar="FILE", help="also write the full result as JSON")
    val.add_argument(
        "--fs", type=float, help="declared sample rate of a PPG CSV (checked against its time column)"
    )
    sub.add_parser("mutations", help="corrupt clean data in realistic ways and show which check catches each")
    ci = sub.add_parser(
        "ci", help="the CI gate: every built-in and real dataset (real ones need ../shared/data)"
    )
    ci.add_argument("--docs", metavar="DIR", help="also write Data Docs here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    if args.command == "mutations":
        from data_validation.mutations import run_all, table

        rows = run_all()
        print(table(rows))
        return 0 if all(r["caught"] for r in rows) else 1

    from data_validation.gate import ValidationRunError, validate
    from data_validation.tables import SourceError

    if args.command == "ci":
        import os

        from liftsense.datasets.paths import RealDataMissing, data_dir

        if os.environ.get("CI") and not data_dir().exists():  # said before minutes of validating the rest
            print(
                f"could not validate the real datasets: {data_dir()} is not here, and CI must validate them, never "
                "skip them (put the shared data folder at ../shared/data or set LIFTSENSE_DATA_DIR)",
                file=sys.stderr,
            )
            return 2
        worst, absent = 0, []
        for kind, source in CI_DATASETS:
            try:
                report = validate(kind, source, args.docs)
            except (SourceError, ValidationRunError, RealDataMissing) as exc:
                missing = exc if isinstance(exc, RealDataMissing) else exc.__cause__
                if isinstance(missing, RealDataMissing) and not os.environ.get("CI"):
                    absent.append((f"{kind} {source}", missing))  # skipped, as the tests skip it
                    continue
                print(f"could not validate {kind} {source}: {exc}", file=sys.stderr)
                worst = 2
                continue
            print(report.table(), f"[{report.seconds:.1f} s]")
            worst = max(worst, 0 if report.success else 1)
        if absent and not data_dir().exists():
            print(
                f"skipped {len(absent)} real datasets ({', '.join(n for n, _ in absent)}): {data_dir()} is not here. "
                "Real data is kept out of the repository; put the shared data folder at ../shared/data or set "
                "LIFTSENSE_DATA_DIR; `python -m liftsense.datasets.paths` lists each one and its public source"
            )
        for name, exc in absent if data_dir().exists() else []:
            print(f"skipped {name}: {exc}")
        return worst

    try:
        if args.kind == "ppg" and args.fs is not None:
            from data_validation.gate import validate_tables
            from data_validation.tables import load_ppg

            report = validate_tables("ppg", load_ppg(args.source, args.fs), args.source, args.docs)
        else:
            report = validate(args.kind, args.source, args.docs)
    except (SourceError, ValidationRunError) as exc:
        print(f"could not validate: {exc}", file=sys.stderr)
        return 2
    print(report.table())
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report.to_dict(), fh, indent=2, default=str)
    return 0 if report.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
