"""Datasets: content-addressed versions, the blobs that hold them, and run lineage.

Clients compute a version's digest, schema and profile where the data is (so the hub never parses
user data), upload its bytes as a blob, then log the version as an input of a run. The hub checks
the facts it can: the blob is stored, the run is RUNNING, the fields are well formed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from shipyard.domain.artifacts import check_digest
from shipyard.domain.datasets import (
    DatasetInput,
    DatasetSummary,
    DatasetVersion,
    check_dataset_name,
    check_role,
    check_version,
    check_version_ref,
    summarize,
)
from shipyard.domain.principals import AuditEvent, Principal
from shipyard.domain.tracking import now_ms
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.stores.artifacts import CHUNK_SIZE, BlobStore, BlobWriter
from shipyard.stores.metadata import MetadataStore

__all__ = ["DatasetService"]


class DatasetService:
    """Log dataset versions as run inputs; list, show and trace them."""

    def __init__(self, store: MetadataStore, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs

    # blobs -------------------------------------------------------------------------------------
    def begin_blob(self, who: Principal) -> BlobWriter:
        """A streamed blob upload; ``commit()`` returns ``(sha256, size)``."""
        return self.blobs.open_writer()

    def put_blob(self, who: Principal, chunks: Iterable[bytes | memoryview]) -> tuple[str, int]:
        return self.blobs.put_chunks(chunks)

    def read_blob(
        self, who: Principal, digest: str, *, verify: bool = True, chunk_size: int = CHUNK_SIZE
    ) -> Iterator[bytes]:
        """A blob's bytes. Blobs are content-addressed: knowing the sha256 is what names them."""
        return self.blobs.read_chunks(check_digest(digest), chunk_size, verify=verify)

    def blob_size(self, who: Principal, digest: str) -> int:
        return self.blobs.size(check_digest(digest))

    # logging -----------------------------------------------------------------------------------
    def log_input(
        self,
        who: Principal,
        run_id: str,
        name: str,
        role: str,
        version: DatasetVersion,
        *,
        allow_finished: bool = False,
    ) -> DatasetInput:
        """Record that run ``run_id`` used ``version`` as dataset ``name`` in ``role``. A version
        already known by its digest keeps its stored facts. Only a RUNNING run takes inputs,
        unless ``allow_finished`` (as MLflow clients expect)."""
        check_dataset_name(name)
        check_role(role)
        check_version(version)
        if not self.blobs.exists(version.blob):
            raise InvalidArgument(
                f"blob {version.blob} is not stored; upload the dataset's bytes first (POST /api/v1/blobs)",
                field="dataset.blob",
            )
        stamped = dataclasses.replace(version, created_at=now_ms(), created_by=who.name)
        with self.store.transaction(write=True) as tx:
            status = tx.run_status(run_id)
            if status.is_terminal and not allow_finished:
                raise Conflict(
                    f"run {run_id} is {status.value}; datasets can only be logged to a RUNNING run", field="run_id"
                )
            new = tx.insert_dataset_version(stamped)
            inp = DatasetInput(run_id, name, role, version.digest, now_ms())
            tx.put_run_input(inp)
            details = {"name": name, "role": role, "digest": version.digest, "new_version": new}
            tx.append_audit(AuditEvent(who.name, "dataset.log", "run", run_id, details))
            stored = tx.get_dataset_version(version.digest)
        return DatasetInput(inp.run_id, inp.name, inp.role, inp.digest, inp.logged_at, stored)

    # reading -----------------------------------------------------------------------------------
    def get_version(self, who: Principal, ref: str) -> DatasetVersion:
        """A version by digest or unique digest prefix."""
        check_version_ref(ref)
        with self.store.transaction(write=False) as tx:
            found = tx.find_dataset_versions(ref, limit=2)
        if not found:
            raise NotFound(f"no dataset version {ref}", field="digest")
        if len(found) > 1:
            raise InvalidArgument(f"{ref} names more than one dataset version; give more characters", field="digest")
        return found[0]

    def run_inputs(self, who: Principal, run_id: str) -> list[DatasetInput]:
        with self.store.transaction(write=False) as tx:
            tx.run_lifecycle(run_id)  # NotFound for an unknown run; a deleted run still has its inputs
            return tx.list_inputs(run_id=run_id, with_versions=True)

    def consumers(self, who: Principal, ref: str) -> tuple[DatasetVersion, list[DatasetInput]]:
        """A version and every run that used it (the other direction of lineage)."""
        version = self.get_version(who, ref)
        with self.store.transaction(write=False) as tx:
            return version, tx.list_inputs(digest=version.digest)

    def list_datasets(self, who: Principal) -> list[DatasetSummary]:
        with self.store.transaction(write=False) as tx:
            return summarize(tx.list_inputs())

    def history(self, who: Principal, name: str) -> list[DatasetInput]:
        """Every time ``name`` was logged, oldest first, with its version."""
        check_dataset_name(name)
        with self.store.transaction(write=False) as tx:
            found = tx.list_inputs(name=name, with_versions=True)
        if not found:
            raise NotFound(f"no dataset named {name!r}", field="name")
        return found
