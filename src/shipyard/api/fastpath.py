"""The hub's logging hot path as a pure ASGI middleware.

``POST /api/v1/runs/{run_id}/log`` is the one call training jobs make constantly. This middleware
answers it before routing, dependency injection and the exception middleware (about half of a
small request's cost on the hub), with the same parsing and service call as the documented route
in :mod:`shipyard.api.routes.runs`, and the same typed JSON errors. Everything else passes through.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson

from shipyard.api.deps import PRINCIPAL_HEADER, Executor, principal_for
from shipyard.api.routes.runs import log_body
from shipyard.errors import PayloadTooLarge, ShipyardError
from shipyard.schemas import API_PREFIX
from shipyard.services import Services

__all__ = ["LogFastPath"]

log = logging.getLogger("shipyard.api")

_LOG_PATH = re.compile(re.escape(API_PREFIX) + r"/runs/([^/]+)/log")
_HEADER = PRINCIPAL_HEADER.encode()
_MAX_BODY = 512 * 1024 * 1024
_NO_CONTENT = {"type": "http.response.start", "status": 204, "headers": []}
_EMPTY = {"type": "http.response.body", "body": b""}

ASGIApp = Any


class LogFastPath:
    """ASGI middleware: serves the log endpoint directly; passes every other request to ``app``."""

    def __init__(self, app: ASGIApp, services: Services, pool: Executor) -> None:
        self.app = app
        self.services = services
        self.pool = pool

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = _LOG_PATH.fullmatch(scope["path"])
            if match is not None:
                await self._log(match.group(1), scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _log(self, run_id: str, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            raw = await _read_body(receive)
            declared = next((v.decode("utf-8", "replace") for k, v in scope["headers"] if k == _HEADER), None)
            await log_body(self.services, principal_for(declared, self.services), run_id, raw, self.pool)
        except ConnectionAbortedError:
            return  # the client went away mid-body: nothing was logged, nobody to answer
        except ShipyardError as exc:
            if exc.http_status >= 500:
                log.error("%s: %s", exc.code, exc.message)
            await _send_json(send, exc.http_status, exc.to_dict())
            return
        except Exception:
            log.exception("unexpected error on POST %s", scope["path"])
            body = {"error": {"code": "INTERNAL", "message": "internal error; the hub's log has the details"}}
            await _send_json(send, 500, body)
            return
        await send(_NO_CONTENT)
        await send(_EMPTY)


async def _read_body(receive: Any) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError("client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            raise PayloadTooLarge(f"request body over {_MAX_BODY} bytes; split the batch", field="body")
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    data = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
