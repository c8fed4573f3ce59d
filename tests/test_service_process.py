"""The service's process-level care, without a server: how often the heap is handed back to the system, and the
loaded models kept out of the garbage collector's full passes."""

from __future__ import annotations


def test_the_heap_is_trimmed_at_most_once_a_period():
    from serving.service import _heap_trimmer

    t, trims = [0.0], []
    maybe_trim = _heap_trimmer(1.0, trim=lambda: trims.append(t[0]), clock=lambda: t[0])
    for t[0] in (0.0, 0.5, 0.99, 1.0, 1.2, 2.5, 2.6):
        maybe_trim()
    assert trims == [0.0, 1.0, 2.5]


def test_what_is_loaded_is_frozen_out_of_the_collectors_sight():
    """Objects alive at load time (libraries, models) are frozen; one made afterwards is still collected."""
    import gc
    import weakref

    from serving.service import _freeze_what_is_loaded

    class Node:
        pass

    try:
        _freeze_what_is_loaded()
        assert gc.get_freeze_count() > 0
        later = Node()
        later.cycle = later
        gone = weakref.ref(later)
        del later
        gc.collect()
        assert gone() is None  # the collector still frees what requests leave behind
    finally:
        gc.unfreeze()


def test_posts_beyond_the_limit_wait_their_turn_and_are_all_answered():
    """At most `limit` POSTs inside the service at once; the others wait (never refused), and GETs (health
    checks) and WebSockets never wait behind them."""
    import asyncio

    from serving.limits import RequestsInFlight

    inside, most, answered = [0], [0], []
    release = asyncio.Event()

    async def app(scope, receive, send) -> None:
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        if scope["method"] == "POST":
            await release.wait()
        inside[0] -= 1
        answered.append(scope["method"])

    async def scenario() -> None:
        gated = RequestsInFlight(app, limit=3)
        posts = [
            asyncio.create_task(gated({"type": "http", "method": "POST"}, None, None)) for _ in range(10)
        ]
        await asyncio.sleep(0.05)
        assert inside[0] == 3  # three at work, seven waiting
        await gated({"type": "http", "method": "GET"}, None, None)  # /readyz is not held up
        await gated({"type": "websocket", "method": "GET"}, None, None)
        release.set()
        await asyncio.gather(*posts)

    asyncio.run(scenario())
    assert most[0] == 4  # 3 POSTs and the GET at once, at most
    assert answered.count("POST") == 10  # every POST answered
