"""SQLite's WAL copied back into the database from a thread of its own, beside the writers' commits.

By default the commit that fills the WAL past 4 MB does the copy and its fsync itself: 30-70 ms for a heart-rate
chunk of the service, 50-120 ms for a gateway commit at 200 bands, and everything waiting on them waited too. A
writer connection calls `PRAGMA wal_autocheckpoint=0` and one `BackgroundCheckpoints` copies once a second
(PASSIVE: it never blocks a writer).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path

#: how often the WAL is copied into the database
CHECKPOINT_EVERY_S = 1.0


class BackgroundCheckpoints:
    def __init__(self, path: str | Path, every_s: float = CHECKPOINT_EVERY_S) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(Path(path), every_s), daemon=True,
                                        name="wal-checkpoints")  # fmt: skip
        self._thread.start()

    def _run(self, path: Path, every_s: float) -> None:
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        try:
            while not self._stop.wait(every_s):
                with contextlib.suppress(sqlite3.Error):  # busy, or gone: the WAL keeps everything; next time
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            db.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
