"""Streaming a request body into a writer without holding it in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starlette.requests import Request

from shipyard.api.deps import Executor, in_thread
from shipyard.stores.artifacts import CHUNK_SIZE

__all__ = ["COALESCE", "OCTET_STREAM_BODY", "stream_body"]

COALESCE = 4 * CHUNK_SIZE  # hand the writer thread large pieces: fewer thread hops per byte

OCTET_STREAM_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def stream_body(
    request: Request, pool: Executor, write: Callable[[bytes], None], abort: Callable[[], None]
) -> None:
    """Feed the body to ``write`` on ``pool`` in pieces of about ``COALESCE`` bytes, one write
    running while the next piece arrives; on any failure, wait for the write in flight and call
    ``abort``."""
    in_flight: asyncio.Future[None] | None = None
    try:
        parts: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            parts.append(chunk)
            size += len(chunk)
            if size >= COALESCE:
                piece = b"".join(parts)
                parts.clear()
                size = 0
                if in_flight is not None:
                    await in_flight
                in_flight = in_thread(pool, write, piece)
        if in_flight is not None:
            await in_flight
        if parts:
            await in_thread(pool, write, b"".join(parts))
    except BaseException:
        if in_flight is not None:
            await asyncio.gather(in_flight, return_exceptions=True)
        await in_thread(pool, abort)
        raise
