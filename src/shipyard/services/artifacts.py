"""Artifacts: a per-run tree of logical paths over content-addressed blobs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from shipyard.domain.artifacts import ArtifactEntry, check_artifact_path
from shipyard.domain.principals import AuditEvent, Principal
from shipyard.domain.tracking import now_ms
from shipyard.errors import Conflict
from shipyard.stores.artifacts import CHUNK_SIZE, BlobStore, BlobWriter
from shipyard.stores.metadata import MetadataStore

__all__ = ["ArtifactService", "PendingUpload"]


class PendingUpload:
    """An artifact upload in progress; the blob is stored outside any database transaction, and the
    path is recorded only once every byte is in."""

    def __init__(self, service: ArtifactService, who: Principal, run_id: str, path: str, writer: BlobWriter) -> None:
        self._service = service
        self._who = who
        self.run_id = run_id
        self.path = path
        self._writer = writer

    def write(self, chunk: bytes | memoryview) -> None:
        self._writer.write(chunk)

    def commit(self) -> ArtifactEntry:
        digest, size = self._writer.commit()
        entry = ArtifactEntry(self.path, digest, size, now_ms())
        self._service._record(self._who, self.run_id, entry)
        return entry

    def abort(self) -> None:
        self._writer.abort()


class ArtifactService:
    """Upload, list and download run artifacts. Identical content is stored once."""

    def __init__(self, store: MetadataStore, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs

    def _writable_run(self, run_id: str) -> None:
        with self.store.transaction(write=False) as tx:
            status = tx.run_status(run_id)
        if status.is_terminal:
            raise Conflict(
                f"run {run_id} is {status.value}; artifacts can only be logged to a RUNNING run",
                field="run_id",
            )

    def begin_upload(self, who: Principal, run_id: str, path: str) -> PendingUpload:
        """Start an upload to ``path`` of a RUNNING run; feed it with ``write`` and ``commit`` it."""
        check_artifact_path(path)
        self._writable_run(run_id)
        return PendingUpload(self, who, run_id, path, self.blobs.open_writer())

    def upload(self, who: Principal, run_id: str, path: str, chunks: Iterable[bytes | memoryview]) -> ArtifactEntry:
        """Stream ``chunks`` into the run's tree at ``path`` (replacing what was there)."""
        pending = self.begin_upload(who, run_id, path)
        try:
            for chunk in chunks:
                pending.write(chunk)
        except BaseException:
            pending.abort()
            raise
        return pending.commit()

    def _record(self, who: Principal, run_id: str, entry: ArtifactEntry) -> None:
        with self.store.transaction(write=True) as tx:
            tx.run_status(run_id)
            tx.put_artifact(run_id, entry)
            details = {"path": entry.path, "digest": entry.digest, "size": entry.size}
            tx.append_audit(AuditEvent(who.name, "artifact.put", "run", run_id, details))

    def list(self, who: Principal, run_id: str, prefix: str | None = None) -> list[ArtifactEntry]:
        if prefix:
            check_artifact_path(prefix.rstrip("/"), "prefix")
        with self.store.transaction(write=False) as tx:
            return tx.list_artifacts(run_id, prefix)

    def stat(self, who: Principal, run_id: str, path: str) -> ArtifactEntry:
        check_artifact_path(path)
        with self.store.transaction(write=False) as tx:
            return tx.get_artifact(run_id, path)

    def read(
        self, who: Principal, run_id: str, path: str, *, verify: bool = True, chunk_size: int = CHUNK_SIZE
    ) -> tuple[ArtifactEntry, Iterator[bytes]]:
        """The entry and its bytes; with ``verify`` the iterator raises IntegrityError at the end if
        they are corrupt. ``verify=False`` is for consumers that check ``entry.digest`` themselves."""
        entry = self.stat(who, run_id, path)
        return entry, self.blobs.read_chunks(entry.digest, chunk_size, verify=verify)
