"""From the journal to the lifter: each stream's samples, in order, through `liftsense.resthr.LiveSession`.

The processor reads only what is durable, frame by frame in sequence order, so a stream's readings and decisions
are the same however its samples arrived (reconnects, resends, a gateway restart). Each session's state is saved
with its cursor every few seconds; after a crash it redoes the frames since, and its keyed outputs make the redone
readings and decisions land once.

Heart rate runs in process (the library's streaming estimator: about 0.1 ms of CPU per band-second, where the
service's `heart_rate` API costs about 10 ms a 2 s chunk in HTTP and validation); rest forecasts come from the
service (`rest_forecast`, `rest_update`) when one is configured, else from the library in process.
"""

from __future__ import annotations

import json
import logging
import pickle
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from serving.gateway.feed import json_number
from serving.gateway.journal import Journal
from serving.gateway.protocol import Frame as WireFrame
from serving.gateway.protocol import FrameType

log = logging.getLogger("liftsense.gateway")

PROCESSING_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    band_id INTEGER NOT NULL, boot_id INTEGER NOT NULL, cursor INTEGER NOT NULL, state BLOB NOT NULL,
    PRIMARY KEY (band_id, boot_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readings (
    band_id INTEGER NOT NULL, boot_id INTEGER NOT NULL, t_s REAL NOT NULL, bpm REAL, sqi REAL NOT NULL,
    confidence REAL NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (band_id, boot_id, t_s)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS phases (
    band_id INTEGER NOT NULL, boot_id INTEGER NOT NULL, t_s REAL NOT NULL, state TEXT NOT NULL, source TEXT NOT NULL,
    PRIMARY KEY (band_id, boot_id, t_s, state)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS decisions (
    band_id INTEGER NOT NULL, boot_id INTEGER NOT NULL, t_s REAL NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
    detail TEXT NOT NULL, decided_at REAL NOT NULL, PRIMARY KEY (band_id, boot_id, t_s, kind)
) WITHOUT ROWID;
"""
#: how often (wall seconds) each session's state is saved: a session's pickle is ~90 kB, so saving it at every step
#: (5 a second) cost a third of a core at 200 bands. After a crash the processor redoes at most this much of each
#: stream from its last save; the outputs are keyed, so redoing them writes and sends nothing twice. The sessions
#: are saved at staggered times, a few each step: all 200 at once (18 MB) held the journal's one write lock for
#: 100-150 ms every 5 s, and the gateway's commits, and so its ACKs, waited behind it.
CHECKPOINT_S = 5.0

_EVENT_PHASE = {"set_start": "set", "set_end": "rest"}


def in_process_forecaster() -> Callable:
    """The library's rest forecaster (the best simple one on the built-in sessions' validation rests), fitted at
    its first use (about 3 s, in the processing thread) so that the gateway listens at once."""
    fitted = []

    def forecast(done, rest_t, rest_hr):
        if not fitted:
            from liftsense.resthr import fitted_rest_forecaster

            fitted.append(fitted_rest_forecaster())
        forecaster = fitted[0]
        return forecaster.forecast(done) if len(rest_t) == 0 else forecaster.update(done, rest_t, rest_hr)

    return forecast


def service_forecaster(url: str, timeout_s: float = 2.0) -> Callable:
    """The service's `rest_forecast` / `rest_update` over HTTP; a failure is the caller's "no forecast"."""
    import httpx

    from liftsense.resthr import RestForecast

    client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s)

    def forecast(done, rest_t, rest_hr):
        body = {
            "set_time_s": [float(x) for x in done.time_s],
            "set_hr": [float(x) for x in done.hr],
            "set_index": int(done.set_index),
        }
        if done.resting_hr is not None:
            body["resting_hr"] = float(done.resting_hr)
        if len(rest_t):
            r = client.post("/rest_update", json={"done": body, "rest_time_s": list(map(float, rest_t)),
                                                  "rest_hr": list(map(float, rest_hr))})  # fmt: skip
        else:
            r = client.post("/rest_forecast", json=body)
        r.raise_for_status()
        return RestForecast(**r.json())

    return forecast


class Processor:
    """Runs one `LiveSession` per stream over the journal; `step()` processes what was committed since."""

    def __init__(self, journal: Journal, forecast: Callable | None) -> None:
        self.journal = journal
        self.forecast = forecast
        self.journal.db.executescript(PROCESSING_SCHEMA)
        self._sessions: dict[tuple[int, int], Any] = {}
        self._cursors: dict[tuple[int, int], int] = {
            (b, k): c for b, k, c in journal.db.execute("SELECT band_id, boot_id, cursor FROM sessions")
        }
        self.latency_s: list[float] = []  # a frame's receipt to its processing (newest 100,000)
        self._saved_at: dict[tuple[int, int], float] = {}  # monotonic time of each session's last save
        self._unsaved: set[tuple[int, int]] = set()
        self.summary: dict[tuple[int, int], dict] = {}  # per stream: phase, target, last reading (for status)

    def _session(self, key: tuple[int, int], hello: dict):
        session = self._sessions.get(key)
        if session is None:
            row = self.journal.db.execute(
                "SELECT state FROM sessions WHERE band_id = ? AND boot_id = ?", key
            ).fetchone()
            if row:
                session = pickle.loads(row[0])  # written by this gateway only, never by a band
            else:
                from liftsense.resthr import LiveSession

                session = LiveSession(None, fs=float(hello.get("sample_rate_hz", 125)))
            session.forecast_fn = self.forecast
            self._sessions[key] = session
        return session

    def step(self, streams: dict, checkpoint: bool | None = None) -> list[tuple[int, int, Any]]:
        """Process every stream's new durable frames; returns the (band, boot, decision) newly taken. The sessions
        are saved every `CHECKPOINT_S`, staggered (`checkpoint=True`: every one now; `False`: none)."""
        from liftsense.ppg import from_counts

        readings, phases, decisions = [], [], []
        taken = []
        now = time.time()
        for key, state in list(streams.items()):
            cursor = self._cursors.get(key, 0)
            if state.next_seq <= cursor:
                continue
            session = self._session(key, state.hello)
            scale = int(state.hello.get("acc_lsb_per_g", 8192))
            events = self._events(key, cursor, state.next_seq)
            last_reading = None
            rows = self.journal.db.execute(
                "SELECT first_seq, count, payload, received_s FROM frames WHERE band_id = ? AND boot_id = ? "
                "AND first_seq >= ? ORDER BY first_seq",
                (*key, cursor),
            ).fetchall()
            # runs of contiguous frames go to the session as one chunk (its outputs do not depend on chunking);
            # a hole (samples the band lost) starts a new run, which the estimator bridges as a gap
            for run in _contiguous_runs(rows):
                first = run[0][0]
                payload = b"".join(r[2] for r in run)
                count = sum(r[1] for r in run)
                frame = WireFrame(FrameType.SAMPLES, key[0], first, payload=payload, count=count)
                ppg, acc = from_counts(*frame.samples(), scale)
                here = [(s, p) for s, p in events if first <= s < first + count]
                out = session.push(ppg, acc, here, seq=first)
                self.latency_s += [now - r[3] for r in run]
                readings += [(*key, r.t_s, r.bpm, r.sqi, r.confidence, r.reason) for r in out.readings]
                last_reading = out.readings[-1] if out.readings else last_reading
                phases += [(*key, p.t_s, p.state, p.source) for p in out.phases]
                for d in out.decisions:
                    detail = {"hr": d.hr, "target_hr": d.target_hr, "rest_s": d.rest_s}
                    decisions.append(((*key, d.t_s, d.kind, d.reason, json.dumps(detail), now), (*key, d)))
                cursor = first + count
            self._cursors[key] = cursor
            self._unsaved.add(key)
            self.summary[key] = _summary(session, last_reading, self.summary.get(key))
        del self.latency_s[:-100_000]
        mono = time.monotonic()
        due = [k for k in self._unsaved if checkpoint or (checkpoint is None and self._save_due(k, mono))]
        saved = [(*k, self._cursors[k], pickle.dumps(self._sessions[k], protocol=pickle.HIGHEST_PROTOCOL))
                 for k in due]  # fmt: skip
        for k in due:
            self._saved_at[k] = mono
            self._unsaved.discard(k)
        if readings or phases or decisions or saved:
            taken = self._commit(readings, phases, decisions, saved)
        return taken

    def _save_due(self, key: tuple[int, int], now: float) -> bool:
        """Each session every `CHECKPOINT_S`, the first time at a phase of its own, so that the saves are spread
        over every step."""
        if key not in self._saved_at:
            self._saved_at[key] = now - spread_phase(key[0]) * CHECKPOINT_S
        return now - self._saved_at[key] >= CHECKPOINT_S

    def _events(self, key: tuple[int, int], start: int, end: int) -> list[tuple[int, str]]:
        rows = self.journal.db.execute(
            "SELECT seq, kind FROM events WHERE band_id = ? AND boot_id = ? AND seq >= ? AND seq < ? ORDER BY rowid",
            (*key, start, end),
        ).fetchall()
        return [(int(seq), _EVENT_PHASE[kind]) for seq, kind in rows if kind in _EVENT_PHASE]

    def _commit(self, readings, phases, decisions, saved) -> list[tuple[int, int, Any]]:
        """Outputs and saved sessions in one transaction; the decisions that are new (not redone after a restart)."""
        db = self.journal.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO readings VALUES (?, ?, ?, ?, ?, ?, ?)", readings)
            db.executemany("INSERT OR IGNORE INTO phases VALUES (?, ?, ?, ?, ?)", phases)
            new = [taken for row, taken in decisions
                   if db.execute("INSERT OR IGNORE INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?)", row).rowcount]  # fmt: skip
            db.executemany(
                "INSERT INTO sessions VALUES (?, ?, ?, ?) ON CONFLICT(band_id, boot_id) DO UPDATE SET "
                "cursor = excluded.cursor, state = excluded.state",
                saved,
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return new


def spread_phase(band_id: int) -> float:
    """A band's own phase in [0, 1) for periodic work: the golden ratio spreads any ids (consecutive ones too)
    evenly, so that 200 bands that connected together do not all come due in one burst."""
    return band_id * 0.6180339887 % 1.0


def _contiguous_runs(rows: list[tuple]) -> list[list[tuple]]:
    """(first_seq, count, ...) rows in order -> runs where each frame starts where the one before ended."""
    runs: list[list[tuple]] = []
    for row in rows:
        if runs and runs[-1][-1][0] + runs[-1][-1][1] == row[0]:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _summary(session, last_reading, before: dict | None) -> dict:
    """A stream's status: phase, stream time, the current rest's target, and its newest reading (kept from the step
    before when this one produced none)."""
    rest = session.rest
    summary = {
        "phase": session.state,
        "stream_s": round(session.now_s, 1),
        "target_hr": rest.forecast.target_hr
        if rest is not None and rest.forecast and not rest.over
        else None,
        "last_reading": (before or {}).get("last_reading"),
        "rest": None if rest is None else _rest_summary(rest),
        # how far past a reading's window the estimator reads before it gives the reading (fixed-lag smoothing)
        "lookahead_s": session.lookahead_s,
    }
    if last_reading is not None:
        r = last_reading
        summary["last_reading"] = {"t_s": r.t_s, "bpm": r.bpm, "sqi": r.sqi, "reason": r.reason}
    return summary


def _rest_summary(rest) -> dict:
    """The rest in progress (or just over) as a page draws it: its start, and the forecast's curve, 10-90% band,
    target and predicted rest, all in stream time."""
    f = rest.forecast
    forecast = None
    if f is not None:
        forecast = {
            "t_s": [round(rest.start_s + h, 1) for h in f.horizons_s],
            "hr": [json_number(x) for x in f.hr],
            "low": [json_number(x) for x in f.low],
            "high": [json_number(x) for x in f.high],
            "target_hr": round(float(f.target_hr), 1),
            "rest_s": round(float(f.rest_s), 1),
            "produced_by": f.produced_by,
        }
    return {"start_s": rest.start_s, "over": rest.over, "forecast": forecast}


def run_processor(journal_path: str, service: str | None, interval_s: float, out, stop) -> None:
    """The processor's own process (the gateway starts it): its CPU never holds up receiving and acknowledging.

    Every `interval_s` it processes what the journal holds and puts ("step", decisions, status) on `out`; when
    `stop` is set, or its parent is gone (killed), it saves every session and exits.
    """
    import os
    from dataclasses import asdict

    from threadpoolctl import threadpool_limits

    # one BLAS thread: the tracker's small products gain nothing from two, and on a busy machine the second
    # thread's spin-waiting took a quarter of the processor's time
    threadpool_limits(1)
    os.nice(
        5
    )  # receiving and acknowledging come first when the cores are busy; processing has a second of slack
    parent = os.getppid()
    journal = Journal(journal_path)
    processor = Processor(journal, service_forecaster(service) if service else in_process_forecaster())
    while True:
        final = stop.wait(interval_s) or os.getppid() != parent
        try:
            taken = processor.step(journal.streams(), checkpoint=True if final else None)
        except Exception:  # one bad step must not end processing; the next one retries from the cursor
            log.exception("processing failed")
            taken = []
        status = {
            "latency_ms": percentiles_ms(processor.latency_s),
            "streams": {f"{b}:{k}": v for (b, k), v in processor.summary.items()},
        }
        out.put(("step", [(b, k, asdict(d)) for b, k, d in taken], status))
        if final:
            break
    journal.close()


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    """p50 and p99 of latencies in seconds, in ms (for the status)."""
    values = sorted(seconds)
    if not values:
        return {}
    return {
        f"p{q}": round(1000 * values[min(len(values) - 1, int(q / 100 * len(values)))], 2) for q in (50, 99)
    }


def readings(journal: Journal, band_id: int, boot_id: int) -> list[tuple[float, float | None, float]]:
    """A stream's readings: (t_s, bpm or None, sqi), in time order."""
    return journal.db.execute(
        "SELECT t_s, bpm, sqi FROM readings WHERE band_id = ? AND boot_id = ? ORDER BY t_s",
        (band_id, boot_id),
    ).fetchall()


def session_table(journal: Journal):
    """Every stream as a session in the session schema (`docs/session_schema.md`): one row per reading, the
    phase at its time, NaN where there was no reading; the id is the band and its boot, the subject the band."""
    import pandas as pd

    rows = []
    streams = journal.db.execute("SELECT DISTINCT band_id, boot_id FROM readings ORDER BY band_id, boot_id")
    for band_id, boot_id in streams.fetchall():
        changes = journal.db.execute(
            "SELECT t_s, state FROM phases WHERE band_id = ? AND boot_id = ? ORDER BY t_s", (band_id, boot_id)
        ).fetchall()
        times = np.array([t for t, _ in changes])
        states = [s for _, s in changes]
        for t_s, bpm, _ in readings(journal, band_id, boot_id):
            k = int(np.searchsorted(times, t_s, side="right")) - 1
            state = 1 if k >= 0 and states[k] == "set" else 0
            rows.append(
                (t_s, np.nan if bpm is None else bpm, state, f"band{band_id}-{boot_id:08x}", f"band{band_id}")
            )
    return pd.DataFrame(rows, columns=["time", "heart_rate", "state", "id", "subject"])
