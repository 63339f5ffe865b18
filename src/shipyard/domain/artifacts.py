"""Artifacts: a per-run logical tree of paths, each pointing at a content digest."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.errors import InvalidArgument

__all__ = ["ArtifactEntry", "check_artifact_path", "check_digest"]

MAX_PATH_LENGTH = 1024
_DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class ArtifactEntry:
    """One file in a run's artifact tree."""

    path: str
    digest: str  # sha256, hex
    size: int
    created_at: int = 0


def check_artifact_path(path: object, field_name: str = "path") -> str:
    """Validate a logical artifact path: relative, '/'-separated, no '.', '..' or empty parts.

    Returns the path unchanged; it is rejected rather than normalised, so what the user asked for
    is what gets stored.
    """
    if not isinstance(path, str) or not path:
        raise InvalidArgument("an artifact path must be a non-empty string", field=field_name)
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidArgument(f"artifact path longer than {MAX_PATH_LENGTH} characters", field=field_name)
    if "\x00" in path or "\\" in path or any(ord(c) < 32 for c in path):
        raise InvalidArgument(f"artifact path {path!r} contains a control character or a backslash", field=field_name)
    if path.startswith("/") or _DRIVE_RE.match(path):
        raise InvalidArgument(f"artifact path {path!r} must be relative", field=field_name)
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise InvalidArgument(f"artifact path {path!r} must not contain '..', '.' or empty segments", field=field_name)
    return path


def check_digest(digest: object, field_name: str = "digest") -> str:
    """A lower-case hex sha256 digest."""
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise InvalidArgument("a digest is 64 lower-case hex characters (sha256)", field=field_name)
    return digest
