"""Bulk artifact bodies over the standard library's ``http.client``.

httpx (used for every API call) reads sockets in 64 KiB pieces and copies each through its HTTP
parser, which costs more than the disk I/O and the sha256 for large files. ``http.client`` reads a
sized body straight into our buffer (``readinto``) and sends files in large blocks, which keeps a
200 MB transfer close to the cost of hashing it (see ``benchmarks/tracking.py``).
"""

from __future__ import annotations

import http.client
import os
import ssl
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from shipyard.domain.artifacts import ArtifactEntry
from shipyard.errors import ShipyardError, Unavailable, error_class_for_code
from shipyard.sdk.files import write_verified

__all__ = ["BulkTransfer"]

BLOCK = 4 * 1024 * 1024


def raise_for_status(status: int, body: bytes) -> None:
    """Raise the error class the hub named in an error body (the same class it raised)."""
    if status < 400:
        return
    try:
        err = orjson.loads(body)["error"]
        cls, message, field = error_class_for_code(err["code"]), err.get("message", ""), err.get("field")
    except (orjson.JSONDecodeError, KeyError, TypeError):
        cls, message, field = ShipyardError, f"hub answered {status}: {body[:200]!r}", None
    if status >= 500 and cls is ShipyardError:
        cls = Unavailable
    exc = cls.__new__(cls)
    ShipyardError.__init__(exc, message, field=field)
    raise exc


class BulkTransfer:
    """PUT and GET of large bodies against ``base_url`` (``http(s)://host:port/prefix``)."""

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout: float) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._headers = dict(headers)
        self._timeout = timeout
        self.base_url = base_url

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host,
                self._port,
                timeout=self._timeout,
                context=ssl.create_default_context(),
                blocksize=BLOCK,
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout, blocksize=BLOCK)

    def upload(self, path: str, source: Path, *, method: str = "PUT") -> dict[str, Any]:
        """Send the file at ``source`` as the body; returns the decoded JSON answer."""
        headers = {
            **self._headers,
            "content-type": "application/octet-stream",
            "content-length": str(os.path.getsize(source)),
        }
        conn = self._connect()
        try:
            with open(source, "rb", buffering=0) as body:
                conn.request(method, self._prefix + path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
        except OSError as exc:
            raise Unavailable(f"upload to {self.base_url} failed: {exc}") from exc
        finally:
            conn.close()
        raise_for_status(resp.status, data)
        result: dict[str, Any] = orjson.loads(data)
        return result

    def download(self, path: str, dest: Path, artifact_path: str) -> ArtifactEntry:
        """GET into ``dest``, verified against the digest header (written only if it matches)."""
        conn = self._connect()
        try:
            conn.request("GET", self._prefix + path, headers={**self._headers, "x-shipyard-verify": "client"})
            resp = conn.getresponse()
            if resp.status >= 400:
                raise_for_status(resp.status, resp.read())
            digest = resp.getheader("x-shipyard-digest") or ""
            size = int(resp.getheader("content-length") or 0)
            entry = ArtifactEntry(artifact_path, digest, size)
            return write_verified(dest, _read_blocks(resp), entry)
        except OSError as exc:
            raise Unavailable(f"download of {artifact_path!r} from {self.base_url} failed: {exc}") from exc
        finally:
            conn.close()


def _read_blocks(resp: http.client.HTTPResponse) -> Iterator[memoryview]:
    """Yield the body in BLOCK-sized views of two alternating buffers. Safe because the consumer
    (:func:`~shipyard.sdk.files.write_verified`) writes each block before asking for the next and
    its :class:`~shipyard.stores.artifacts.HashPipe` finishes hashing block n before accepting block
    n+1, so a buffer is never refilled while still in use. Reusing two buffers instead of allocating
    one per block avoids faulting in fresh memory for every 4 MiB."""
    buffers = (memoryview(bytearray(BLOCK)), memoryview(bytearray(BLOCK)))
    turn = 0
    while True:
        view = buffers[turn]
        n = resp.readinto(view)
        if not n:
            return
        yield view[:n]
        turn ^= 1
