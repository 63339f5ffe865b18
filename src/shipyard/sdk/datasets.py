"""``log_dataset``: turn a DataFrame, array, Arrow table, file or folder into a dataset version,
store its bytes once, and link it to a run.

Files are read once: their bytes stream into the blob store while being hashed (the blob's digest
is the version's digest), and only cheap metadata is read besides (a Parquet footer, an Arrow file's
schema, a ``.npy`` header). CSV files up to ``PROFILE_MAX_FILE_BYTES`` are also parsed for a
profile; larger ones only with ``profile=True``, since that is a second pass over the data.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from shipyard.domain.datasets import DatasetInput, DatasetKind, DatasetVersion, check_dataset_name, check_role
from shipyard.errors import InvalidArgument, NotFound
from shipyard.sdk.backend import Backend
from shipyard.sdk.dataprep import canonical_type, profile_table, schema_of, table_digest, to_arrow

__all__ = ["PROFILE_MAX_FILE_BYTES", "log_dataset"]

PROFILE_MAX_FILE_BYTES = 256 << 20
_FOLDER_FORMAT = "shipyard-folder-v1"


def log_dataset(
    backend: Backend,
    run_id: str,
    data: Any,
    *,
    name: str,
    role: str = "train",
    profile: bool | None = None,
    source: str | None = None,
) -> DatasetInput:
    """Log ``data`` as dataset ``name`` (in ``role``) of run ``run_id``; see :meth:`Client.log_dataset`."""
    check_dataset_name(name)
    check_role(role)
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if path.is_symlink():
            raise InvalidArgument(f"{path} is a symlink; log the file or folder it points to", field="data")
        if path.is_dir():
            version = _folder_version(backend, path, source)
        elif path.is_file():
            version = _file_version(backend, path, profile, source)
        else:
            raise InvalidArgument(f"{path} is neither a file nor a folder", field="data")
    else:
        version = _object_version(backend, data, profile, source)
    return backend.log_input(run_id, name, role, version)


def _known(backend: Backend, digest: str) -> DatasetVersion | None:
    try:
        return backend.get_dataset_version(digest)
    except NotFound:
        return None


@contextmanager
def _scratch(suffix: str) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix="shipyard-dataset-", suffix=suffix)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _describe_object(data: Any) -> str:
    return f"{type(data).__module__}.{type(data).__qualname__}"


def _object_version(backend: Backend, data: Any, profile: bool | None, source: str | None) -> DatasetVersion:
    table = to_arrow(data)
    if table is None:
        return _array_version(backend, data, source)
    digest = table_digest(table)
    known = _known(backend, digest)
    if known is not None:  # same content: stored once, described once
        return known
    import pyarrow.parquet as pq

    with _scratch(".parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")
        blob, size = backend.upload_blob(tmp)
    return DatasetVersion(
        digest=digest,
        kind=DatasetKind.TABLE,
        format="parquet",
        rows=table.num_rows,
        size=size,
        schema=schema_of(table),
        profile=profile_table(table) if profile is not False else {},
        blob=blob,
        source=source or _describe_object(data),
    )


def _array_version(backend: Backend, data: np.ndarray, source: str | None) -> DatasetVersion:
    """An array of three or more dimensions, stored as ``.npy``; the digest covers dtype, shape and
    the values in C order."""
    import hashlib

    values = np.ascontiguousarray(data)
    h = hashlib.sha256(orjson.dumps({"format": "shipyard-array-v1", "dtype": values.dtype.str, "shape": values.shape}))
    h.update(values.data.cast("B"))
    digest = h.hexdigest()
    known = _known(backend, digest)
    if known is not None:
        return known
    with _scratch(".npy") as tmp:
        np.save(tmp, values, allow_pickle=False)
        blob, size = backend.upload_blob(tmp)
    finite = values[np.isfinite(values)] if np.issubdtype(values.dtype, np.number) else np.empty(0)
    stats: dict[str, Any] = {"shape": list(values.shape), "dtype": str(values.dtype)}
    if finite.size:
        stats |= {"min": float(finite.min()), "max": float(finite.max()), "mean": float(finite.mean())}
    return DatasetVersion(
        digest=digest,
        kind=DatasetKind.ARRAY,
        format="npy",
        rows=int(values.shape[0]),
        size=size,
        schema=({"name": "array", "type": f"{values.dtype}{list(values.shape[1:])}"},),
        profile={"array": stats},
        blob=blob,
        source=source or _describe_object(data),
    )


def _file_version(backend: Backend, path: Path, profile: bool | None, source: str | None) -> DatasetVersion:
    digest, size = backend.upload_blob(path)  # the one pass over the bytes: hashed while stored
    known = _known(backend, digest)
    if known is not None:
        return known
    fmt, rows, schema, prof = _file_facts(path, size, profile)
    return DatasetVersion(
        digest=digest,
        kind=DatasetKind.TABLE if schema else DatasetKind.FILE,
        format=fmt,
        rows=rows,
        size=size,
        schema=schema,
        profile=prof,
        blob=digest,
        source=source or str(path.resolve()),
    )


Facts = tuple[str, int | None, tuple[dict[str, str], ...], dict[str, Any]]


def _file_facts(path: Path, size: int, profile: bool | None) -> Facts:
    """Format, rows, schema and profile of a file, reading as little of it as its format allows."""
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() == ".gz" else path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return _parquet_facts(path, profile)
        if suffix in (".arrow", ".feather", ".ipc"):
            with pa.memory_map(str(path)) as source:
                reader = pa.ipc.open_file(source)
                rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
                return "arrow", rows, schema_of(reader.schema), {}
        if suffix == ".npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            return "npy", int(arr.shape[0]) if arr.ndim else 1, ({"name": "array", "type": f"{arr.dtype}"},), {}
        if suffix in (".csv", ".tsv", ".csv.gz", ".tsv.gz"):
            wanted = profile if profile is not None else size <= PROFILE_MAX_FILE_BYTES
            if not wanted:
                skipped = {"_table": {"profile": f"skipped: larger than {PROFILE_MAX_FILE_BYTES >> 20} MiB"}}
                return suffix.lstrip("."), None, (), skipped
            import pyarrow.csv as pacsv

            delimiter = "\t" if suffix.startswith(".tsv") else ","
            table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter))
            return suffix.lstrip("."), table.num_rows, schema_of(table), profile_table(table)
    except (pa.ArrowException, ValueError, OSError) as exc:
        return suffix.lstrip(".") or "bytes", None, (), {"_table": {"profile": f"unreadable as {suffix}: {exc}"}}
    return suffix.lstrip(".") or "bytes", None, (), {}


def _parquet_facts(path: Path, profile: bool | None) -> Facts:
    import pyarrow.parquet as pq

    if profile:
        table = pq.read_table(path)
        return "parquet", table.num_rows, schema_of(table), profile_table(table)
    meta = pq.read_metadata(path)
    schema = meta.schema.to_arrow_schema()
    stats: dict[str, dict[str, Any]] = {f.name: {"type": canonical_type(f.type), "missing": 0.0} for f in schema}
    nulls = dict.fromkeys(stats, 0)
    for rg in range(meta.num_row_groups):  # the footer's statistics: no data page is read
        group = meta.row_group(rg)
        for c in range(group.num_columns):
            col = group.column(c)
            name = col.path_in_schema
            st = col.statistics
            if name not in stats or st is None:
                continue
            if st.has_null_count:
                nulls[name] += st.null_count
            if st.has_min_max:
                lo, hi = _plain(st.min), _plain(st.max)
                entry = stats[name]
                entry["min"] = lo if "min" not in entry else min(entry["min"], lo)
                entry["max"] = hi if "max" not in entry else max(entry["max"], hi)
    for name, count in nulls.items():
        stats[name]["missing"] = count / meta.num_rows if meta.num_rows else 0.0
    return "parquet", meta.num_rows, schema_of(schema), stats


def _plain(v: Any) -> Any:
    if isinstance(v, int | float | str | bool):
        return v
    return str(v)


def _folder_version(backend: Backend, root: Path, source: str | None) -> DatasetVersion:
    """Every regular file under ``root`` stored as a blob; the version is the sha256 of the sorted
    listing ``[path, sha256, size]``, itself stored as a blob."""
    files: list[Path] = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            raise InvalidArgument(f"{path} is a symlink; a dataset folder holds regular files only", field="data")
        if path.is_file():
            files.append(path)
    listing: list[tuple[str, str, int]] = []
    extensions: dict[str, int] = {}
    for path in files:
        digest, size = backend.upload_blob(path)
        listing.append((path.relative_to(root).as_posix(), digest, size))
        ext = path.suffix.lower() or "(none)"
        extensions[ext] = extensions.get(ext, 0) + 1
    body = orjson.dumps({"format": _FOLDER_FORMAT, "files": listing})
    with _scratch(".json") as tmp:
        tmp.write_bytes(body)
        digest, _ = backend.upload_blob(tmp)
    known = _known(backend, digest)
    if known is not None:
        return known
    total = sum(size for _, _, size in listing)
    return DatasetVersion(
        digest=digest,
        kind=DatasetKind.FOLDER,
        format="folder",
        rows=None,
        size=total,
        schema=(),
        profile={"_table": {"files": len(listing), "bytes": total, "extensions": extensions}},
        blob=digest,
        source=source or str(root.resolve()),
    )
