"""What every route needs: the services and the acting principal."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from shipyard.domain.principals import Principal
from shipyard.errors import InvalidArgument
from shipyard.services import Services

PRINCIPAL_HEADER = "x-shipyard-user"


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def principal(request: Request) -> Principal:
    """The acting principal. Until governance lands, the hub trusts a client-declared name (for the
    audit trail) and falls back to the hub's own user."""
    name = request.headers.get(PRINCIPAL_HEADER)
    if name:
        return Principal(name[:250], "declared")
    svc: Services = request.app.state.services
    return Principal(svc.settings.user)


class FastJSON(Response):
    """JSON encoded by orjson (NaN is never emitted: callers encode non-finite floats first)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON, or a 400 naming the body."""
    raw = await request.body()
    if not raw:
        raise InvalidArgument("the request body is empty; send a JSON object", field="body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}", field="body") from None
