"""Models from the SDK: log a model as a bundle in a run, register it, load it back anywhere.

Bundles are built where the model is (this process) and stored as ordinary run artifacts, so they
travel through the same verified, content-addressed storage as everything else. Loading downloads
a version's bundle once into the cache (``<home>/cache/bundles/<digest>``), verifies every file
against the manifest, and checks the manifest against the digest the registry recorded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.domain.bundle import MANIFEST
from shipyard.domain.registry import ModelVersion, parse_model_ref
from shipyard.errors import IntegrityError, InvalidArgument

if TYPE_CHECKING:
    from shipyard.domain.signature import Signature
    from shipyard.flavors.bundle import LoadedModel
    from shipyard.sdk.client import Client

__all__ = ["Export", "LoggedModel", "download_bundle", "export_onnx", "load_model", "log_model", "register_model"]


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """A bundle logged to a run, and the registry version made from it (if it was registered)."""

    run_id: str
    artifact_path: str
    bundle_digest: str
    flavor: str
    version: ModelVersion | None = None

    @property
    def uri(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"


def log_model(
    client: Client,
    run_id: str,
    model: Any,
    *,
    artifact_path: str = "model",
    input_example: Any = None,
    signature: Signature | None = None,
    flavor: str | None = None,
    registered_model_name: str | None = None,
    card: str | None = None,
) -> LoggedModel:
    """Build ``model``'s bundle and store it under ``artifact_path`` of run ``run_id``; with
    ``registered_model_name``, also register it as that model's next version."""
    from shipyard.flavors.bundle import save_bundle

    with tempfile.TemporaryDirectory(prefix="shipyard-bundle-") as tmp:
        root = Path(tmp) / "bundle"
        manifest = save_bundle(model, root, flavor=flavor, input_example=input_example, signature=signature, card=card)
        client.log_artifacts(run_id, root, artifact_path.strip("/"))
    logged = LoggedModel(run_id, artifact_path.strip("/"), manifest.digest, manifest.flavor)
    if registered_model_name is not None:
        version = client.backend.create_model_version(registered_model_name, run_id, logged.artifact_path, "", {})
        logged = LoggedModel(logged.run_id, logged.artifact_path, logged.bundle_digest, logged.flavor, version)
    return logged


def register_model(
    client: Client, source: str, name: str, *, description: str = "", tags: dict[str, str] | None = None
) -> ModelVersion:
    """Register the bundle at ``source`` (``runs:/RUN_ID/PATH``) as the next version of ``name``."""
    if not isinstance(source, str) or not source.startswith("runs:/"):
        raise InvalidArgument("source is runs:/RUN_ID/ARTIFACT_PATH (log the model first)", field="source")
    run_id, _, path = source[len("runs:/") :].partition("/")
    if not run_id or not path:
        raise InvalidArgument(f"cannot read {source!r}: use runs:/RUN_ID/ARTIFACT_PATH", field="source")
    return client.backend.create_model_version(name, run_id, path, description, tags or {})


@dataclass(frozen=True, slots=True)
class _Location:
    run_id: str
    artifact_path: str
    digest: str


def _fetch(client: Client, version: ModelVersion, where: _Location, dest: Path) -> None:
    """Download the bundle's files into ``dest`` (which must not exist), verified."""
    from shipyard.flavors.bundle import verify_bundle

    prefix = where.artifact_path.strip("/") + "/"
    entries = [e for e in client.list_artifacts(where.run_id, where.artifact_path) if e.path.startswith(prefix)]
    if not any(e.path == prefix + MANIFEST for e in entries):
        raise IntegrityError(f"{version.ref}: run {where.run_id} no longer holds {prefix}{MANIFEST}")
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest.parent))
    try:
        for e in entries:
            client.download_artifact(where.run_id, e.path, staging / e.path[len(prefix) :])
        verify_bundle(staging, where.digest)
        os.replace(staging, dest)  # atomic: a cache entry is complete or absent
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _variant(version: ModelVersion, variant: str | None) -> _Location:
    if variant is None:
        return _Location(version.run_id, version.artifact_path, version.bundle_digest)
    found = version.variants.get(variant)
    if found is None:
        have = ", ".join(version.variants) or "none"
        raise InvalidArgument(f"{version.ref} has no {variant!r} variant (variants: {have})", field="variant")
    return _Location(str(found["run_id"]), str(found["artifact_path"]), str(found["bundle_digest"]))


