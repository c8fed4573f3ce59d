"""Real HR sessions converted to the session table.

- Garmin FIT strength sessions (`../shared/data/hr/garmin_strength_fit`), read with Garmin's own FIT SDK: `set`
  messages give active and rest spans, `record` messages the wrist HR (about 1 Hz, irregular, with gaps). Samples
  outside every set span (warm-up, another sport in a multisport file) are dropped, and where that leaves a hole of
  more than 2 minutes only the longest unbroken stretch is kept. All four files come from one
  watch, so the honest split is by session; there is no second person.
- PhysioNet wearable-exercise bike sprints (`.../physionet_wearable_exercise/Wearable_Dataset/ANAEROBIC`): E4 HR at
  1 Hz; `tags.csv` button presses mark sprint start and end. Sprints are consecutive tag pairs 15-60 s apart;
  other presses (protocol start and end) are ignored. Subject = folder name without its `_a`/`_b` part. The E4's HR
  lags the heart by 30 s or more, so this is a hard-sensor case.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from liftsense.resthr.sessions import SessionError, validate

SPRINT_S = (15.0, 60.0)
MAX_GAP_S = 120.0  # no HR for longer than this: the session is broken there


def garmin_dir() -> Path:
    from liftsense.datasets.paths import data_dir, require

    return require(data_dir() / "hr" / "garmin_strength_fit")


def physionet_dir() -> Path:
    from liftsense.datasets.paths import data_dir, require

    return require(data_dir() / "hr" / "physionet_wearable_exercise" / "Wearable_Dataset" / "ANAEROBIC")


def read_fit(path: str | Path) -> pd.DataFrame:
    """One FIT file -> session rows (time from the first set's start)."""
    from garmin_fit_sdk import Decoder, Stream

    path = Path(path)
    try:
        messages, errors = Decoder(Stream.from_file(str(path))).read()
    except Exception as exc:  # the SDK raises plain Exceptions on corrupt files
        raise SessionError(f"{path}: not a readable FIT file ({exc})") from exc
    if errors:
        raise SessionError(f"{path}: FIT decoding errors: {errors[:3]}")
    sets = [m for m in messages.get("set_mesgs", []) if m.get("start_time") and m.get("duration")]
    records = [m for m in messages.get("record_mesgs", []) if m.get("heart_rate") and m.get("timestamp")]
    if not sets or not records:
        raise SessionError(f"{path}: no set messages or no heart-rate records: not a strength session")
    origin = min(m["start_time"] for m in sets)
    spans = [
        (
            (m["start_time"] - origin).total_seconds(),
            (m["start_time"] - origin).total_seconds() + m["duration"],
            1 if m.get("set_type") == "active" else 0,
        )
        for m in sets
    ]
    t = np.array([(m["timestamp"] - origin).total_seconds() for m in records])
    hr = np.array([float(m["heart_rate"]) for m in records])
    state = np.full(len(t), -1)
    for start, end, kind in spans:
        state[(t >= start) & (t < end)] = kind
    keep = state >= 0
    order = np.argsort(t[keep], kind="stable")
    frame = pd.DataFrame({"time": t[keep][order], "heart_rate": hr[keep][order], "state": state[keep][order]})
    frame = frame.drop_duplicates("time", keep="first").reset_index(drop=True)
    # a multisport file leaves a long hole where the other sport was: keep the longest unbroken stretch
    parts = np.split(np.arange(len(frame)), np.flatnonzero(np.diff(frame["time"].to_numpy()) > MAX_GAP_S) + 1)
    frame = frame.iloc[max(parts, key=len)].reset_index(drop=True)
    frame["id"] = f"garmin_{path.stem.split('_')[0]}"
    frame["subject"] = "garmin_watch_owner"
    frame["RPE"] = np.nan
    return frame


def load_garmin(folder: str | Path | None = None) -> pd.DataFrame:
    folder = Path(folder) if folder else garmin_dir()
    files = sorted(folder.glob("*.fit"))
    if not files:
        raise SessionError(f"{folder}: no .fit files")
    return validate(pd.concat([read_fit(f) for f in files], ignore_index=True), source=str(folder))


def _times(path: Path) -> list[pd.Timestamp]:
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    return [pd.Timestamp(ln) for ln in lines]


def read_physionet_sprints(folder: str | Path) -> pd.DataFrame:
    """One ANAEROBIC subject folder -> session rows (1 Hz from the HR file's start)."""
    folder = Path(folder)
    lines = [ln.strip() for ln in (folder / "HR.csv").read_text().splitlines() if ln.strip()]
    if len(lines) < 3:
        raise SessionError(f"{folder / 'HR.csv'}: too short to hold a start time, a rate and samples")
    start, rate = pd.Timestamp(lines[0]), float(lines[1])
    hr = np.array([float(x) for x in lines[2:]])
    t = np.arange(len(hr)) / rate
    tags = (
        [(x - start).total_seconds() for x in _times(folder / "tags.csv")]
        if (folder / "tags.csv").exists()
        else []
    )
    state = np.zeros(len(t), dtype=int)
    i = 0
    while i < len(tags) - 1:
        if SPRINT_S[0] <= tags[i + 1] - tags[i] <= SPRINT_S[1]:
            state[(t >= tags[i]) & (t < tags[i + 1])] = 1
            i += 2
        else:
            i += 1
    hr = np.where((hr >= 25) & (hr <= 250), hr, np.nan)
    return pd.DataFrame(
        {
            "time": t,
            "heart_rate": hr,
            "state": state,
            "id": f"physionet_{folder.name}",
            "subject": f"physionet_{folder.name.split('_')[0]}",
            "RPE": np.nan,
        }
    )


def load_physionet(folder: str | Path | None = None) -> pd.DataFrame:
    folder = Path(folder) if folder else physionet_dir()
    subjects = sorted(p for p in folder.iterdir() if p.is_dir() and (p / "HR.csv").exists())
    frames = [read_physionet_sprints(p) for p in subjects]
    frames = [f for f in frames if (f["state"] == 1).any()]
    return validate(pd.concat(frames, ignore_index=True), source=str(folder))
