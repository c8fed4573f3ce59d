"""What the service reads at all, checked before any API sees a byte: the body's size and its media type.

pydantic's length limits say which field is too long, but only after the whole body is in memory; a clip of a
million frames (gigabytes of JSON) must be turned away by its size, as it arrives (413). BentoML also accepts
Python pickles (`application/vnd.bentoml+pickle`, meant for its own service-to-service calls; unpickling a
stranger's bytes runs their code) and multipart forms: every API here takes JSON, so any other media type is
refused (415) before the body is read. And how many bodies a worker reads at once (`RequestsInFlight`).
"""

from __future__ import annotations

import asyncio
import json

#: the largest body the service reads: a 10-minute clip with world landmarks is about 50 MB of JSON
MAX_BODY_BYTES = 64 * 1024 * 1024
#: every API takes JSON (none declared: JSON too). Any other type would reach BentoML's other parsers: pickle runs
#: the sender's code, and multipart without a boundary was a 500
ACCEPTED_MEDIA_TYPES = (b"application/json", b"")


class BodySizeLimit:
    """ASGI middleware: 413 when Content-Length says too much, or when a streamed body grows past the limit;
    415 for a body that is not JSON."""

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if scope.get("method") == "POST" and media_type not in ACCEPTED_MEDIA_TYPES:
            shown = media_type.decode("latin-1")[:80]
            await self._send(send, 415, f"{shown} bodies are not accepted; send application/json")
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send, int(declared))
            return
        if declared is not None:
            await self.app(scope, receive, send)  # the server holds the body to its declared length
            return
        # no declared length (chunked): read it here, up to the limit, then hand it on
        messages, received = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                await self._reject(send, received)
                return
            if not message.get("more_body", False):
                break
        replay = iter(messages)

        async def replayed_receive():
            return next(replay, None) or await receive()

        await self.app(scope, replayed_receive, send)

    async def _reject(self, send, size: int) -> None:
        await self._send(
            send, 413, f"request body of {size} bytes is over the limit of {self.max_bytes} bytes"
        )

    @staticmethod
    async def _send(send, status: int, error: str) -> None:
        body = json.dumps({"error": error}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RequestsInFlight:
    """ASGI middleware: at most `limit` POSTs are read and worked on at once in this worker; the rest wait their
    turn unread, their bytes in the socket's buffers rather than in this process's heap (64 clients' 2.7 MB bodies
    read at once held hundreds of MB). They wait, they are not refused: a busy worker answers later, never 429."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit
        self._gate: asyncio.Semaphore | None = None  # made on the serving loop, at the first request

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.limit)
        async with self._gate:
            await self.app(scope, receive, send)
