"""The session table and its sets and rests.

The schema (CSV or Parquet, one row per HR sample) is `COLUMNS` below; docs/session_schema.md shows it as
`schema_markdown()` writes it (`python -m liftsense.resthr.sessions` prints it; a test keeps the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HR_LIMITS = (25.0, 250.0)  # bpm: the loader and the data-validation gate both check these
RPE_LIMITS = (1.0, 10.0)

#: (column, type, required, meaning): the one source of the schema, for the loader, the gate and the docs
COLUMNS: tuple[tuple[str, str, bool, str], ...] = (
    ("time", "float, s", True, "since the session start; strictly increasing within a session"),
    (
        "heart_rate",
        "float, bpm",
        True,
        f"measured HR in {HR_LIMITS[0]:g}-{HR_LIMITS[1]:g}; NaN when the sensor gave no reading (never 0)",
    ),
    (
        "heart_rate_change",
        "float, bpm",
        False,
        "`heart_rate` minus the previous sample's; recomputed on load",
    ),
    ("state", "int", True, "1 during a set (exercise), 0 at rest"),
    ("id", "str", True, "the session; a session's rows are contiguous"),
    (
        "RPE",
        "float",
        False,
        f"rating of perceived exertion of the set, {RPE_LIMITS[0]:g}-{RPE_LIMITS[1]:g}; NaN when unknown",
    ),
    (
        "subject",
        "str",
        False,
        "the person (defaults to `id`); splits go by person when there are at least 5, else by session",
    ),
    ("active_rest", "0/1", False, "1 when the lifter walks about during the rest"),
)
REQUIRED = tuple(name for name, _, required, _ in COLUMNS if required)


def schema_markdown() -> str:
    """The schema as docs/session_schema.md shows it: the column table and the errors the loader raises."""
    rows = [f"| `{n}` | {t} | {'yes' if r else 'no'} | {m} |" for n, t, r, m in COLUMNS]
    return "\n".join(
        [
            "| column | type | required | meaning |",
            "|---|---|---|---|",
            *rows,
            "",
            "Errors (a `SessionError` naming the session and row): a missing required column, time that does not "
            f"increase, an HR of\n0 or outside {HR_LIMITS[0]:g}-{HR_LIMITS[1]:g}, a state other than 0/1, a "
            "session with no rest at all.",
        ]
    )


class SessionError(ValueError):
    """A session that breaks the schema; the message names the session and the row."""


@dataclass
class Bout:
    """One set followed by its rest, as arrays on the session's own time base."""

    session: str
    subject: str
    index: int  # set number within the session, from 0
    set_time: np.ndarray
    set_hr: np.ndarray
    rest_time: np.ndarray  # seconds since the set ended
    rest_hr: np.ndarray
    rest_duration: float
    set_end: float = 0.0  # session time of the set's last sample
    rpe: float = float("nan")
    active_rest: float = float("nan")
    context: dict = field(default_factory=dict)

    @property
    def set_duration(self) -> float:
        return float(self.set_time[-1] - self.set_time[0]) if len(self.set_time) else 0.0


