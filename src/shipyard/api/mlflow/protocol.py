"""The MLflow REST protocol's envelope: how requests are read, how answers and errors are written.

Requests are JSON bodies (POST, PATCH, DELETE) or query strings (GET), as the MLflow client sends
them; both become one ``dict`` of fields. Errors are MLflow's ``{"error_code", "message"}`` with
the status MLflow's client maps back to the same exception: every failure a caller can fix is a 4xx
(the client retries 5xx answers, so a 5xx is only ever a real server fault).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.responses import Response

from shipyard.api.deps import FastJSON
from shipyard.domain.principals import Principal
from shipyard.errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ShipyardError,
    Unauthenticated,
    Unavailable,
)
from shipyard.services import Services

__all__ = ["Ctx", "Fields", "MlflowError", "error_response", "json_response", "parse_fields"]

log = logging.getLogger("shipyard.api.mlflow")

# Shipyard error -> (MLflow error_code, HTTP status), as MLflow's own server answers.
_CODES: list[tuple[type[ShipyardError], str, int]] = [
    (NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
    (AlreadyExists, "RESOURCE_ALREADY_EXISTS", 400),
    (PayloadTooLarge, "INVALID_PARAMETER_VALUE", 400),
    (InvalidArgument, "INVALID_PARAMETER_VALUE", 400),
    (Conflict, "INVALID_PARAMETER_VALUE", 400),  # logging to a finished or deleted run, a changed param
    (Unauthenticated, "UNAUTHENTICATED", 401),
    (PermissionDenied, "PERMISSION_DENIED", 403),
    (Unavailable, "TEMPORARILY_UNAVAILABLE", 503),
]


@dataclass(frozen=True, slots=True)
class Ctx:
    """What every handler gets besides its fields: the services and the acting principal."""

    svc: Services
    who: Principal


class MlflowError(Exception):
    """An error with MLflow's own code (for cases Shipyard's tree has no class for)."""

    def __init__(self, message: str, error_code: str = "INVALID_PARAMETER_VALUE", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status


def json_response(content: Any, status: int = 200) -> Response:
    return FastJSON(content, status_code=status)


def error_response(exc: BaseException) -> Response:
    if isinstance(exc, MlflowError):
        return json_response({"error_code": exc.error_code, "message": exc.message}, exc.status)
    if isinstance(exc, ShipyardError):
        for cls, code, status in _CODES:
            if isinstance(exc, cls):
                message = f"{exc.message} (field: {exc.field})" if exc.field else exc.message
                return json_response({"error_code": code, "message": message}, status)
        log.error("%s: %s", exc.code, exc.message)
        return json_response({"error_code": "INTERNAL_ERROR", "message": exc.message}, 500)
    log.exception("unexpected error in the MLflow API", exc_info=exc)
    return json_response(
        {"error_code": "INTERNAL_ERROR", "message": "internal error; the hub's log has the details"}, 500
    )


class Fields:
    """The fields of one request, with typed accessors that raise MLflow's
    ``INVALID_PARAMETER_VALUE`` naming the field."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def __contains__(self, name: str) -> bool:
        return self.data.get(name) is not None

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise MlflowError(f"Missing value for required parameter '{name}'.")
            return default if default is not None else ""
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str):
            raise MlflowError(f"Invalid value {value!r} for parameter '{name}': expected a string.")
        return value

    def opt_text(self, name: str) -> str | None:
        return self.text(name) if name in self else None

    def integer(self, name: str, default: int | None = None, *, required: bool = False) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise MlflowError(f"Missing value for required parameter '{name}'.")
            return default
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool):
            raise MlflowError(f"Invalid value {value!r} for parameter '{name}': expected an integer.")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise MlflowError(f"Invalid value {value!r} for parameter '{name}': expected an integer.") from None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise MlflowError(f"Invalid value {value!r} for parameter '{name}': expected true or false.")

    def values(self, name: str) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            value = [value]
        return value

    def texts(self, name: str) -> list[str]:
        out = self.values(name)
        if not all(isinstance(v, str) for v in out):
            raise MlflowError(f"Invalid value for parameter '{name}': expected a list of strings.")
        return out

    def objects(self, name: str) -> list[Mapping[str, Any]]:
        out = self.values(name)
        if not all(isinstance(v, dict) for v in out):
            raise MlflowError(f"Invalid value for parameter '{name}': expected a list of objects.")
        return out

    def kv(self, name: str) -> dict[str, str]:
        """A list of ``{"key", "value"}`` pairs (tags, params) as a dict; the last one wins."""
        out: dict[str, str] = {}
        item: Mapping[str, Any]
        for i, item in enumerate(self.objects(name)):
            key, value = item.get("key"), item.get("value", "")
            if not isinstance(key, str) or not key:
                raise MlflowError(f"Invalid value for parameter '{name}[{i}].key': a non-empty string is required.")
            out[key] = value if isinstance(value, str) else ("" if value is None else str(value))
        return out


def parse_fields(method: str, query: QueryParams, body: bytes) -> Fields:
    """One dict from the query string (repeated keys become lists) and, for non-GET requests, the
    JSON body (its fields win)."""
    data: dict[str, Any] = {}
    for key in query:
        values = query.getlist(key)
        data[key] = values if len(values) > 1 or key.endswith(("ids", "stages", "order_by", "run_ids")) else values[0]
    if method != "GET" and body:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise MlflowError(f"Malformed JSON in the request body: {exc}", "MALFORMED_REQUEST") from None
        if not isinstance(parsed, dict):
            raise MlflowError("The request body must be a JSON object.", "MALFORMED_REQUEST")
        data.update(parsed)
    return Fields(data)
