"""The ArtifactStore port, and BlobStore above it, against every adapter (local folder, S3 via moto).

The moto server runs in a child process (through :func:`shipyard.testing.moto_s3`) so that the
memory measured by the streaming test is Shipyard's own: moto keeps whole objects in memory, and
an in-process server would be counted by ``tracemalloc`` too.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.errors import IntegrityError, InvalidArgument, MissingDependency, NotFound, Unavailable
from shipyard.stores.artifacts import ArtifactStore, BlobStore, open_artifact_store
from shipyard.testing import free_port, moto_s3

BUCKET = "shipyard-contract"
MiB = 1 << 20


@dataclass
class Backend:
    """An adapter under test, plus a way to look behind the port at what it really stores."""

    store: ArtifactStore
    keys: Callable[[], list[str]]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """One moto S3 server for the module (a child process: see the module docstring)."""
    with moto_s3(BUCKET) as endpoint:
        yield endpoint


def _local_backend(root: Path) -> Backend:
    store = open_artifact_store(root.as_uri())

    def keys() -> list[str]:
        if not root.exists():
            return []
        files = (p.relative_to(root) for p in root.rglob("*") if p.is_file())
        return sorted(p.as_posix() for p in files if p.parts[0] != ".staging")

    return Backend(store, keys)


def _s3_backend(endpoint: str) -> Backend:
    import boto3

    prefix = f"t-{uuid.uuid4().hex}"
    store = open_artifact_store(f"s3://{BUCKET}/{prefix}", s3_endpoint_url=endpoint)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")

    def keys() -> list[str]:
        listing = client.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
        return sorted(obj["Key"].removeprefix(f"{prefix}/") for obj in listing.get("Contents", []))

    return Backend(store, keys)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return _local_backend(tmp_path / "artifacts")
    return _s3_backend(request.getfixturevalue("s3_endpoint"))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _read(store: ArtifactStore, key: str, chunk_size: int = MiB) -> bytes:
    return b"".join(store.read_chunks(key, chunk_size))


# --- the port -----------------------------------------------------------------------------------


def test_put_then_read_round_trips_in_bounded_chunks(backend: Backend, tmp_path: Path) -> None:
    data = os.urandom(3 * MiB + 17)
    backend.store.put_file("runs/r1/model.bin", _write(tmp_path / "model.bin", data))

    chunks = list(backend.store.read_chunks("runs/r1/model.bin", 256 * 1024))

    assert b"".join(chunks) == data
    assert all(0 < len(c) <= 256 * 1024 for c in chunks)
    assert backend.keys() == ["runs/r1/model.bin"]
    assert not (tmp_path / "model.bin").exists()  # the store took ownership of the file


def test_put_replaces_existing_content(backend: Backend, tmp_path: Path) -> None:
    backend.store.put_file("k", _write(tmp_path / "a", b"first"))
    backend.store.put_file("k", _write(tmp_path / "b", b"second"))
    assert _read(backend.store, "k") == b"second"


def test_empty_file_round_trips(backend: Backend, tmp_path: Path) -> None:
    backend.store.put_file("empty", _write(tmp_path / "empty", b""))
    assert backend.store.exists("empty")
    assert _read(backend.store, "empty") == b""


def test_size_of_stored_and_missing_keys(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    store.put_file("sized", _write(tmp_path / "f", b"12345"))
    store.put_file("empty", _write(tmp_path / "e", b""))
    assert store.size("sized") == 5
    assert store.size("empty") == 0
    with pytest.raises(NotFound):
        store.size("absent")


def test_exists_and_delete(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    assert not store.exists("a/b")
    store.put_file("a/b", _write(tmp_path / "f", b"x"))
    assert store.exists("a/b")

    store.delete("a/b")

    assert not store.exists("a/b")
    assert backend.keys() == []
    store.delete("a/b")  # deleting a missing key is not an error


def test_list_keys_under_a_folder(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    for key in ("model=a/version=1/date=2026-01-01/x.parquet", "model=a/version=2/y.parquet", "model=ab/z.parquet"):
        store.put_file(key, _write(tmp_path / "f", b"x"))
    assert store.list_keys("model=a") == ["model=a/version=1/date=2026-01-01/x.parquet", "model=a/version=2/y.parquet"]
    assert store.list_keys("model=a/version=2/") == ["model=a/version=2/y.parquet"]
    assert len(store.list_keys("")) == 3  # the whole store, no staging files
    assert store.list_keys("model=none") == []


def test_missing_key_raises_not_found_before_any_byte(backend: Backend) -> None:
    # Raised by the call itself, so a server can answer 404 before it starts a streamed response.
    with pytest.raises(NotFound):
        backend.store.read_chunks("no/such/key")


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "", "a/./b", "a/..", "a/"])
def test_invalid_keys_are_rejected(backend: Backend, tmp_path: Path, key: str) -> None:
    store = backend.store
    source = _write(tmp_path / "f", b"x")
    with pytest.raises(InvalidArgument):
        store.put_file(key, source)
    with pytest.raises(InvalidArgument):
        store.read_chunks(key)
    with pytest.raises(InvalidArgument):
        store.exists(key)
    with pytest.raises(InvalidArgument):
        store.delete(key)
    assert backend.keys() == []


def test_staging_dir_is_a_usable_local_folder(backend: Backend) -> None:
    staging = backend.store.staging_dir()
    staging.mkdir(parents=True, exist_ok=True)
    assert staging.is_absolute()
    assert staging.is_dir()


# --- content-addressed blobs above the port -----------------------------------------------------


def test_blob_round_trip_with_digest(backend: Backend) -> None:
    blobs = BlobStore(backend.store)
    data = os.urandom(2 * MiB + 5)

    digest, size = blobs.put_chunks([data[:MiB], data[MiB:]])

    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert blobs.exists(digest)
    assert b"".join(blobs.read_chunks(digest)) == data
    assert backend.keys() == [BlobStore.key_for(digest)]


def test_identical_content_is_stored_once(backend: Backend, tmp_path: Path) -> None:
    blobs = BlobStore(backend.store)
    first = blobs.put_chunks([b"same bytes"])
    second = blobs.put_file(_write(tmp_path / "same", b"same bytes"))

    assert first == second
    assert backend.keys() == [BlobStore.key_for(first[0])]
    assert (tmp_path / "same").read_bytes() == b"same bytes"  # BlobStore.put_file copies, never moves


def test_abort_leaves_nothing_behind(backend: Backend) -> None:
    blobs = BlobStore(backend.store)
    writer = blobs.open_writer()
    writer.write(b"partial upload")
    assert writer.path.exists()

    writer.abort()

    assert not writer.path.exists()
    assert backend.keys() == []


def test_failing_source_aborts_the_upload(backend: Backend) -> None:
    blobs = BlobStore(backend.store)

    def chunks() -> Iterator[bytes]:
        yield b"some bytes"
        raise OSError("source went away")

    with pytest.raises(OSError, match="source went away"):
        blobs.put_chunks(chunks())
    assert backend.keys() == []


def test_corrupt_blob_raises_integrity_error_after_the_last_chunk(backend: Backend, tmp_path: Path) -> None:
    blobs = BlobStore(backend.store)
    data = os.urandom(MiB)
    digest, _ = blobs.put_chunks([data])
    flipped = bytes([data[0] ^ 0xFF]) + data[1:]
    backend.store.put_file(BlobStore.key_for(digest), _write(tmp_path / "bad", flipped))

    received: list[bytes] = []
    with pytest.raises(IntegrityError, match=digest):
        received.extend(blobs.read_chunks(digest, 64 * 1024))
    assert b"".join(received) == flipped  # every byte was delivered; the verdict comes at the end


def test_missing_blob_raises_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound):
        list(BlobStore(backend.store).read_chunks("0" * 64))


@pytest.mark.slow
def test_large_blob_streams_in_bounded_memory(backend: Backend, tmp_path: Path) -> None:
    """~300 MB through BlobStore each way, with peak traced Python memory far below the size."""
    size_mib, limit = 300, 64 * MiB
    source, expected = tmp_path / "large.bin", hashlib.sha256()
    with open(source, "wb") as fh:  # generated chunk by chunk; never whole in memory
        for _ in range(size_mib):
            chunk = os.urandom(MiB)
            expected.update(chunk)
            fh.write(chunk)
    blobs = BlobStore(backend.store)

    tracemalloc.start()
    try:
        digest, size = blobs.put_file(source)
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        received, count = hashlib.sha256(), 0
        for chunk in blobs.read_chunks(digest):
            received.update(chunk)
            count += len(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (digest, size) == (expected.hexdigest(), size_mib * MiB)
    assert (received.hexdigest(), count) == (digest, size)
    assert put_peak < limit, f"put peaked at {put_peak / MiB:.1f} MiB"
    assert read_peak < limit, f"read peaked at {read_peak / MiB:.1f} MiB"


@settings(max_examples=25, deadline=None)
@given(chunks=st.lists(st.binary(max_size=4096), max_size=8))
def test_any_bytes_round_trip_with_their_digest(tmp_path_factory: pytest.TempPathFactory, chunks: list[bytes]) -> None:
    blobs = BlobStore(open_artifact_store(str(tmp_path_factory.mktemp("prop"))))
    data = b"".join(chunks)

    digest, size = blobs.put_chunks(chunks)

    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert b"".join(blobs.read_chunks(digest, 1000)) == data


# --- S3 adapter specifics -----------------------------------------------------------------------


def test_s3_unreachable_endpoint_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = open_artifact_store(f"s3://{BUCKET}/p", s3_endpoint_url=endpoint)

    with pytest.raises(Unavailable, match=endpoint):
        store.exists("k")


def test_s3_without_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # makes `import boto3` raise ImportError
    with pytest.raises(MissingDependency, match=r"shipyard\[s3\]"):
        open_artifact_store(f"s3://{BUCKET}/p")


@pytest.mark.parametrize("uri", ["s3://", "s3:///prefix"])
def test_s3_uri_needs_a_bucket(uri: str) -> None:
    pytest.importorskip("boto3")
    with pytest.raises(InvalidArgument):
        open_artifact_store(uri)


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 200])
def test_file_blocks_yield_the_file_exactly_and_put_file_stores_it(backend: Backend, tmp_path: Path, size: int) -> None:
    from shipyard.stores.artifacts import file_blocks

    payload = os.urandom(size)
    path = _write(tmp_path / "f.bin", payload)
    seen = [bytes(view) for view in file_blocks(path, block=64)]  # copied: views are reused
    assert b"".join(seen) == payload
    assert all(0 < len(s) <= 64 for s in seen)
    digest, stored = BlobStore(backend.store).put_file(path)
    assert (digest, stored) == (hashlib.sha256(payload).hexdigest(), size)
    assert b"".join(BlobStore(backend.store).read_chunks(digest)) == payload