def bundle_dir(client: Client, ref: str | ModelVersion, *, variant: str | None = None) -> tuple[ModelVersion, Path]:
    """The version ``ref`` names and its verified bundle folder in the cache."""
    version = ref if isinstance(ref, ModelVersion) else client.backend.resolve_model(str(parse_model_ref(ref)))
    where = _variant(version, variant)
    cache = client.settings.resolved_cache_dir() / "bundles"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / where.digest
    if not (target / MANIFEST).is_file():
        _fetch(client, version, where, target)
    return version, target


def load_model(client: Client, ref: str, *, trust: bool = False, variant: str | None = None) -> LoadedModel:
    """The model ``ref`` names, ready to call; see :func:`shipyard.load_model`."""
    from shipyard.flavors.bundle import load_bundle

    version, root = bundle_dir(client, ref, variant=variant)
    # verified again on every load: the cache is a plain folder anyone could edit
    return load_bundle(root, trust=trust, expected_digest=_variant(version, variant).digest)


def download_bundle(client: Client, ref: str, dest: Path, *, variant: str | None = None) -> Path:
    """Copy the verified bundle of ``ref`` to the new folder ``dest``."""
    _, root = bundle_dir(client, ref, variant=variant)
    if dest.exists() and any(dest.iterdir()):
        raise InvalidArgument(f"{dest} is not empty", field="dest")
    shutil.copytree(root, dest, dirs_exist_ok=True)
    return dest


@dataclass(frozen=True)
class Export:
    """An ONNX export: the version it was recorded on, and its parity with the original."""

    version: ModelVersion
    parity: Any
    recorded: bool


def export_onnx(
    client: Client,
    ref: str,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    allow_mismatch: bool = False,
    trust: bool = False,
) -> Export:
    """Convert the version ``ref`` names to ONNX, check parity, and record the export as the
    version's ``onnx`` variant (in a run of experiment ``models`` tagged with the version).

    A mismatch beyond the tolerance is not recorded unless ``allow_mismatch``; the parity figures
    are returned either way."""
    from shipyard.flavors.bundle import load_bundle, save_bundle
    from shipyard.flavors.export import check_parity, to_onnx
    from shipyard.sdk.fluent import start_run

    version, root = bundle_dir(client, ref)
    original = load_bundle(root, trust=trust, expected_digest=version.bundle_digest)
    graph = to_onnx(original)
    with tempfile.TemporaryDirectory(prefix="shipyard-onnx-") as tmp:
        bundle = Path(tmp) / "bundle"
        card = f"# {version.name} v{version.version}, ONNX export\n\nExported from {version.ref} ({version.flavor}).\n"
        signature = original.signature
        save_bundle(
            graph, bundle, flavor="onnx", input_example=original.input_example(), signature=signature, card=card
        )
        exported = load_bundle(bundle)
        parity = check_parity(original, exported, rtol=rtol, atol=atol)
        if not parity.passed and not allow_mismatch:
            return Export(version, parity, recorded=False)
        tags = {"shipyard.export.of": version.ref, "shipyard.export.format": "onnx"}
        with start_run("models", name=f"export-{version.name}-v{version.version}", tags=tags, client=client) as run:
            run.log_artifacts(bundle, "model-onnx")
    updated = client.backend.add_model_variant(
        version.name, version.version, "onnx", run.id, "model-onnx", {"parity": parity.to_dict()}
    )
    return Export(updated, parity, recorded=True)
