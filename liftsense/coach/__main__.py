"""The coach: per-rep feedback from a video, an image folder, a landmark table or a webcam.

    python -m liftsense.coach squat.mp4 --exercise squat
    python -m liftsense.coach set1.mp4 set2.mp4 --exercise pushup --json report.json --annotate out.mp4
    python -m liftsense.coach --webcam 0 --exercise squat
    python -m liftsense.coach squat.mp4 --exercise squat --model models:/posture-squat_3d-fault@champion

One row per rep: start and end time, the driving angle at the top and the bottom (squats: depth as hips above
knees in leg lengths), tempo (down, pause, up in seconds), and the verdict with its probability and cue, or
"no reading" with the reason. Then the set summary. Exit 0 when every source was read, 2 when some were not,
1 when none was.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger("liftsense.coach")


def _parser() -> argparse.ArgumentParser:
    from liftsense.coach.exercises import EXERCISE_REPS

    p = argparse.ArgumentParser(
        prog="python -m liftsense.coach",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "sources", nargs="*", type=Path, help="videos, image folders or landmark tables (.csv/.parquet)"
    )
    p.add_argument("--exercise", required=True, help=f"one of: {', '.join(sorted(EXERCISE_REPS))}")
    p.add_argument("--webcam", type=int, default=None, help="camera index for live coaching")
    p.add_argument(
        "--max-frames", type=int, default=None, help="stop each video (or the webcam) after N frames"
    )
    p.add_argument(
        "--model", default=None, help="models:/NAME@ALIAS or runs:/ID/model; 'none' for no verdicts"
    )
    p.add_argument(
        "--tracking-uri",
        default=None,
        help="MLflow tracking URI (default: ./mlflow.db or $MLFLOW_TRACKING_URI)",
    )
    p.add_argument(
        "--references", type=Path, default=None, help="a clip of your own good reps (calibrated models)"
    )
    p.add_argument("--json", type=Path, default=None, help="write the reports as JSON")
    p.add_argument(
        "--annotate", type=Path, default=None, help="write the (first) video with skeleton, count and cues"
    )
    p.add_argument(
        "--rotate",
        type=int,
        choices=(0, 90, 180, 270),
        default=0,
        help="turn the picture clockwise first (a video filmed turned whose file has no rotation flag)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from liftsense.coach.coach import coach_clip
    from liftsense.coach.exercises import rep_signal_of
    from liftsense.coach.models import NoFormModel, load_form_model
    from liftsense.coach.sources import read_clips
    from liftsense.pose.extract import ExtractionError
    from liftsense.pose.table import LandmarkTableError

    if not args.sources and args.webcam is None:
        _parser().error("give at least one source or --webcam N")
    try:
        exercise = rep_signal_of(args.exercise).exercise
    except ValueError as exc:
        _parser().error(str(exc))
    model, model_name = None, None
    if (args.model or "").lower() != "none":
        try:
            model, model_name = load_form_model(args.model, exercise, args.tracking_uri)
        except NoFormModel as exc:
            log.warning("%s", exc)
        except Exception as exc:
            log.error("cannot load the form model %s: %s: %s", args.model, type(exc).__name__, exc)
            return 1
    references = None
    if args.references is not None:
        try:
            references = read_clips(args.references, progress=not args.quiet)[0][0]
        except (ExtractionError, LandmarkTableError, OSError) as exc:
            log.error("cannot read the reference reps: %s", exc)
            return 1
    if args.webcam is not None:
        from liftsense.coach.webcam import run_webcam

        report = run_webcam(args.webcam, exercise, model, model_name, args.max_frames)
        reports = [report] if report is not None else []
        failures = [] if reports else [f"webcam {args.webcam}: no frames"]
    else:
        reports, failures = [], []
        for source in args.sources:
            try:
                clips, problems = read_clips(source, args.max_frames, progress=not args.quiet)
            except (ExtractionError, LandmarkTableError) as exc:
                failures.append(str(exc))
                log.error("no reading for %s", exc)
                continue
            except Exception as exc:
                failures.append(f"{source}: {type(exc).__name__}: {exc}")
                log.error("no reading for %s: %s: %s", source, type(exc).__name__, exc)
                continue
            for clip in clips:
                report = coach_clip(clip, exercise, model, references, model_name, rotate=args.rotate)
                report.warnings = problems + report.warnings
                reports.append(report)
    for report in reports:
        print(report.text())
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in reports], indent=2))
        log.info("wrote %s", args.json)
    if args.annotate and reports and args.sources:
        from liftsense.coach.annotate import annotate_video

        first = next(
            (s for s in args.sources if s.is_file() and s.suffix.lower() not in (".csv", ".parquet")), None
        )
        if first is None:
            log.error("--annotate needs a video source")
        else:
            annotate_video(first, reports[0], args.annotate, args.max_frames)
            log.info("wrote %s", args.annotate)
    if failures:
        log.error(
            "%d of %d sources could not be read:\n  %s",
            len(failures),
            len(args.sources) or 1,
            "\n  ".join(failures),
        )
    return 0 if not failures else (2 if reports else 1)


if __name__ == "__main__":
    sys.exit(main())
