"""Bundles: the unit that is served, benchmarked and deployed.

A bundle is a folder (or a single-file archive of it) with ``manifest.json`` and the files it
lists: the model's files in its flavor's format, an input example and a model card. The manifest
names the flavor, the signature, the exact requirements and Python version, and the sha256 and
size of every other file. Its own digest (sha256 of its canonical JSON) names the bundle: a
version in the registry points at it, and a loader refuses a bundle whose files do not match.
The manifest holds no times or host facts, so building the same model twice gives the same digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.domain.provenance import canonical_json
from shipyard.errors import IntegrityError, InvalidArgument

__all__ = ["MANIFEST", "BundleManifest", "FileEntry", "check_bundle_files", "check_bundle_path"]

MANIFEST = "manifest.json"
FORMAT = "shipyard-bundle/1"


@dataclass(frozen=True, slots=True)
class FileEntry:
    sha256: str
    size: int


@dataclass(frozen=True)
class BundleManifest:
    """What a bundle holds; see the module docstring."""

    flavor: str
    files: Mapping[str, FileEntry]
    flavor_config: Mapping[str, Any] = field(default_factory=dict)
    signature: Mapping[str, Any] | None = None
    input_example: str | None = None
    requirements: tuple[str, ...] = ()
    python_version: str = ""
    card: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "flavor": self.flavor,
            "flavor_config": dict(self.flavor_config),
            "signature": dict(self.signature) if self.signature is not None else None,
            "input_example": self.input_example,
            "requirements": list(self.requirements),
            "python_version": self.python_version,
            "card": self.card,
            "files": {p: {"sha256": f.sha256, "size": f.size} for p, f in sorted(self.files.items())},
        }

    def to_json(self) -> bytes:
        """Canonical JSON: sorted keys, no spaces; what the digest covers."""
        return canonical_json(self.to_dict())

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.to_json()).hexdigest()

    @staticmethod
    def from_json(raw: bytes) -> BundleManifest:
        try:
            d = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise IntegrityError(f"{MANIFEST} is not valid JSON: {exc}") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise IntegrityError(f"{MANIFEST} is not a {FORMAT} manifest")
        try:
            files = {p: FileEntry(str(f["sha256"]), int(f["size"])) for p, f in d["files"].items()}
            return BundleManifest(
                flavor=str(d["flavor"]),
                files=files,
                flavor_config=dict(d.get("flavor_config") or {}),
                signature=d.get("signature"),
                input_example=d.get("input_example"),
                requirements=tuple(d.get("requirements") or ()),
                python_version=str(d.get("python_version") or ""),
                card=d.get("card"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise IntegrityError(f"{MANIFEST} is malformed: {exc!r}") from None


def check_bundle_files(manifest: BundleManifest, found: Mapping[str, FileEntry]) -> None:
    """Refuse a bundle whose files differ from its manifest: a changed, missing or unlisted file
    raises :class:`IntegrityError` naming it."""
    for path, want in sorted(manifest.files.items()):
        got = found.get(path)
        if got is None:
            raise IntegrityError(f"bundle file {path!r} is missing")
        if got != want:
            raise IntegrityError(
                f"bundle file {path!r} was changed: sha256 {got.sha256[:12]} ({got.size} B), "
                f"the manifest says {want.sha256[:12]} ({want.size} B)"
            )
    extra = sorted(set(found) - set(manifest.files) - {MANIFEST})
    if extra:
        raise IntegrityError(f"bundle holds files its manifest does not list: {', '.join(extra[:5])}")


def check_bundle_path(path: str) -> str:
    """A file path inside a bundle: relative, '/'-separated, no '..'."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise InvalidArgument(f"bundle path {path!r} must be relative without '.' or '..'", field="path")
    return path
