"""A request-body size limit in front of every API: 413 before a byte of an oversized body is parsed.

pydantic's length limits say which field is too long, but only after the whole body is in memory; a clip of a
million frames (gigabytes of JSON) must be turned away by its size, as it arrives.
"""

from __future__ import annotations

import json

#: the largest body the service reads: a 10-minute clip with world landmarks is about 50 MB of JSON
MAX_BODY_BYTES = 64 * 1024 * 1024


class BodySizeLimit:
    """ASGI middleware: 413 when Content-Length says too much, or when a streamed body grows past the limit."""

    def __init__(self, app, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
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
        body = json.dumps(
            {"error": f"request body of {size} bytes is over the limit of {self.max_bytes} bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
