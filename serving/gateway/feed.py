"""What a lifter's page shows of one band: its readings, phases, rest decisions and the rest in progress.

The gateway serves it as server-sent events (`GET /events?band=N`: the session so far, then what is new as soon
as it is processed) and as one JSON document (`GET /session?band=N`: the whole session with one row per rest, for
the after-workout view). Reads go through their own read-only connection, so the journal's writer never waits
for a page, and come only from what the processor committed: a page shows what the band is told, nothing else.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

#: a reconnecting page gets at most this much history (s of stream time), so that the first event stays small
HISTORY_S = 1800.0


def _connect(journal_path: str | Path) -> sqlite3.Connection:
    return sqlite3.connect(
        f"file:{Path(journal_path)}?mode=ro", uri=True, timeout=5.0, check_same_thread=False
    )


def _rows(db: sqlite3.Connection, sql: str, args: tuple) -> list[tuple]:
    """Rows of a processing table; none before the processor has created it."""
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def json_number(x: float | None, digits: int = 1) -> float | None:
    """A number as JSON can carry it (JSON has no NaN or infinity): rounded, or None."""
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def _decision(row: tuple) -> dict:
    t_s, kind, reason, detail = row
    return {"t_s": t_s, "kind": kind, "reason": reason} | json.loads(detail)


class BandFeed:
    """One page's view of one band's stream: `poll()` returns what is new since the last call (None: nothing)."""

    def __init__(self, journal_path: str | Path, band_id: int, fs: float = 125.0) -> None:
        self.db = _connect(journal_path)
        self.band_id, self.fs = band_id, fs
        self.boot_id: int | None = None
        self._reading_t = self._phase_t = -math.inf
        self._decisions: set[tuple[float, str]] = set()
        self._live: dict | None = None

    def close(self) -> None:
        self.db.close()

    def _received_s(self, t_s: float) -> float | None:
        """When the gateway received the sample at stream time `t_s` (the newest one a reading used)."""
        seq = max(round(t_s * self.fs) - 1, 0)
        row = self.db.execute(
            "SELECT received_s FROM frames WHERE band_id = ? AND boot_id = ? AND first_seq <= ? "
            "ORDER BY first_seq DESC LIMIT 1",
            (self.band_id, self.boot_id, seq),
        ).fetchone()
        return row[0] if row else None

    def poll(self, boot_id: int | None, live: dict | None, connected: bool) -> dict | None:
        """New readings, phases and decisions of the band's stream `boot_id`, and its live state (phase, rest in
        progress with its forecast) when that changed. A new boot (the band restarted) starts over."""
        if boot_id is None:
            return None
        if boot_id != self.boot_id:
            self.boot_id, self._reading_t, self._phase_t = boot_id, -math.inf, -math.inf
            self._decisions, self._live = set(), None
        key = (self.band_id, boot_id)
        since = self._reading_t
        if since == -math.inf:  # a new page: the recent history only
            last = _rows(self.db, "SELECT MAX(t_s) FROM readings WHERE band_id = ? AND boot_id = ?", key)
            since = (last[0][0] or 0.0) - HISTORY_S if last else -math.inf
        readings = _rows(
            self.db,
            "SELECT t_s, bpm, sqi, confidence, reason FROM readings WHERE band_id = ? AND boot_id = ? AND t_s > ? "
            "ORDER BY t_s",
            (*key, since),
        )
        phases = _rows(
            self.db,
            "SELECT t_s, state, source FROM phases WHERE band_id = ? AND boot_id = ? AND t_s > ? ORDER BY t_s",
            (*key, self._phase_t),
        )
        decisions = [
            row
            for row in _rows(
                self.db,
                "SELECT t_s, kind, reason, detail FROM decisions WHERE band_id = ? AND boot_id = ? ORDER BY t_s",
                key,
            )
            if (row[0], row[1]) not in self._decisions
        ]
        live_now = {"connected": connected, **(live or {})}
        live_changed = live_now != self._live
        if not (readings or phases or decisions or live_changed):
            return None
        if readings:
            self._reading_t = readings[-1][0]
        if phases:
            self._phase_t = phases[-1][0]
        self._decisions |= {(r[0], r[1]) for r in decisions}
        self._live = live_now
        newest = readings[-1][0] if readings else None
        lookahead_s = float((live or {}).get("lookahead_s") or 0.0)
        return {
            "band": self.band_id,
            "boot": boot_id,
            "readings": [
                {
                    "t_s": t,
                    "bpm": json_number(bpm, 1),
                    "sqi": json_number(sqi, 3),
                    "confidence": json_number(c, 3),
                    "reason": reason or None,
                }
                for t, bpm, sqi, c, reason in readings
            ],
            "phases": [{"t_s": t, "state": s, "source": src} for t, s, src in phases],
            "decisions": [_decision(r) for r in decisions],
            "live": live_now,
            # when the gateway received the sample that completed the newest reading (its window's end plus the
            # estimator's look-ahead): the page measures its own delay from there
            "newest_received_s": self._received_s(newest + lookahead_s) if newest is not None else None,
        }


def rests(phases: list[dict], decisions: list[dict], end_s: float) -> list[dict]:
    """One row per rest: when it began and ended, the rest first predicted, the rest taken and what ended it.

    A rest ends at "rest over" (the band's signal) or, without one, when the next set began (the lifter went
    early) or at `end_s` (still resting when the stream ended)."""
    out = []
    for k, ph in enumerate(phases):
        if ph["state"] != "rest":
            continue
        nxt = next((q["t_s"] for q in phases[k + 1 :] if q["state"] == "set"), None)
        # a decision can come after the newest reading (the estimator looks ahead), so an open rest takes all
        mine = [d for d in decisions if ph["t_s"] <= d["t_s"] and (nxt is None or d["t_s"] < nxt)]
        first = next((d for d in mine if d["kind"] == "forecast"), None)
        over = next((d for d in mine if d["kind"] == "rest_over"), None)
        if over is not None:
            taken, ended_by = over["rest_s"], over["reason"]
        elif nxt is not None:
            taken, ended_by = round(nxt - ph["t_s"], 1), "the next set began before the rest was over"
        else:
            taken, ended_by = round(end_s - ph["t_s"], 1), "still resting when the stream ended"
        out.append(
            {
                "start_s": ph["t_s"],
                "predicted_s": first["rest_s"] if first else None,
                "target_hr": (over or first or {}).get("target_hr"),
                "taken_s": taken,
                "ended_by": ended_by,
                "forecast_by": first["reason"] if first else None,
            }
        )
    return out


def session_view(journal_path: str | Path, band_id: int, boot_id: int | None = None) -> dict:
    """The whole session of a band's stream (its newest boot unless named): readings, phases, decisions, rests."""
    db = _connect(journal_path)
    try:
        if boot_id is None:
            row = _rows(
                db,
                "SELECT boot_id FROM streams WHERE band_id = ? ORDER BY updated_s DESC LIMIT 1",
                (band_id,),
            )
            if not row:
                return {"band": band_id, "error": f"band {band_id} has not streamed to this gateway"}
            boot_id = row[0][0]
        key = (band_id, boot_id)
        readings = _rows(
            db,
            "SELECT t_s, bpm, sqi, reason FROM readings WHERE band_id = ? AND boot_id = ? ORDER BY t_s",
            key,
        )
        phases = [
            {"t_s": t, "state": s, "source": src}
            for t, s, src in _rows(
                db,
                "SELECT t_s, state, source FROM phases WHERE band_id = ? AND boot_id = ? ORDER BY t_s",
                key,
            )
        ]
        decisions = [
            _decision(r)
            for r in _rows(
                db,
                "SELECT t_s, kind, reason, detail FROM decisions WHERE band_id = ? AND boot_id = ? ORDER BY t_s",
                key,
            )
        ]
    finally:
        db.close()
    end_s = readings[-1][0] if readings else 0.0
    return {
        "band": band_id,
        "boot": boot_id,
        "readings": [
            {"t_s": t, "bpm": json_number(b, 1), "sqi": json_number(q, 3), "reason": r or None}
            for t, b, q, r in readings
        ],
        "phases": phases,
        "decisions": decisions,
        "rests": rests(phases, decisions, end_s),
    }
