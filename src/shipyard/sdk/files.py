"""Writing downloaded artifacts safely."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from shipyard.domain.artifacts import ArtifactEntry
from shipyard.errors import IntegrityError
from shipyard.stores.artifacts import HashPipe, write_all

__all__ = ["write_verified"]


def write_verified(dest: Path, chunks: Iterable[bytes | memoryview], entry: ArtifactEntry) -> ArtifactEntry:
    """Write ``chunks`` to ``dest`` via a temporary file, renamed into place only if the bytes hash
    to ``entry.digest``; a corrupt download leaves nothing behind."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part-{os.getpid()}")
    h = HashPipe()  # hashing overlaps the writes
    try:
        with open(tmp, "wb", buffering=0) as out:
            for chunk in chunks:
                h.update(chunk)
                write_all(out, chunk)
        digest = h.hexdigest()
        if digest != entry.digest:
            raise IntegrityError(f"artifact {entry.path!r} arrived corrupt: sha256 {digest} != {entry.digest}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return entry
