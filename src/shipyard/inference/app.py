"""The model server's ASGI application: Open Inference Protocol (KServe V2) REST, plain JSON
``/predict/{name}``, health, metadata and Prometheus ``/metrics``.

Written against ASGI directly, not a web framework: the hot path (read the body, decode, check
against the signature, queue for the batcher, encode) does no routing tables, dependency
injection or model validation of tensors, so the server's own cost per request stays small next to
the model's.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shipyard.errors import DeadlineExceeded, InvalidArgument, NotFound, Overloaded, ShipyardError, Unauthenticated
from shipyard.inference.protocol import (
    BINARY_HEADER,
    decode_infer,
    decode_predict,
    encode_infer,
    encode_predict,
    json_numbers,
)
from shipyard.inference.protocol import signature_io as io_specs
from shipyard.inference.request_log import RequestLog
from shipyard.inference.serving import ModelSet, ServedModel, Watcher

__all__ = ["InferenceApp"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY = 64 << 20
access = logging.getLogger("shipyard.access")
_JSON = [(b"content-type", b"application/json")]


async def _body(receive: Receive) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > MAX_BODY:
                raise InvalidArgument(f"the request body is larger than {MAX_BODY >> 20} MiB", field="body")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*(headers or _JSON), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class InferenceApp:
    """The ASGI callable; ``models`` is what it serves."""

    def __init__(
        self,
        models: ModelSet,
        *,
        server_version: str = "0",
        api_keys: Iterable[str] = (),
        watchers: Iterable[Watcher] = (),
        request_log: RequestLog | None = None,
        sticky_header: str | None = None,
        timeout: float = 30.0,
        access_log: bool = False,
    ) -> None:
        self.timeout = timeout
        self.access_log = access_log
        self.models = models
        self.request_log = request_log
        self.watchers = list(watchers)
        self._tasks: list[asyncio.Task[None]] = []
        self.server_version = server_version
        self.ready = True
        # keys are kept as digests and compared in constant time: no round trip, nothing to leak
        self._keys = frozenset(hashlib.sha256(k.encode()).digest() for k in api_keys)
        self.sticky_header = sticky_header.lower().encode() if sticky_header else None
        self._shadow_tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            if self._keys and not path.startswith("/v2/health/"):
                self._authenticate(scope)
            if method == "POST" and path.endswith("/infer") and path.startswith("/v2/models/"):
                await self._infer(scope, receive, send, path)
            elif method == "POST" and path.startswith("/predict/"):
                await self._predict(scope, receive, send, path[len("/predict/") :])
            elif method == "GET":
                await self._get(scope, send, path)
            else:
                await self._error(send, NotFound(f"no route {method} {path}", field="path"), oip=True)
        except ShipyardError as exc:  # raised before a response started
            await self._error(send, exc, oip=path.startswith("/v2"))

    def _authenticate(self, scope: Scope) -> None:
        value = _header(scope, b"authorization") or b""
        scheme, _, token = value.partition(b" ")
        if scheme.lower() != b"bearer" or not token:
            raise Unauthenticated("send Authorization: Bearer <api key>", field="authorization")
        digest = hashlib.sha256(token.strip()).digest()
        if not any(hmac.compare_digest(digest, key) for key in self._keys):
            raise Unauthenticated("the API key is not valid", field="authorization")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._tasks = [asyncio.get_running_loop().create_task(w.run()) for w in self.watchers]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.ready = False
                for task in self._tasks:
                    task.cancel()
                if self.request_log is not None:
                    await asyncio.to_thread(self.request_log.close)  # what is buffered is written
                self.models.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _error(self, send: Send, exc: ShipyardError, *, oip: bool) -> None:
        body: dict[str, Any]
        if oip:  # OIP errors are {"error": "message"}; code and field ride along
            body = {"error": exc.message, "code": exc.code}
            if exc.field is not None:
                body["field"] = exc.field
        else:
            body = exc.to_dict()
        headers = list(_JSON)
        if isinstance(exc, Overloaded):
            headers.append((b"retry-after", b"1"))
        await _send(send, exc.http_status, orjson.dumps(body), headers)

    # inference -----------------------------------------------------------------------------------
    def _target(self, path: str, suffix: str, scope: Scope | None = None) -> ServedModel:
        parts = path[len("/v2/models/") : len(path) - len(suffix)].split("/")
        if len(parts) == 1:
            if scope is not None:  # an inference request: routed (weights, sticky header)
                return self.models.pick(parts[0], self._sticky(scope))
            return self.models.get(parts[0])
        if len(parts) == 3 and parts[1] == "versions":
            return self.models.get(parts[0], parts[2])
        raise NotFound(f"no route {path}", field="path")

    async def _infer(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        started = time.perf_counter()
        served = self._target(path, "/infer", scope)
        code = 200
        try:
            body = await _body(receive)
            header = _header(scope, BINARY_HEADER.encode())
            decoded = decode_infer(body, served.model.signature, int(header) if header else None)
            inputs = served.model.check(decoded.inputs)
            result = await self._submit(served, inputs, decoded.rows)
            payload, head_length = encode_infer(served.name, served.version, result, decoded)
            request_id = decoded.request_id or _request_id(scope)
            if self.request_log is not None:
                latency = time.perf_counter() - started
                self.request_log.record(served.name, served.version, request_id, latency, inputs, result, decoded.rows)
            headers = [*_JSON, (b"x-request-id", request_id.encode())]
            if head_length is not None:
                headers = [
                    (b"content-type", b"application/octet-stream"),
                    (BINARY_HEADER.encode(), str(head_length).encode()),
                    (b"x-request-id", request_id.encode()),
                ]
            await _send(send, 200, payload, headers)
        except ShipyardError as exc:
            code = exc.http_status
            await self._error(send, exc, oip=True)
        finally:
            seconds = time.perf_counter() - started
            self.models.metrics.request(served.name, served.version, "v2", code, seconds)
            self._access(scope, served, code, seconds, None)

    async def _predict(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        started = time.perf_counter()
        served = self.models.pick(name, self._sticky(scope))
        code = 200
        try:
            inputs, rows = decode_predict(await _body(receive))
            checked = served.model.check(json_numbers(inputs, served.model.signature))
            result = await self._submit(served, checked, rows)
            request_id = _request_id(scope)
            headers = [*_JSON, (b"x-model-version", served.version.encode()), (b"x-request-id", request_id.encode())]
            await _send(send, 200, encode_predict(result), headers)
            if self.request_log is not None:
                latency = time.perf_counter() - started
                self.request_log.record(served.name, served.version, request_id, latency, checked, result, rows)
            self._mirror(served, checked, rows, request_id)
        except ShipyardError as exc:
            code = exc.http_status
            await self._error(send, exc, oip=False)
        finally:
            seconds = time.perf_counter() - started
            self.models.metrics.request(served.name, served.version, "json", code, seconds)
            self._access(scope, served, code, seconds, None)

    async def _submit(self, served: ServedModel, inputs: Any, rows: int) -> Any:
        try:
            return await asyncio.wait_for(served.batcher.submit(inputs, rows), self.timeout)
        except TimeoutError:
            raise DeadlineExceeded(
                f"no answer from {served.name} v{served.version} within {self.timeout:g} s"
            ) from None

    def _access(self, scope: Scope, served: ServedModel, code: int, seconds: float, rows: int | None) -> None:
        if self.access_log:
            access.info(
                orjson.dumps(
                    {
                        "ts": round(time.time(), 3),
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": code,
                        "model": served.name,
                        "version": served.version,
                        "rows": rows,
                        "ms": round(seconds * 1000, 3),
                        "client": (scope.get("client") or ["", 0])[0],
                    }
                ).decode()
            )

    def _sticky(self, scope: Scope) -> bytes | None:
        return _header(scope, self.sticky_header) if self.sticky_header else None

    def _mirror(self, served: ServedModel, inputs: Any, rows: int, request_id: str | None) -> None:
        """Send a copy of an answered request to the shadow version, if any (never awaited by the
        request; its result only goes to the inference log and the metrics)."""
        version = self.models.shadows.get(served.name)
        if version is None or version == served.version:
            return
        shadow = self.models.get(served.name, version)
        task = asyncio.get_running_loop().create_task(self._shadow(shadow, inputs, rows, request_id))
        self._shadow_tasks.add(task)
        task.add_done_callback(self._shadow_tasks.discard)

    async def _shadow(self, shadow: ServedModel, inputs: Any, rows: int, request_id: str | None) -> None:
        started = time.perf_counter()
        code = 200
        try:
            checked = shadow.model.check(inputs)
            result = await shadow.batcher.submit(checked, rows)
            if self.request_log is not None:
                latency = time.perf_counter() - started
                self.request_log.record(shadow.name, shadow.version, request_id, latency, checked, result, rows)
        except ShipyardError as exc:
            code = exc.http_status
        finally:
            self.models.metrics.request(shadow.name, shadow.version, "shadow", code, time.perf_counter() - started)

    # reads ---------------------------------------------------------------------------------------
    async def _get(self, scope: Scope, send: Send, path: str) -> None:
        if path == "/v2/health/live":
            await _send(send, 200, b'{"live":true}')
        elif path == "/v2/health/ready":
            await _send(send, 200 if self.ready else 503, orjson.dumps({"ready": self.ready}))
        elif path == "/v2":
            meta = {"name": "shipyard", "version": self.server_version, "extensions": ["binary_tensor_data"]}
            await _send(send, 200, orjson.dumps(meta))
        elif path == "/metrics":
            body = generate_latest(self.models.metrics.registry)
            await _send(send, 200, body, [(b"content-type", CONTENT_TYPE_LATEST.encode())])
        elif path.startswith("/v2/models/") and path.endswith("/ready"):
            served = self._target(path, "/ready")
            await _send(send, 200, orjson.dumps({"name": served.name, "ready": True}))
        elif path.startswith("/v2/models/"):
            served = self._target(path, "")
            await _send(send, 200, orjson.dumps(self._metadata(served)))
        elif path == "/openapi.json":
            await _send(send, 200, orjson.dumps(self._openapi()))
        else:
            raise NotFound(f"no route GET {path}", field="path")

    def _metadata(self, served: ServedModel) -> dict[str, Any]:
        inputs, outputs = io_specs(served.model.signature)
        return {
            "name": served.name,
            "versions": sorted(self.models.versions[served.name]),
            "platform": f"shipyard_{served.model.flavor}",
            "inputs": inputs,
            "outputs": outputs,
            "parameters": {"bundle_sha256": served.model.digest, "variant": served.variant or "original"},
        }

    def _openapi(self) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        for served in self.models.all():
            inputs, _ = io_specs(served.model.signature)
            example = {"records": [{i["name"]: 0 for i in inputs}]} if inputs and inputs[0]["shape"] == [-1] else {}
            paths[f"/predict/{served.name}"] = {
                "post": {
                    "summary": f"Predict with {served.name} v{served.version} ({served.model.flavor})",
                    "requestBody": {"content": {"application/json": {"example": example}}},
                    "responses": {"200": {"description": '{"predictions": [...]}'}},
                }
            }
            paths[f"/v2/models/{served.name}/infer"] = {
                "post": {"summary": f"Open Inference Protocol infer; inputs: {', '.join(i['name'] for i in inputs)}"}
            }
        return {
            "openapi": "3.1.0",
            "info": {"title": "Shipyard model server", "version": self.server_version},
            "paths": paths,
        }


def _request_id(scope: Scope) -> str:
    """The caller's ``X-Request-Id`` (up to 64 characters), else a new one: the key delayed labels
    are posted under (``POST /api/v1/models/NAME/labels`` on the hub)."""
    given = _header(scope, b"x-request-id")
    if given and len(given) <= 64:
        return given.decode("ascii", "replace")
    return uuid.uuid4().hex