@dataclass
class SkipLog:
    """Counted, documented skips (sets too short or too long, rests without samples) for the run's logs."""

    counts: dict = field(default_factory=dict)

    def add(self, reason: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1


def read_sessions(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise SessionError(f"{path}: no such file")
    if path.suffix.lower() == ".parquet":
        table = pd.read_parquet(path)
    elif path.suffix.lower() == ".csv":
        table = pd.read_csv(path, dtype={"id": str})
    else:
        raise SessionError(f"{path}: unsupported format {path.suffix!r} (expected .csv or .parquet)")
    return validate(table, source=str(path))


def write_sessions(table: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    validate(table)
    if path.suffix.lower() == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    return path


def validate(table: pd.DataFrame, source: str = "sessions") -> pd.DataFrame:
    """Check the schema; return a clean copy (heart_rate_change recomputed, RPE/subject filled)."""
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise SessionError(f"{source}: missing column(s) {missing}; the schema needs {list(REQUIRED)}")
    table = table.copy()
    table["id"] = table["id"].astype(str)
    if "RPE" not in table:
        table["RPE"] = np.nan
    if "subject" not in table:
        table["subject"] = table["id"]
    for session, rows in table.groupby("id", sort=False):
        where = rows.index
        t = rows["time"].to_numpy(dtype=float)
        bad = np.flatnonzero(~(np.diff(t) > 0))
        if len(bad):
            row = where[bad[0] + 1]
            raise SessionError(
                f"{source}: session {session!r}, row {row}: time {t[bad[0] + 1]} does not increase "
                f"(previous {t[bad[0]]})"
            )
        hr = rows["heart_rate"].to_numpy(dtype=float)
        out = np.flatnonzero(np.isfinite(hr) & ((hr < HR_LIMITS[0]) | (hr > HR_LIMITS[1])))
        if len(out):
            raise SessionError(
                f"{source}: session {session!r}, row {where[out[0]]}: heart_rate {hr[out[0]]} is "
                f"outside {HR_LIMITS[0]:g}-{HR_LIMITS[1]:g} bpm (0 means no reading: use NaN)"
            )
        state = rows["state"].to_numpy()
        odd = np.flatnonzero(~np.isin(state, (0, 1)))
        if len(odd):
            raise SessionError(
                f"{source}: session {session!r}, row {where[odd[0]]}: state {state[odd[0]]} is not 0 or 1"
            )
        if not (state == 0).any():
            raise SessionError(f"{source}: session {session!r} has no rest (state 0) at all")
    table["heart_rate_change"] = table.groupby("id", sort=False)["heart_rate"].diff().fillna(0.0)
    return table


def bouts(
    table: pd.DataFrame, min_set_s: float = 5.0, max_set_s: float = 600.0, skips: SkipLog | None = None
) -> list[Bout]:
    """Every set followed by a rest, in order; sets too short or too long are skipped and counted."""
    skips = skips if skips is not None else SkipLog()
    out: list[Bout] = []
    for session, rows in table.groupby("id", sort=False):
        t = rows["time"].to_numpy(dtype=float)
        hr = rows["heart_rate"].to_numpy(dtype=float)
        state = rows["state"].to_numpy().astype(int)
        rpe = rows["RPE"].to_numpy(dtype=float)
        active = (
            rows["active_rest"].to_numpy(dtype=float) if "active_rest" in rows else np.full(len(t), np.nan)
        )
        edges = np.flatnonzero(np.diff(state) != 0) + 1
        starts = np.concatenate([[0], edges])
        ends = np.concatenate([edges, [len(t)]])
        runs = [(s, e, state[s]) for s, e in zip(starts, ends, strict=True)]
        set_index = 0
        for k, (s, e, st) in enumerate(runs):
            if st != 1:
                continue
            nxt = runs[k + 1] if k + 1 < len(runs) else None
            duration = t[e - 1] - t[s]
            if duration < min_set_s or duration > max_set_s:
                skips.add(
                    f"set shorter than {min_set_s:g} s"
                    if duration < min_set_s
                    else f"set longer than {max_set_s:g} s"
                )
                set_index += 1
                continue
            if nxt is None:
                skips.add("set without a following rest")
                continue
            rs, re_ = nxt[0], nxt[1]
            rest_end = t[re_] if re_ < len(t) else t[re_ - 1]
            set_end = t[e - 1]
            out.append(
                Bout(
                    session=str(session),
                    subject=str(rows["subject"].iloc[0]),
                    index=set_index,
                    set_time=t[s:e] - set_end,
                    set_hr=hr[s:e],
                    rest_time=t[rs:re_] - set_end,
                    rest_hr=hr[rs:re_],
                    rest_duration=float(rest_end - set_end),
                    set_end=float(set_end),
                    rpe=float(np.nanmax(rpe[s:e])) if np.isfinite(rpe[s:e]).any() else float("nan"),
                    active_rest=float(np.nanmax(active[rs:re_]))
                    if np.isfinite(active[rs:re_]).any()
                    else float("nan"),
                )
            )
            set_index += 1
    return out


if __name__ == "__main__":
    print(schema_markdown())
