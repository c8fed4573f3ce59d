"""The gateway's journal: every accepted sample frame, on disk before it is acknowledged.

SQLite in WAL mode with `synchronous=FULL`: a commit is on disk when it returns, so a gateway killed at any point
has lost nothing it acknowledged. Frames are stored as they came (their samples' bytes), keyed by band, boot and
first sequence number, with each stream's state (the next sample it needs, what was lost or duplicated) updated
in the same transaction: a restarted gateway asks each band for exactly what it lacks.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serving.gateway.protocol import Frame, FrameType
from serving.wal import BackgroundCheckpoints

SCHEMA = """
CREATE TABLE IF NOT EXISTS frames (
    band_id INTEGER NOT NULL, boot_id INTEGER NOT NULL, first_seq INTEGER NOT NULL, count INTEGER NOT NULL,
    device_ms INTEGER NOT NULL, flags INTEGER NOT NULL, received_s REAL NOT NULL, payload BLOB NOT NULL,
    PRIMARY KEY (band_id, boot_id, first_seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS streams (
    band_id INTEGER NOT NULL, boot_id INTEGER NOT NULL, state TEXT NOT NULL, updated_s REAL NOT NULL,
    PRIMARY KEY (band_id, boot_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    band_id INTEGER NOT NULL, boot_id INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    detail TEXT NOT NULL, received_s REAL NOT NULL
);
"""


@dataclass
class StreamState:
    """One boot of one band: what has been stored and what happened to the rest."""

    band_id: int
    boot_id: int
    hello: dict = field(default_factory=dict)
    next_seq: int = 0  # every sample below this is stored or known lost
    samples_stored: int = 0
    samples_lost: int = 0  # declared lost by the band (its buffer or the sensor's FIFO overflowed)
    samples_duplicated: int = 0  # received again after being stored (resent after a reconnect)
    frames_ahead: int = 0  # frames after a hole (the frame before was corrupt): dropped, resend requested
    clock_drift_ppm: float | None = (
        None  # how fast the band's clock runs against the gateway's (TIME_SYNC fit)
    )
    clock_offset_ms: float | None = None  # gateway time (ms since the epoch) at the band's clock zero
    first_seen_s: float = field(default_factory=time.time)


@dataclass
class PendingFrame:
    band_id: int
    boot_id: int
    first_seq: int
    count: int
    device_ms: int
    flags: int
    received_s: float
    payload: bytes


#: rows per INSERT statement (8 columns: far under SQLite's 32,766 bound variables)
ROWS_PER_STATEMENT = 500

#: statements with their parameters, ready to run
Statements = list[tuple[str, list]]


def _insert_rows(head: str, rows: list[tuple], tail: str = "") -> Statements:
    """Many rows in one statement per `ROWS_PER_STATEMENT`, not one statement per row (`executemany` lets go of the
    GIL around every row, and from a worker thread each row then waited for the busy event loop to hand it back)."""
    out = []
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        placeholders = "(" + ", ".join("?" * len(chunk[0])) + ")"
        out.append(
            (f"{head} {', '.join([placeholders] * len(chunk))}{tail}", [v for row in chunk for v in row])
        )
    return out


class Journal:
    """Frames and stream states on disk; one writer (the gateway), any number of readers."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self._checkpoints: BackgroundCheckpoints | None = None

    def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.stop()
        self.db.close()

    def checkpoint_apart(self) -> None:
        """The writer's commits stop copying the WAL back into the database (at 200 bands that copy stalled a
        commit, and every ACK waiting on it, for 50-120 ms every few seconds); a thread copies it instead."""
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self._checkpoints = BackgroundCheckpoints(self.path)

    def streams(self) -> dict[tuple[int, int], StreamState]:
        rows = self.db.execute("SELECT state FROM streams").fetchall()
        states = [StreamState(**json.loads(r[0])) for r in rows]
        return {(s.band_id, s.boot_id): s for s in states}

    def commit(
        self,
        frames: Iterable[PendingFrame],
        states: Iterable[StreamState],
        events: Iterable[tuple[int, int, int, str, str, float]] = (),
    ) -> None:
        """Frames, the states of their streams and events, in one durable transaction."""
        self.write(self.prepare(frames, states, events))

    @staticmethod
    def prepare(
        frames: Iterable[PendingFrame],
        states: Iterable[StreamState],
        events: Iterable[tuple[int, int, int, str, str, float]] = (),
    ) -> Statements:
        """The statements of a commit, built apart from `write`: the gateway builds them on its event loop, so that
        the disk thread needs the GIL for almost nothing (at 200 bands, building them there took up to 135 ms a
        commit while the event loop held the GIL, and every ACK waited)."""
        now = time.time()
        frame_rows = [
            (f.band_id, f.boot_id, f.first_seq, f.count, f.device_ms, f.flags, f.received_s, f.payload)
            for f in frames
        ]
        state_rows = [(s.band_id, s.boot_id, json.dumps(vars(s)), now) for s in states]  # asdict: slow
        return [
            *_insert_rows("INSERT OR IGNORE INTO frames VALUES", frame_rows),
            *_insert_rows(
                "INSERT INTO streams VALUES",
                state_rows,
                " ON CONFLICT(band_id, boot_id) DO UPDATE SET state = excluded.state, updated_s = excluded.updated_s",
            ),
            *_insert_rows("INSERT INTO events VALUES", list(events)),
        ]

    def write(self, statements: Statements) -> None:
        """Prepared statements in one durable transaction (synchronous=FULL: synced before it returns)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                db.execute(sql, params)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- reading back ----------------------------------------------------------------------------------------------
    def frames(self, band_id: int, boot_id: int, from_seq: int = 0) -> Iterator[tuple[int, int, bytes]]:
        """(first_seq, count, payload) of a stream's frames from `from_seq`, in order."""
        yield from self.db.execute(
            "SELECT first_seq, count, payload FROM frames WHERE band_id = ? AND boot_id = ? AND first_seq >= ? "
            "ORDER BY first_seq",
            (band_id, boot_id, from_seq),
        )

    def samples(self, band_id: int, boot_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A stream's stored samples: sequence numbers (n,), PPG counts (2, n) and acceleration counts (3, n)."""
        seqs, ppg, acc = [], [], []
        for first, count, payload in self.frames(band_id, boot_id):
            frame = Frame(FrameType.SAMPLES, band_id, first, payload=payload, count=count)
            p, a = frame.samples()
            seqs.append(np.arange(first, first + count))
            ppg.append(p)
            acc.append(a)
        if not seqs:
            return np.zeros(0, int), np.zeros((2, 0), np.uint32), np.zeros((3, 0), np.int16)
        return np.concatenate(seqs), np.concatenate(ppg, axis=1), np.concatenate(acc, axis=1)

    def events(self, band_id: int | None = None) -> list[tuple]:
        if band_id is None:
            return self.db.execute("SELECT * FROM events ORDER BY rowid").fetchall()
        return self.db.execute("SELECT * FROM events WHERE band_id = ? ORDER BY rowid", (band_id,)).fetchall()
