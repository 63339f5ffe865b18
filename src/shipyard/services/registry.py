"""The model registry: models, versions made from bundles logged by runs, aliases, lineage.

A version is created from a bundle already stored as artifacts of a run. The hub checks the bundle
without downloading it: its ``manifest.json`` is read (a few KB) and every file it lists must be an
artifact of the run with the same sha256 and size, so a version never points at a bundle that would
be refused when loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.domain.artifacts import ArtifactEntry, check_artifact_path
from shipyard.domain.bundle import MANIFEST, BundleManifest, FileEntry
from shipyard.domain.principals import AuditEvent, Principal
from shipyard.domain.registry import (
    ModelRef,
    ModelVersion,
    RegisteredModel,
    check_alias,
    check_model_name,
    check_version_number,
    parse_model_ref,
)
from shipyard.domain.tracking import check_key, check_tags, now_ms
from shipyard.errors import IntegrityError, InvalidArgument, NotFound
from shipyard.stores.artifacts import BlobStore
from shipyard.stores.metadata import MetadataStore

__all__ = ["RegistryService"]

MAX_MANIFEST_BYTES = 4 << 20


class RegistryService:
    def __init__(self, store: MetadataStore, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs

    # models --------------------------------------------------------------------------------------
    def create_model(
        self, who: Principal, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        check_model_name(name)
        tags = check_tags(tags or {})
        with self.store.transaction(write=True) as tx:
            tx.insert_model(RegisteredModel(name, description, tags, created_at=now_ms(), created_by=who.name))
            tx.append_audit(AuditEvent(who.name, "model.create", "model", name, {}))
            return tx.get_model(name)

    def get_model(self, who: Principal, name: str) -> RegisteredModel:
        check_model_name(name)
        with self.store.transaction(write=False) as tx:
            return tx.get_model(name)

    def list_models(self, who: Principal) -> list[RegisteredModel]:
        with self.store.transaction(write=False) as tx:
            return tx.list_models()

    def update_model(
        self, who: Principal, name: str, *, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        check_model_name(name)
        checked = check_tags(tags or {})
        with self.store.transaction(write=True) as tx:
            current = tx.get_model(name)
            if description is not None:
                tx.update_model(name, description=description, updated_at=now_ms())
            if checked:
                tx.set_model_tags(name, checked)
            changes = {"description": description is not None and description != current.description, "tags": checked}
            tx.append_audit(AuditEvent(who.name, "model.update", "model", name, changes))
            return tx.get_model(name)

    # versions ------------------------------------------------------------------------------------
    def _bundle(self, run_id: str, artifact_path: str) -> BundleManifest:
        """The bundle's manifest, after checking every file it lists is an artifact of the run."""
        prefix = artifact_path.strip("/")
        check_artifact_path(prefix, "artifact_path")
        with self.store.transaction(write=False) as tx:
            entries = {e.path: e for e in tx.list_artifacts(run_id, prefix)}
        entry = entries.get(f"{prefix}/{MANIFEST}")
        if entry is None:
            raise InvalidArgument(
                f"run {run_id} has no bundle at {prefix!r} (no {prefix}/{MANIFEST}); log one with log_model",
                field="artifact_path",
            )
        if entry.size > MAX_MANIFEST_BYTES:
            raise InvalidArgument(f"{prefix}/{MANIFEST} is too large to be a manifest", field="artifact_path")
        manifest = BundleManifest.from_json(b"".join(self.blobs.read_chunks(entry.digest)))
        for path, want in manifest.files.items():
            got = entries.get(f"{prefix}/{path}")
            if got is None:
                raise IntegrityError(f"bundle file {path!r} is missing from run {run_id}'s artifacts")
            if (got.digest, got.size) != (want.sha256, want.size):
                raise IntegrityError(f"bundle file {path!r} in run {run_id} does not match its manifest")
        return manifest

    def create_version(
        self,
        who: Principal,
        name: str,
        run_id: str,
        artifact_path: str,
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        create_model: bool = True,
    ) -> ModelVersion:
        """Version ``n+1`` of ``name`` from the bundle at ``artifact_path`` of run ``run_id``
        (the model is created first if ``create_model`` and it does not exist)."""
        check_model_name(name)
        checked = check_tags(tags or {})
        manifest = self._bundle(run_id, artifact_path)
        with self.store.transaction(write=True) as tx:
            tx.run_status(run_id)
            try:
                tx.get_model(name)
            except NotFound:
                if not create_model:
                    raise
                tx.insert_model(RegisteredModel(name, created_at=now_ms(), created_by=who.name))
                tx.append_audit(AuditEvent(who.name, "model.create", "model", name, {}))
            number = tx.next_version(name, now_ms())
            version = ModelVersion(
                name=name,
                version=number,
                run_id=run_id,
                artifact_path=artifact_path.strip("/"),
                bundle_digest=manifest.digest,
                flavor=manifest.flavor,
                signature=dict(manifest.signature or {}),
                description=description,
                tags=checked,
                created_at=now_ms(),
                created_by=who.name,
            )
            tx.insert_version(version)
            details = {"version": number, "run_id": run_id, "bundle": manifest.digest}
            tx.append_audit(AuditEvent(who.name, "model.version.create", "model", name, details))
            return tx.get_version(name, number)

    def get_version(self, who: Principal, name: str, version: int) -> ModelVersion:
        check_model_name(name)
        number = check_version_number(version)
        with self.store.transaction(write=False) as tx:
            return tx.get_version(name, number)

    def list_versions(self, who: Principal, name: str) -> list[ModelVersion]:
        check_model_name(name)
        with self.store.transaction(write=False) as tx:
            tx.get_model(name)
            return tx.list_versions(name)

    def resolve(self, who: Principal, ref: str | ModelRef) -> ModelVersion:
        """The version a ``models:/`` reference names, read in one transaction."""
        parsed = ref if isinstance(ref, ModelRef) else parse_model_ref(ref)
        with self.store.transaction(write=False) as tx:
            if parsed.version is not None:
                return tx.get_version(parsed.name, parsed.version)
            if parsed.alias is not None:
                number = tx.alias_version(parsed.name, parsed.alias)
                if number is None:
                    tx.get_model(parsed.name)
                    raise NotFound(f"model {parsed.name!r} has no alias {parsed.alias!r}", field="alias")
                return tx.get_version(parsed.name, number)
            latest = tx.get_model(parsed.name).latest_version
            if latest is None:
                raise NotFound(f"model {parsed.name!r} has no versions yet", field="version")
            return tx.get_version(parsed.name, latest)

    def update_version(
        self,
        who: Principal,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        number = check_version_number(version)
        checked = check_tags(tags or {})
        with self.store.transaction(write=True) as tx:
            tx.get_version(name, number)
            tx.update_version(name, number, description=description)
            if checked:
                tx.set_version_tags(name, number, checked)
            details: dict[str, Any] = {"version": number, "tags": checked}
            tx.append_audit(AuditEvent(who.name, "model.version.update", "model", name, details))
            return tx.get_version(name, number)

    def add_variant(
        self,
        who: Principal,
        name: str,
        version: int,
        variant: str,
        run_id: str,
        artifact_path: str,
        facts: Mapping[str, Any],
    ) -> ModelVersion:
        """Record another encoding of the same version (``onnx``): the bundle at ``artifact_path``
        of run ``run_id`` (the run that made the export), with facts such as its parity with the
        original."""
        check_key(variant, "variant")
        number = check_version_number(version)
        self.get_version(who, name, number)
        manifest = self._bundle(run_id, artifact_path)
        entry = {**dict(facts), "run_id": run_id, "artifact_path": artifact_path.strip("/")}
        entry |= {"bundle_digest": manifest.digest, "flavor": manifest.flavor}
        with self.store.transaction(write=True) as tx:
            variants = dict(tx.get_version(name, number).variants)
            variants[variant] = entry
            tx.update_version(name, number, variants=variants)
            details = {"version": number, "variant": variant, "bundle": manifest.digest}
            tx.append_audit(AuditEvent(who.name, "model.variant.add", "model", name, details))
            return tx.get_version(name, number)

    # aliases -------------------------------------------------------------------------------------
    def set_alias(self, who: Principal, name: str, alias: str, version: int) -> ModelVersion:
        """Point ``alias`` at ``version``: one statement, so readers see the old or the new one."""
        check_alias(alias)
        number = check_version_number(version)
        with self.store.transaction(write=True) as tx:
            tx.get_version(name, number)
            before = tx.set_alias(name, alias, number, now_ms())
            details = {"alias": alias, "from": before, "to": number}
            tx.append_audit(AuditEvent(who.name, "model.alias.set", "model", name, details))
            return tx.get_version(name, number)

    def delete_alias(self, who: Principal, name: str, alias: str) -> None:
        check_alias(alias)
        with self.store.transaction(write=True) as tx:
            before = tx.delete_alias(name, alias)
            if before is None:
                tx.get_model(name)
                raise NotFound(f"model {name!r} has no alias {alias!r}", field="alias")
            tx.append_audit(AuditEvent(who.name, "model.alias.delete", "model", name, {"alias": alias, "was": before}))

    # removal and renames -------------------------------------------------------------------------
    def rename_model(self, who: Principal, name: str, new_name: str) -> RegisteredModel:
        check_model_name(name)
        check_model_name(new_name)
        with self.store.transaction(write=True) as tx:
            tx.rename_model(name, new_name, now_ms())
            tx.append_audit(AuditEvent(who.name, "model.rename", "model", new_name, {"from": name}))
            return tx.get_model(new_name)

    def delete_model(self, who: Principal, name: str) -> None:
        """Remove a model and all its versions from the registry (the runs and their artifacts stay)."""
        check_model_name(name)
        with self.store.transaction(write=True) as tx:
            tx.delete_model(name)
            tx.append_audit(AuditEvent(who.name, "model.delete", "model", name, {}))

    def delete_version(self, who: Principal, name: str, version: int) -> None:
        number = check_version_number(version)
        with self.store.transaction(write=True) as tx:
            tx.delete_version(name, number)
            tx.append_audit(AuditEvent(who.name, "model.version.delete", "model", name, {"version": number}))

    def delete_model_tag(self, who: Principal, name: str, key: str) -> None:
        check_key(key, "key")
        with self.store.transaction(write=True) as tx:
            if not tx.delete_model_tag(name, key):
                tx.get_model(name)
                raise NotFound(f"model {name!r} has no tag {key!r}", field="key")
            tx.append_audit(AuditEvent(who.name, "model.update", "model", name, {"deleted_tags": [key]}))

    def delete_version_tag(self, who: Principal, name: str, version: int, key: str) -> None:
        number = check_version_number(version)
        check_key(key, "key")
        with self.store.transaction(write=True) as tx:
            if not tx.delete_version_tag(name, number, key):
                tx.get_version(name, number)
                raise NotFound(f"version {number} of {name!r} has no tag {key!r}", field="key")
            details = {"version": number, "deleted_tags": [key]}
            tx.append_audit(AuditEvent(who.name, "model.version.update", "model", name, details))

    # folders of files that are not bundles yet ---------------------------------------------------
    def adopt_folder(
        self,
        who: Principal,
        run_id: str,
        artifact_path: str,
        *,
        flavor: str,
        flavor_config: Mapping[str, Any],
        signature: Mapping[str, Any] | None = None,
        requirements: tuple[str, ...] = (),
    ) -> BundleManifest:
        """Make the run's artifacts under ``artifact_path`` a bundle by writing its manifest there
        (an MLflow model folder logged by the MLflow client, say). Only the manifest is new: it
        lists the files with the digests the hub recorded when they were uploaded, so nothing is
        downloaded or copied. The manifest is derived data, so it is written even after the run
        has finished. Returns the manifest; adopting the same folder again changes nothing."""
        prefix = artifact_path.strip("/")
        check_artifact_path(prefix, "artifact_path")
        with self.store.transaction(write=False) as tx:
            entries = [e for e in tx.list_artifacts(run_id, prefix) if e.path != f"{prefix}/{MANIFEST}"]
        if not entries:
            raise NotFound(f"run {run_id} has no artifacts under {prefix!r}", field="artifact_path")
        files = {e.path[len(prefix) + 1 :]: FileEntry(e.digest, e.size) for e in entries}
        manifest = BundleManifest(
            flavor=flavor,
            files=files,
            flavor_config=dict(flavor_config),
            signature=dict(signature) if signature else None,
            requirements=tuple(sorted(set(requirements))),
        )
        raw = manifest.to_json()
        digest, size = self.blobs.put_chunks([raw])
        with self.store.transaction(write=True) as tx:
            tx.run_lifecycle(run_id)
            tx.put_artifact(run_id, ArtifactEntry(f"{prefix}/{MANIFEST}", digest, size, now_ms()))
            details = {"path": prefix, "bundle": manifest.digest, "flavor": flavor}
            tx.append_audit(AuditEvent(who.name, "bundle.adopt", "run", run_id, details))
        return manifest

    # lineage -------------------------------------------------------------------------------------
    def versions_of_run(self, who: Principal, run_id: str) -> list[ModelVersion]:
        with self.store.transaction(write=False) as tx:
            tx.run_status(run_id)
            return tx.versions_of_run(run_id)
