"""Where the real data lives: `../shared/data` next to the checkout, or $LIFTSENSE_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GET_DATA_HINT = (
    "The real datasets are not in the repository. Put the project's shared data folder at ../shared/data next "
    "to the checkout (see its README), or point LIFTSENSE_DATA_DIR at it."
)


def data_dir() -> Path:
    env = os.environ.get("LIFTSENSE_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def require(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} not found. {GET_DATA_HINT}")
    return path
