"""Artifact store adapter for S3 and S3-compatible servers (``s3://bucket/prefix``; extra ``s3``).

boto3 is imported when a store is built, never at module import, so ``shipyard`` works without it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shipyard.errors import InvalidArgument, MissingDependency, NotFound, Unavailable
from shipyard.stores.artifacts import CHUNK_SIZE, check_storage_key

__all__ = ["S3ArtifactStore"]

MULTIPART_THRESHOLD = 64 << 20  # files above this are uploaded in parts ...
MULTIPART_PART_SIZE = 16 << 20  # ... of this size, a few at a time
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class S3ArtifactStore:
    """Keys map to objects ``<prefix>/<key>`` in one bucket.

    Args:
        bucket: the bucket, which must exist.
        prefix: a folder inside the bucket ("" for its root).
        endpoint_url: an S3-compatible server (MinIO, Ceph, moto); ``None`` for AWS.

    Example:
        >>> store = S3ArtifactStore.from_uri("s3://ml/artifacts")  # doctest: +SKIP
        >>> store.exists("blobs/sha256/ab/ab12...")  # doctest: +SKIP
        False
    """

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None) -> None:
        try:
            import boto3
            import botocore.config
            import botocore.exceptions
            from boto3.s3.transfer import TransferConfig
        except ImportError:
            raise MissingDependency("boto3", "s3") from None
        if not bucket:
            raise InvalidArgument("an s3:// URI needs a bucket: s3://bucket/prefix", field="artifact_uri")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        # Sha256 is verified end to end above this port; boto3's default CRC trailers are
        # rejected by many S3-compatible servers, so checksums are sent only when S3 requires them.
        config = botocore.config.Config(
            retries={"mode": "standard", "max_attempts": 3},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client: Any = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)
        self._client_error: type[Exception] = botocore.exceptions.ClientError
        self._network_errors: tuple[type[Exception], ...] = (
            botocore.exceptions.ConnectionError,
            botocore.exceptions.HTTPClientError,
        )
        self._transfer = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_PART_SIZE,
            max_concurrency=4,
        )

    @classmethod
    def from_uri(cls, uri: str, *, endpoint_url: str | None = None, **_: Any) -> S3ArtifactStore:
        """Build the store for ``s3://bucket/prefix``."""
        parts = urlsplit(uri)
        if parts.scheme.lower() != "s3":
            raise InvalidArgument(f"not an s3:// URI: {uri!r}", field="artifact_uri")
        return cls(parts.netloc, parts.path, endpoint_url=endpoint_url)

    @property
    def endpoint(self) -> str:
        """The URL of the server this store talks to."""
        return str(self._client.meta.endpoint_url)

    def _key(self, key: str) -> str:
        check_storage_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _unavailable(self, exc: Exception) -> Unavailable:
        return Unavailable(f"S3 endpoint {self.endpoint} (bucket {self.bucket!r}) is unreachable: {exc}")

    def _is_missing(self, exc: Exception) -> bool:
        if not isinstance(exc, self._client_error):
            return False
        return str(getattr(exc, "response", {}).get("Error", {}).get("Code")) in _MISSING_CODES

    def staging_dir(self) -> Path:
        """A folder under the system temp dir; uploads are streamed from there and then deleted."""
        return Path(tempfile.gettempdir()) / "shipyard-staging"

    def put_file(self, key: str, path: Path) -> None:
        """Upload ``path`` (in parts when large) and delete it, whether or not the upload worked."""
        s3_key = self._key(key)
        try:
            self._client.upload_file(str(path), self.bucket, s3_key, Config=self._transfer)
        except self._network_errors as exc:
            raise self._unavailable(exc) from exc
        finally:
            path.unlink(missing_ok=True)

    def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Stream the object; raises :class:`NotFound` at once if it does not exist."""
        s3_key = self._key(key)
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=s3_key)["Body"]
        except self._network_errors as exc:
            raise self._unavailable(exc) from exc
        except self._client_error as exc:
            if self._is_missing(exc):
                raise NotFound(f"no artifact data under {key!r}") from None
            raise
        return self._iter_body(body, chunk_size)

    def _iter_body(self, body: Any, chunk_size: int) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(chunk_size)
        except self._network_errors as exc:
            raise self._unavailable(exc) from exc
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        s3_key = self._key(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=s3_key)
        except self._network_errors as exc:
            raise self._unavailable(exc) from exc
        except self._client_error as exc:
            if self._is_missing(exc):
                return False
            raise
        return True

    def size(self, key: str) -> int:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self._network_errors as exc:
            raise self._unavailable(exc) from exc
        except self._client_error as exc:
            if self._is_missing(exc):
                raise NotFound(f"no artifact data under {key!r}") from None
            raise
        return int(head["ContentLength"])

    def list_keys(self, prefix: str) -> list[str]:
        folder = self._key(prefix.strip("/")) + "/" if prefix.strip("/") else self._key("x")[:-1]
        cut = len(self._key("x")) - 1
        keys: list[str] = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder):
                keys += [item["Key"][cut:] for item in page.get("Contents", [])]
        except self._network_errors as exc:
            raise self._unavailable(exc) from exc
        return sorted(keys)

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing key is not an error."""
        s3_key = self._key(key)
        try:
            self._client.delete_object(Bucket=self.bucket, Key=s3_key)
        except self._network_errors as exc:
            raise self._unavailable(exc) from exc
