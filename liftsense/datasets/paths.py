"""Where the real data lives: `../shared/data` next to the checkout, or $LIFTSENSE_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GET_DATA_HINT = (
    "The real datasets are not in the repository. Put the project's shared data folder at ../shared/data next "
    "to the checkout (see its README), or point LIFTSENSE_DATA_DIR at it."
)

#: folder under the data dir -> (what it is for, where its public source is)
REAL_DATA: dict[str, tuple[str, str]] = {
    "pose/squat_3d": (
        "data=squat_3d: real squat clips with named faults",
        "github.com/PrashCode5321/Squat-Analysis",
    ),
    "pose/pushup_mediapipe33": (
        "data=pushup: real push-up videos as landmarks",
        "github.com/riyer8/cs231n-pushfit",
    ),
    "pose/exercise_correction_mediapipe": (
        "data=exercise_correction: curl, lunge and plank form labels",
        "github.com/NgoQuocBao1010/Exercise-Correction",
    ),
    "pose/posetrainer_openpose18": ("data=posetrainer: OpenPose reps", "github.com/stevenzchen/pose-trainer"),
    "spc2015": ("the PPG heart-rate benchmarks (IEEE SPC 2015)", "the IEEE Signal Processing Cup 2015 data"),
    "ppg_extra": (
        "wrist PPG from other devices with ECG references",
        "PhysioNet and the papers in its README",
    ),
    "hr/garmin_strength_fit": (
        "data=rest_garmin: real strength sessions (Garmin FIT)",
        "github.com/jarkko/fit-analyzer",
    ),
    "hr/physionet_wearable_exercise": (
        "data=rest_physionet: E4 wristband sprints",
        "physionet.org: Wearable Device Dataset from Induced Stress and Structured Exercise Sessions",
    ),
}


class RealDataMissing(FileNotFoundError):
    """Real data that is not on this machine: one line saying what is missing, what it is for, where to get it."""


def data_dir() -> Path:
    env = os.environ.get("LIFTSENSE_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def require(path: Path) -> Path:
    if path.exists():
        return path
    try:
        inside = path.resolve().relative_to(data_dir().resolve()).as_posix()
    except ValueError:
        inside = ""
    purpose = next((v for k, v in REAL_DATA.items() if inside == k or inside.startswith(k + "/")), None)
    if purpose is None:
        raise RealDataMissing(f"{path} not found. {GET_DATA_HINT}")
    what, source = purpose
    raise RealDataMissing(
        f"{path} not found: it holds {what}. Real data is kept out of the repository: put the shared data folder "
        f"at ../shared/data or set LIFTSENSE_DATA_DIR (public source: {source})"
    )


if (
    __name__ == "__main__"
):  # `python -m liftsense.datasets.paths`: which real data is here, what it is for, its source
    for folder, (what, source) in REAL_DATA.items():
        here = "here   " if (data_dir() / folder).exists() else "MISSING"
        print(f"{here} {data_dir() / folder}\n        {what}; public source: {source}")
