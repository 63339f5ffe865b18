"""Artifact store adapter for a local folder (``/path`` or ``file:///path``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from shipyard.errors import NotFound
from shipyard.stores.artifacts import CHUNK_SIZE, check_storage_key

__all__ = ["LocalArtifactStore"]


class LocalArtifactStore:
    """Keys map to files below ``root``; writes are atomic renames (a reader never sees half a
    file). A stored file survives a crash of the process; with ``fsync`` it is also flushed to disk
    before the write returns, so it survives power loss (at the cost of waiting for the disk)."""

    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self.root = root.expanduser().absolute()
        self.uri = self.root.as_uri()
        self.fsync = fsync

    @classmethod
    def from_uri(cls, uri: str, *, fsync: bool = False, **_: Any) -> LocalArtifactStore:
        if uri.startswith("file://"):
            return cls(Path(unquote(urlsplit(uri).path)), fsync=fsync)
        return cls(Path(uri), fsync=fsync)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_storage_key(key).split("/"))

    def staging_dir(self) -> Path:
        return self.root / ".staging"

    def put_file(self, key: str, path: Path) -> None:
        """Move ``path`` into place under ``key`` (the store takes ownership of the file, as the
        port says): a rename on the same file system, else a copy into staging and then a rename,
        so readers never see a partial file. The source is gone afterwards either way."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = path
        if path.parent != self.staging_dir():
            self.staging_dir().mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="copy-", dir=self.staging_dir())
            os.close(fd)
            staged = Path(name)
            try:
                shutil.copyfile(path, staged)
            except BaseException:
                staged.unlink(missing_ok=True)
                raise
            path.unlink(missing_ok=True)
        if self.fsync:
            _fsync(staged)
        os.replace(staged, target)
        if self.fsync:
            _fsync(target.parent)

    def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        path = self._path(key)
        try:
            fh = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the generator below
        except FileNotFoundError:
            raise NotFound(f"no artifact data under {key!r}") from None
        return _iter_file(fh, chunk_size)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no artifact data under {key!r}") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_keys(self, prefix: str) -> list[str]:
        base = self._path(prefix.strip("/")) if prefix.strip("/") else self.root
        if not base.is_dir():
            return []
        staging = self.staging_dir()
        keys = [
            p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file() and staging not in p.parents
        ]
        return sorted(keys)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _iter_file(fh: Any, chunk_size: int) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(chunk_size):
            yield chunk
