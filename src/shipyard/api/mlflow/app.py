"""MLflow's REST API on the hub, as a pure ASGI middleware in front of Shipyard's own routes.

Requests under ``/api/2.0/mlflow``, ``/ajax-api/2.0/mlflow`` (and their ``mlflow-artifacts``
siblings) are answered here, before FastAPI's routing: MLflow's protocol is its own (protobuf JSON,
its own error shape), so none of Shipyard's request models or error handlers apply. Every other
request passes through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shipyard.api.deps import PRINCIPAL_HEADER, Executor, in_thread, principal_for
from shipyard.api.mlflow import artifacts, logged_models, registry, tracking
from shipyard.api.mlflow.protocol import Ctx, Fields, MlflowError, error_response, json_response, parse_fields
from shipyard.services import Services

__all__ = ["MlflowApi"]

ASGIApp = Any
Handler = Callable[[Ctx, Fields], Any]

_PREFIX = re.compile(r"/(?:ajax-)?api/[23]\.0/(mlflow|mlflow-artifacts)/(.*)")
_MAX_BODY = 64 * 1024 * 1024

ROUTES: dict[tuple[str, str], Handler] = {**tracking.ROUTES, **registry.ROUTES, **artifacts.ROUTES}
PATTERNS: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = logged_models.PATTERNS


class MlflowApi:
    """ASGI middleware serving MLflow's tracking, registry and artifact APIs."""

    def __init__(self, app: ASGIApp, services: Services, pool: Executor) -> None:
        self.app = app
        self.services = services
        self.pool = pool

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        match = _PREFIX.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self._dispatch(match.group(1), match.group(2), request)
        except Exception as exc:  # every failure leaves as MLflow's error JSON
            response = error_response(exc)
        await response(scope, receive, send)

    def _who(self, request: Request) -> Any:
        return principal_for(request.headers.get(PRINCIPAL_HEADER), self.services)

    async def _dispatch(self, api: str, path: str, request: Request) -> Response:
        method = request.method
        svc, who = self.services, self._who(request)
        if api == "mlflow-artifacts":
            if path.startswith("artifacts/"):
                rel = path[len("artifacts/") :]
                if method == "PUT":
                    return await artifacts.upload(svc, who, self.pool, rel, request)
                if method == "GET":
                    return await artifacts.download(svc, who, self.pool, rel)
                if method == "DELETE":
                    raise MlflowError(
                        "Deleting artifacts is not supported: artifacts are immutable.", "NOT_IMPLEMENTED", 501
                    )
            handler: Handler | None = artifacts.PROXY_ROUTES.get((method, path))
            if handler is None:
                raise MlflowError(f"No MLflow artifact endpoint {method} {path}", "ENDPOINT_NOT_FOUND", 404)
        else:
            handler = ROUTES.get((method, path))
        params: dict[str, str] = {}
        if handler is None:
            for verb, pattern, fn in PATTERNS:
                m = pattern.fullmatch(path)
                if m is not None and verb == method:
                    handler, params = fn, m.groupdict()
                    break
        if handler is None:
            raise MlflowError(f"No MLflow endpoint {method} {path} on this hub", "ENDPOINT_NOT_FOUND", 404)
        body = await request.body() if method != "GET" else b""
        if len(body) > _MAX_BODY:
            raise MlflowError(f"The request body is over {_MAX_BODY} bytes.")
        fields = parse_fields(method, request.query_params, body)
        if params:
            fields = Fields({**fields.data, **params})
        result = await in_thread(self.pool, handler, Ctx(svc, who), fields)
        return json_response(result)
