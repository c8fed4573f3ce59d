"""Worker processes sharing one listening socket, as BentoML's do, each accept their share of new connections."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import time

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="workers share a socket through fork")


def _worker(
    listener: socket.socket, ready, busy_s: float, workers: int, index: int, no_ledger: bool = False
) -> None:
    """An asyncio server on the shared socket that answers each connection with its pid and keeps it open; with
    `busy_s`, its loop is busy that long every round, as a worker's loop is while it computes."""
    import asyncio

    from serving.workers import accept_connections_fairly

    assert accept_connections_fairly(workers, index) == (workers > 1)
    if no_ledger:
        # as in the image once: a stranger's stale ledger in the sticky /dev/shm could not be removed
        import serving.workers

        def refused(*args):
            raise PermissionError(1, "Operation not permitted")

        serving.workers.ConnectionLedger.for_server = refused

    async def greet(reader, writer) -> None:
        writer.write(f"{os.getpid()}\n".encode())
        await writer.drain()
        await reader.read()  # until the client closes, then close this end too, as uvicorn does
        writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(greet, sock=listener)
        loop = asyncio.get_running_loop()
        if busy_s:

            def work() -> None:
                time.sleep(busy_s)
                loop.call_soon(work)

            loop.call_soon(work)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


@contextlib.contextmanager
def _serving(workers: int, busy_s: float = 0.0, no_ledger: bool = False):
    """(port, worker processes) of `workers` servers on one listening socket; all stopped on the way out."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(2048)
    context = multiprocessing.get_context("fork")
    ready = [context.Event() for _ in range(workers)]
    procs = [
        context.Process(target=_worker, args=(listener, r, busy_s, workers, k + 1, no_ledger), daemon=True)
        for k, r in enumerate(ready)
    ]
    for p in procs:
        p.start()
    try:
        for r in ready:
            assert r.wait(30), "a worker did not start"
        yield listener.getsockname()[1], procs
    finally:
        for p in procs:
            p.kill()
        listener.close()


def _open(port: int, n: int) -> tuple[list[socket.socket], list[int]]:
    """n connections opened at once, as a load's clients do, and the pid of the worker that accepted each."""
    conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    return conns, [int(c.makefile().readline()) for c in conns]  # a connection never accepted: TimeoutError


def _connect_all(port: int, n: int) -> tuple[list[int], float]:
    """(the pid that accepted each of n connections opened at once, seconds until all were), all closed after."""
    t0 = time.perf_counter()
    conns, pids = _open(port, n)
    seconds = time.perf_counter() - t0
    for c in conns:
        c.close()
    return pids, seconds


@pytest.mark.parametrize("busy_s", [0.0, 0.05])
def test_a_burst_of_connections_is_split_evenly_between_workers(busy_s):
    """Idle or busy, two workers take 4 of 8 each (asyncio alone: often all 8 to the worker woken first; one
    connection per wake-up: 4/4 in 3 loads of 20 of the service)."""
    with _serving(2, busy_s=busy_s) as (port, procs):
        for _ in range(3):
            pids, seconds = _connect_all(port, 8)
            assert sorted(pids.count(p.pid) for p in procs) == [4, 4], pids
            assert seconds < 1.0, seconds
            time.sleep(0.1 + 6 * busy_s)  # until the workers have seen the connections close


def test_new_connections_go_to_the_worker_whose_connections_closed():
    with _serving(2) as (port, procs):
        conns, pids = _open(port, 4)
        assert sorted(pids.count(p.pid) for p in procs) == [2, 2], pids
        first = pids[0]
        for c, pid in zip(conns, pids, strict=True):
            if pid == first:
                c.close()
        time.sleep(0.1)
        more, more_pids = _open(port, 2)
        assert more_pids == [first, first], (first, more_pids)
        for c in conns + more:
            c.close()


def test_a_busy_worker_still_accepts_a_burst_within_a_few_rounds_of_its_loop():
    """One connection per wake-up would take a round of a busy loop per connection (32 x 0.1 s here)."""
    with _serving(1, busy_s=0.1) as (port, procs):
        pids, seconds = _connect_all(port, 32)
    assert pids == [procs[0].pid] * 32
    assert seconds < 1.0, seconds


def test_connections_are_not_held_back_for_a_worker_that_never_accepts():
    """Worker 2 of 2 is counted in the ledger but never runs: worker 1 takes what waits after the grace."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    proc = context.Process(target=_worker, args=(listener, ready, 0.0, 2, 1), daemon=True)
    proc.start()
    try:
        assert ready.wait(30)
        pids, seconds = _connect_all(listener.getsockname()[1], 6)
        assert pids == [proc.pid] * 6
        assert seconds < 1.0, seconds
    finally:
        proc.kill()
        listener.close()


def test_workers_without_a_ledger_still_accept_every_connection():
    """The image's service once accepted nothing: its workers could not remove a stale ledger of another user, and
    the accept failed each time. Sharing is an optimisation; without a ledger a worker accepts as asyncio does."""
    with _serving(2, no_ledger=True) as (port, procs):
        pids, seconds = _connect_all(port, 8)
    assert set(pids) <= {p.pid for p in procs} and len(pids) == 8
    assert seconds < 1.0, seconds
