"""Worker processes sharing one listening socket, as BentoML's do, take turns at new connections."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import time

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="workers share a socket through fork")


def _worker(listener: socket.socket, ready, busy_s: float) -> None:
    """An asyncio server on the shared socket that answers each connection with its pid and keeps it open; with
    `busy_s`, its loop is busy that long every round, as a worker's loop is while it computes."""
    import asyncio

    from serving.workers import accept_one_connection_per_wakeup

    accept_one_connection_per_wakeup()

    async def greet(reader, writer) -> None:
        writer.write(f"{os.getpid()}\n".encode())
        await writer.drain()
        await reader.read()  # until the client closes

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
def _serving(workers: int, busy_s: float = 0.0):
    """(port, worker processes) of `workers` servers on one listening socket; all stopped on the way out."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(2048)
    context = multiprocessing.get_context("fork")
    ready = [context.Event() for _ in range(workers)]
    procs = [context.Process(target=_worker, args=(listener, r, busy_s), daemon=True) for r in ready]
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


def _connect_all(port: int, n: int) -> tuple[list[int], float]:
    """n connections opened at once, as a load's clients do; (the pid that accepted each, seconds until all were)."""
    t0 = time.perf_counter()
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    try:
        pids = [int(c.makefile().readline()) for c in conns]
        return pids, time.perf_counter() - t0
    finally:
        for c in conns:
            c.close()


def test_a_burst_of_connections_is_shared_between_idle_workers():
    with _serving(2) as (port, procs):
        pids, _ = _connect_all(port, 8)
    counts = sorted(pids.count(p.pid) for p in procs)
    assert sum(counts) == 8 and counts[0] >= 2, counts  # asyncio alone: often all 8 to the worker woken first


def test_a_busy_worker_still_accepts_a_burst_within_a_few_rounds_of_its_loop():
    """One connection per wake-up would take a round of a busy loop per connection (32 x 0.1 s here)."""
    with _serving(1, busy_s=0.1) as (port, procs):
        pids, seconds = _connect_all(port, 32)
    assert pids == [procs[0].pid] * 32
    assert seconds < 1.0, seconds
