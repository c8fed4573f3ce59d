"""New connections shared evenly between the service's worker processes: each takes its fair share, not all.

BentoML's workers all listen on one socket, and a kept-alive connection stays with the worker that accepted it.
asyncio accepts every connection waiting each time the socket is readable (up to the listen backlog, 2,048), so the
first worker woken by a burst takes all of them. Accepting one per wake-up with a short pause (this module's first
version) still split 8 clients' connections 4/4 in only 3 of 20 loads (7/1 in 4, 8/0 in 1), and `judge` at 8
clients went from p50 11.7 ms on a 4/4 split to 18.2 ms on 7/1: the clients of the crowded worker queue behind each
other while the other worker idles.

So the workers keep a ledger: each worker's open connections, one 8-byte slot per worker in a small shared file.
Woken by waiting connections, a worker reads how many wait (Linux reports a listening socket's accept queue in its
TCP_INFO) and accepts up to its share of all connections, open and waiting: 8 connections split 4/4 however the
wake-ups fall, and a busy worker whose loop comes round late still accepts its share at once. A worker at its share
leaves the rest to the others, and takes them itself if they are still waiting after `GRACE_S` (a worker that is
busy for long, or gone, does not hold a connection up for longer).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import math
import mmap
import os
import socket
import struct
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: a worker at its share looks at the waiting connections again after this long
RECHECK_S = 0.001
#: ...and accepts them itself when they have waited this long for the others (busy or gone): longer than a busy
#: loop's round (25 ms for 1,024 windows; larger inputs are worked on in threads)
GRACE_S = 0.1
_SLOT = struct.Struct("q")
_LEDGER_PREFIX = "liftsense-connections-"


def waiting_connections(sock: socket.socket) -> int | None:
    """Connections in a listening socket's accept queue (Linux's TCP_INFO `tcpi_unacked` for a listener); None
    where the platform does not say."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 32)
    except (AttributeError, OSError):
        return None
    return struct.unpack_from("I", info, 24)[0] if len(info) >= 28 else None


class ConnectionLedger:
    """Open connections per worker, in a file every worker of one server maps (one slot each, written only by its
    worker, so no lock: a read a moment stale only shifts one connection's choice)."""

    def __init__(self, path: Path, workers: int, index: int) -> None:
        if not 0 <= index < workers:
            raise ValueError(f"worker index {index} is outside 0..{workers - 1}")
        self.path, self.workers, self.index = path, workers, index
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < workers * _SLOT.size:
                os.ftruncate(fd, workers * _SLOT.size)
            self._map = mmap.mmap(fd, workers * _SLOT.size)
        finally:
            os.close(fd)
        self._set(0)  # a restarted worker starts from none

    def _set(self, value: int) -> None:
        _SLOT.pack_into(self._map, self.index * _SLOT.size, value)

    def mine(self) -> int:
        return _SLOT.unpack_from(self._map, self.index * _SLOT.size)[0]

    def add(self, change: int) -> None:
        self._set(max(0, self.mine() + change))

    def total(self) -> int:
        return sum(_SLOT.unpack_from(self._map, k * _SLOT.size)[0] for k in range(self.workers))

    @classmethod
    def for_server(cls, sock: socket.socket, workers: int, index: int) -> ConnectionLedger:
        """The ledger of the server this worker belongs to: its workers share a parent process (BentoML's arbiter)
        and the listening port. Ledgers of servers no longer running are removed."""
        folder = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())
        for old in folder.glob(f"{_LEDGER_PREFIX}*"):
            parent = old.name.removeprefix(_LEDGER_PREFIX).split("-")[0]
            if parent.isdigit() and not _alive(int(parent)):
                with contextlib.suppress(OSError):  # another user's, in the sticky /dev/shm: theirs to remove
                    old.unlink(missing_ok=True)
        port = sock.getsockname()[1] if sock.family in (socket.AF_INET, socket.AF_INET6) else sock.fileno()
        return cls(folder / f"{_LEDGER_PREFIX}{os.getppid()}-{port}", workers, index)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _CountingSocket:
    """The listening socket as asyncio's accept loop sees it: each accepted connection is entered in the ledger
    the moment it is accepted (the protocol is made a loop round later, and the other workers read the ledger)."""

    def __init__(self, sock: socket.socket, ledger: ConnectionLedger) -> None:
        self.counted_from, self._ledger = sock, ledger

    def accept(self):
        conn, addr = self.counted_from.accept()
        self._ledger.add(1)
        return conn, addr

    def __getattr__(self, name: str):
        return getattr(self.counted_from, name)


