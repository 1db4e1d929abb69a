"""Request guards: a body size cap (413 before reading), form-only POSTs (415), a rate limit."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class BodyLimit:
    """Refuse a body larger than `limit` bytes: by its Content-Length at once, or while it streams."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            scope["publisher.too_large"] = True  # the route answers 413 without reading a byte
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413)
            return message

        await self.app(scope, capped, send)


def check_post(scope: Scope, headers: Any) -> None:
    """Only form posts of a sane size: 413 for a big body, 415 for JSON or anything else."""
    if scope.get("publisher.too_large"):
        raise HTTPException(413)
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type and content_type not in FORM_TYPES:
        raise HTTPException(415)


class RateLimit:
    """At most `limit` hits per client address in a sliding window (per process, in memory)."""

    def __init__(self, limit: int, window: float, max_clients: int = 100_000) -> None:
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self.hits: dict[str, deque[float]] = {}

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if len(self.hits) >= self.max_clients:
            self._prune(now)
        hits = self.hits.setdefault(client, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def _prune(self, now: float) -> None:
        for client in [c for c, h in self.hits.items() if not h or h[-1] <= now - self.window]:
            del self.hits[client]
        if len(self.hits) >= self.max_clients:  # a flood of addresses: forget the oldest half
            for client in list(self.hits)[: self.max_clients // 2]:
                del self.hits[client]
