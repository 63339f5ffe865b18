"""What every route needs: the services and the acting principal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import orjson
from fastapi import Request
from starlette.responses import Response

from shipyard.domain.principals import Principal
from shipyard.errors import InvalidArgument
from shipyard.services import Services

PRINCIPAL_HEADER = "x-shipyard-user"


async def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def principal(request: Request) -> Principal:
    """The acting principal (see :func:`principal_for`)."""
    return principal_for(request.headers.get(PRINCIPAL_HEADER), request.app.state.services)


def principal_for(declared: str | None, svc: Services) -> Principal:
    """Until governance lands, the hub trusts a client-declared name (for the audit trail) and
    falls back to the hub's own user."""
    if declared:
        return Principal(declared[:250], "declared")
    return Principal(svc.settings.user)


T = TypeVar("T")


Executor = ThreadPoolExecutor


async def executor(request: Request) -> Executor:
    """The app's pool for blocking service work (made and shut down by ``create_app``)."""
    pool: Executor = request.app.state.executor
    return pool


def in_thread(pool: Executor, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> asyncio.Future[T]:
    """Run blocking service work on ``pool``. Await the result, or hold the future to overlap the
    work with the event loop's own (the upload route does). Cheaper per call than anyio's thread
    portal, which matters on the logging hot path."""
    return asyncio.get_running_loop().run_in_executor(pool, partial(fn, *args, **kwargs))


class FastJSON(Response):
    """JSON encoded by orjson (NaN is never emitted: callers encode non-finite floats first)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def parse_json(raw: bytes) -> Any:
    """A request body parsed as JSON, or a 400 naming the body."""
    if not raw:
        raise InvalidArgument("the request body is empty; send a JSON object", field="body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}", field="body") from None