def _counted(protocol_factory, ledger: ConnectionLedger):
    """The protocol factory, with each connection's end taken out of the ledger."""

    def make():
        protocol = protocol_factory()
        lost = protocol.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            ledger.add(-1)
            lost(exc)

        protocol.connection_lost = connection_lost
        return protocol

    make.counted_from = protocol_factory  # type: ignore[attr-defined]
    return make


def accept_connections_fairly(workers: int, worker_index: int | None) -> bool:
    """Patch asyncio's selector event loop (the loop uvicorn runs without uvloop) in this worker process so that it
    accepts its share of new connections. `worker_index` counts from 1, as BentoML's does; False, with a log line,
    where there is nothing to share or this Python's loop has no method to patch. Idempotent."""
    from asyncio import selector_events

    if workers < 2 or worker_index is None:
        return False
    if importlib.util.find_spec("uvloop") is not None:
        log.warning("uvloop is installed, so uvicorn runs it: workers accept connections as libuv does (one may take "
                    "a whole burst), not by their shares")  # fmt: skip
    loop_class = selector_events.BaseSelectorEventLoop
    accept = getattr(loop_class, "_accept_connection", None)
    if accept is None:
        log.warning("asyncio has no _accept_connection here: workers accept connections as asyncio does")
        return False
    if getattr(accept, "fair_share", False):
        return True

    ledgers: dict[int, ConnectionLedger | None] = {}  # None: none could be made, accept as asyncio does
    # per listening socket: since when this worker has left connections waiting for the others
    waiting_since: dict[int, float] = {}

    @functools.wraps(accept)
    def accept_share(self, protocol_factory, sock, sslcontext=None, server=None, backlog=100, *rest):
        # asyncio re-arms the socket with what it was given when it ran out of descriptors: unwrap it
        sock = getattr(sock, "counted_from", sock)
        protocol_factory = getattr(protocol_factory, "counted_from", protocol_factory)
        fd = sock.fileno()
        if fd not in ledgers:  # tried once per socket: a failure is not retried (and logged) on every accept
            try:
                ledgers[fd] = ConnectionLedger.for_server(sock, workers, worker_index - 1)
            except OSError as exc:
                # sharing is worth having, accepting is not optional: accept as asyncio does
                log.warning("no connection ledger (%s): this worker accepts connections as asyncio does", exc)
                ledgers[fd] = None
        ledger = ledgers[fd]
        if ledger is None:
            return accept(self, protocol_factory, sock, sslcontext, server, backlog, *rest)
        # the ledger before the queue: a connection another worker accepts in between is then counted at most
        # once (read the other way round, it could be counted twice, and this worker take one too many)
        total = ledger.total()
        waiting = waiting_connections(sock)
        share = math.ceil((total + (1 if waiting is None else waiting)) / workers)
        take = share - ledger.mine()
        if take <= 0:
            since = waiting_since.setdefault(fd, time.monotonic())
            if time.monotonic() - since < GRACE_S:
                _look_again_later(self, protocol_factory, sock, sslcontext, server, backlog, rest)
                return
            take = backlog  # the others have not taken them: take what waits
        waiting_since.pop(fd, None)
        # `backlog` here is only how many one wake-up accepts; the socket's listen queue is unchanged
        accept(self, _counted(protocol_factory, ledger), _CountingSocket(sock, ledger), sslcontext, server,
               min(take, backlog), *rest)  # fmt: skip

    def _look_again_later(loop, protocol_factory, sock, sslcontext, server, backlog, rest) -> None:
        fd = sock.fileno()
        loop._remove_reader(fd)

        def listen_again() -> None:
            if sock.fileno() != fd or (server is not None and not server.is_serving()):
                return
            if waiting_connections(sock) == 0:
                waiting_since.pop(fd, None)  # the others took them
            loop._add_reader(
                fd, loop._accept_connection, protocol_factory, sock, sslcontext, server, backlog, *rest
            )

        loop.call_later(RECHECK_S, listen_again)

    accept_share.fair_share = True  # type: ignore[attr-defined]
    loop_class._accept_connection = accept_share  # type: ignore[method-assign]
    return True
