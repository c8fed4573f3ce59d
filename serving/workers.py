"""New connections shared between the service's worker processes, not grabbed by one.

BentoML's workers all listen on one socket. asyncio accepts every connection waiting on it each time the socket is
readable (up to the listen backlog, 2,048), so the first worker woken by a burst of new connections takes all of
them, and a kept-alive connection stays with its worker: in half of the benchmark's runs with two workers, 8
clients' connections all went to one worker while the other idled. Accepting one connection per wake-up lets the
workers take turns, and a worker busy with a request (not polling) leaves new connections to an idle one.
"""

from __future__ import annotations

import functools
import logging

log = logging.getLogger(__name__)

#: after accepting a connection, a worker leaves the socket to the others this long (at most 1,000 new
#: connections a second per worker: kept-alive clients connect once)
PAUSE_S = 0.001


def accept_one_connection_per_wakeup() -> bool:
    """Patch asyncio's selector event loop (the loop uvicorn runs without uvloop) in this process; False, with a
    log line, where this Python's loop has no such method to patch. Idempotent."""
    from asyncio import selector_events

    loop_class = selector_events.BaseSelectorEventLoop
    accept = getattr(loop_class, "_accept_connection", None)
    if accept is None:
        log.warning("asyncio has no _accept_connection here: workers accept connections as asyncio does")
        return False
    if getattr(accept, "one_per_wakeup", False):
        return True

    lag_of: dict[int, float] = {}  # per listening socket: how late the last pause ended (the loop was busy)

    @functools.wraps(accept)
    def accept_one(self, protocol_factory, sock, sslcontext=None, server=None, backlog=100, *rest):
        fd = sock.fileno()
        # one connection a wake-up, more when the pause ran late: a busy worker's loop comes round seldom, and at
        # one a round, 64 clients connecting to busy workers waited up to 1.8 s to be accepted
        # (`backlog` here is only how many one wake-up accepts; the socket's listen queue is unchanged)
        accept(
            self, protocol_factory, sock, sslcontext, server, 1 + int(lag_of.pop(fd, 0.0) / PAUSE_S), *rest
        )
        self._remove_reader(fd)  # a short pause lets another worker, woken with this one, take the next
        due = self.time() + PAUSE_S

        def listen_again() -> None:
            if sock.fileno() == fd and (server is None or server.is_serving()):
                lag_of[fd] = max(0.0, self.time() - due)
                self._add_reader(fd, self._accept_connection, protocol_factory, sock, sslcontext, server,
                                 backlog, *rest)  # fmt: skip

        self.call_at(due, listen_again)

    accept_one.one_per_wakeup = True  # type: ignore[attr-defined]
    loop_class._accept_connection = accept_one  # type: ignore[method-assign]
    return True
