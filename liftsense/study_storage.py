"""The Optuna study's database, made to ride out what a shared PostgreSQL does: restarts and dropped connections.

A restart is ridden out for up to `RIDE_OUT_S`: a new connection is retried while the server shuts down and
starts up, and a storage call cut off mid-query is run again. A longer outage raises, and the sweep stops with
a message saying how to carry on. (Rare edge: a write whose commit landed but whose reply was lost is run twice;
Optuna then either refuses it as finished or leaves a stray running trial that goes stale and is failed.)
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

RIDE_OUT_S = 10.0


def study_storage(url: str, attempts: int = 5, ride_out_s: float = RIDE_OUT_S, **kwargs):
    """An RDBStorage, retried while another worker is creating the same fresh database's schema.

    Two workers started at once on a new storage both try to create the tables and the alembic version row;
    the loser gets an integrity or "table exists" error, and on retry finds the schema the winner made.
    """
    import sqlalchemy.exc

    if url.startswith("postgresql"):
        # a connection the server dropped (a restart, an idle timeout) is replaced before use, not failed on
        kwargs.setdefault(
            "engine_kwargs", {"pool_pre_ping": True, "creator": _patient_connect(url, ride_out_s)}
        )
        storage_class = _patient_storage_class()
    else:
        from optuna.storages import RDBStorage as storage_class
    for attempt in range(attempts):
        try:
            storage = storage_class(url, **kwargs)
            storage.ride_out_s = ride_out_s
            return storage
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _patient_connect(url: str, ride_out_s: float) -> Callable[[], Any]:
    """A connection factory retrying while the server restarts ("shutting down", "starting up", refused)."""
    from sqlalchemy.engine import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def connect():
        import psycopg

        return _retried(
            lambda: psycopg.connect(conninfo),
            lambda exc: isinstance(exc, psycopg.OperationalError),
            ride_out_s,
        )

    return connect


def _retried(call: Callable[[], Any], retryable: Callable[[Exception], bool], ride_out_s: float) -> Any:
    """`call()`, run again every 0.5 s while it raises a `retryable` error, for up to `ride_out_s`."""
    deadline = time.monotonic() + ride_out_s
    while True:
        try:
            return call()
        except Exception as exc:
            if not retryable(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


_retrying = threading.local()


def _ride_out(method: Callable) -> Callable:
    """`method` run again while the database connection fails, for up to the storage's `ride_out_s`. Only the
    outermost storage call retries (methods call each other), so the window does not multiply."""
    import sqlalchemy.exc

    @functools.wraps(method)
    def patient(*args, **kwargs):
        if getattr(_retrying, "active", False):
            return method(*args, **kwargs)
        _retrying.active = True
        try:
            return _retried(
                lambda: method(*args, **kwargs),
                lambda exc: in_chain(exc, sqlalchemy.exc.OperationalError) is not None,
                getattr(args[0], "ride_out_s", RIDE_OUT_S),
            )
        finally:
            _retrying.active = False

    return patient


def in_chain(exc: BaseException | None, kind: type[BaseException]) -> BaseException | None:
    """`exc` or the first exception of type `kind` among its causes and contexts."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


@functools.cache
def _patient_storage_class():
    """RDBStorage whose storage calls (public, and the private ones Optuna's cache calls) ride out a restart."""
    from optuna.storages import RDBStorage

    skip = {"__init__", "__getstate__", "__setstate__", "__del__"}
    methods = {
        name: _ride_out(fn)
        for name, fn in vars(RDBStorage).items()
        if inspect.isfunction(fn) and name not in skip and not name.startswith("__")
    }
    return type("PatientRDBStorage", (RDBStorage,), methods)
