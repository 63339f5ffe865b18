"""Storing and reading run manifests (see :mod:`shipyard.domain.provenance`)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from shipyard.domain.provenance import Manifest
from shipyard.errors import NotFound
from shipyard.sdk.client import Client
from shipyard.sdk.provenance import capture

__all__ = ["MANIFEST_PATH", "load_manifest", "record_manifest"]

PREFIX = "_shipyard"
MANIFEST_PATH = f"{PREFIX}/manifest.json"
DIGEST_TAG = "shipyard.manifest.sha256"


def record_manifest(client: Client, run_id: str) -> Manifest:
    """Capture the manifest now and store it with the run: ``_shipyard/manifest.json``, the
    collectors' files under ``_shipyard/<collector>/``, and tags with the digest and git commit."""
    manifest, files = capture()
    with tempfile.TemporaryDirectory(prefix="shipyard-manifest-") as tmp:
        for i, (name, data) in enumerate(sorted(files.items())):
            path = Path(tmp) / f"file-{i}"
            path.write_bytes(data)
            client.log_artifact(run_id, path, f"{PREFIX}/{name}")
        doc = Path(tmp) / "manifest.json"
        doc.write_bytes(manifest.to_json())
        client.log_artifact(run_id, doc, MANIFEST_PATH)
    tags = {DIGEST_TAG: manifest.digest}
    git = manifest.reproducible.get("git", {})
    if git.get("commit"):
        tags["shipyard.git.commit"] = git["commit"]
        tags["shipyard.git.dirty"] = str(bool(git.get("dirty"))).lower()
    client.set_tags(run_id, tags)
    return manifest


def load_manifest(client: Client, run_id: str) -> dict[str, Any]:
    """The stored manifest document of ``run_id``."""
    with tempfile.TemporaryDirectory(prefix="shipyard-manifest-") as tmp:
        try:
            path = client.download_artifact(run_id, MANIFEST_PATH, Path(tmp) / "manifest.json")
        except NotFound:
            raise NotFound(
                f"run {run_id} has no manifest (it was started without provenance capture)", field="run_id"
            ) from None
        doc: dict[str, Any] = json.loads(path.read_text())
        return doc
