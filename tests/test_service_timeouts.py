"""BentoML's request timeout, as the service runs it: answered requests leave nothing behind; slow ones get 504."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref

from serving.timeouts import cancel_answered_request_timers

#: what an outer middleware (OpenTelemetry's) puts in the request's context: its span
span_of_request: contextvars.ContextVar[object] = contextvars.ContextVar("span_of_request")


class _Span:
    pass


def _middleware(app, timeout: float):
    from bentoml._internal.server.http.traffic import TimeoutMiddleware

    assert cancel_answered_request_timers()
    return TimeoutMiddleware(app, timeout=timeout)


async def _request(middleware) -> tuple[list[dict], weakref.ref]:
    """One HTTP request through the middleware, in its own task and context as a server runs it; the messages
    sent, and a weak reference to the span its context held."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    async def one() -> weakref.ref:
        span = _Span()
        span_of_request.set(span)
        await middleware({"type": "http", "method": "POST", "path": "/"}, receive, send)
        return weakref.ref(span)

    span = await asyncio.create_task(one())
    for _ in range(3):
        await asyncio.sleep(0)  # the loop lets go of the finished task
    return sent, span


async def _answer_at_once(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def test_an_answered_request_leaves_no_timer_holding_its_context():
    """BentoML's own middleware kept each request's context (its span) for the whole timeout after answering."""

    async def run() -> None:
        sent, span = await _request(_middleware(_answer_at_once, timeout=60))
        assert [m.get("status") for m in sent] == [200, None]
        gc.collect()
        assert span() is None, "the request's context outlived its answer"
        loop = asyncio.get_running_loop()
        assert all(h.cancelled() for h in loop._scheduled), "a live timer is left"

    asyncio.run(run())


def test_many_answered_requests_leave_no_live_timers():
    async def run() -> None:
        middleware = _middleware(_answer_at_once, timeout=60)
        for _ in range(5):
            await _request(middleware)
        live = [h for h in asyncio.get_running_loop()._scheduled if not h.cancelled()]
        assert live == []

    asyncio.run(run())


def test_a_request_not_answered_in_time_still_gets_504():
    async def slow(scope, receive, send) -> None:
        await asyncio.sleep(5)
        await _answer_at_once(scope, receive, send)

    async def run() -> None:
        sent, _ = await _request(_middleware(slow, timeout=0.05))
        assert sent[0]["status"] == 504
        assert b"0.05 seconds" in sent[1]["body"]

    asyncio.run(run())
