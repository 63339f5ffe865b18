"""Datasets: versions identified by their content digest, and the runs that used them.

A *dataset version* is what a digest names: its kind (a table, an array, a file or a folder), its
schema, row count, size and profile, and the blob that holds its bytes. The same content logged
twice, under any name, is one version stored once. A *dataset input* links a run to a version under
a name and a role (``train``, ``validation``, ...): that link is the lineage, read both ways.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shipyard.domain.artifacts import check_digest
from shipyard.errors import InvalidArgument

__all__ = [
    "ROLES",
    "DatasetInput",
    "DatasetKind",
    "DatasetSummary",
    "DatasetVersion",
    "check_dataset_name",
    "check_role",
    "check_version",
    "check_version_ref",
    "diff_inputs",
    "summarize",
    "version_numbers",
]

ROLES = ("train", "validation", "test", "reference", "other")
MAX_NAME_LENGTH = 250
MAX_COLUMNS = 10_000
MAX_SOURCE_LENGTH = 1_000
MIN_REF_LENGTH = 6
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-. /]*$")
_REF_RE = re.compile(r"^[0-9a-f]+$")


class DatasetKind(StrEnum):
    TABLE = "table"  # columns and rows: DataFrames, Arrow tables, 1-D/2-D arrays, tabular files
    ARRAY = "array"  # an n-dimensional array that is not a table
    FILE = "file"  # one file, digest = sha256 of its bytes
    FOLDER = "folder"  # a tree of files, digest = sha256 of its sorted listing
    # known by another system's description only (an MLflow client's dataset: a source URI and that
    # system's digest); the stored bytes are that description (JSON), digest = its sha256
    REFERENCE = "reference"


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One version of a dataset, named by ``digest`` (sha256, hex).

    ``blob`` is the digest of the stored bytes: Parquet for in-memory tables, the file itself for
    files (then ``blob == digest``), a JSON listing for folders. ``schema`` is a list of
    ``{"name", "type"}``; ``profile`` maps column names to their statistics (see
    :mod:`shipyard.sdk.datasets`); both may be empty when the content is opaque.
    """

    digest: str
    kind: DatasetKind
    format: str
    rows: int | None
    size: int
    schema: tuple[Mapping[str, str], ...]
    profile: Mapping[str, Any]
    blob: str
    source: str = ""
    created_at: int = 0
    created_by: str = ""

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.schema]


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """Run ``run_id`` used version ``digest`` as dataset ``name`` in ``role``."""

    run_id: str
    name: str
    role: str
    digest: str
    logged_at: int
    version: DatasetVersion | None = None


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    """A dataset name across runs: how many versions and runs, and the latest version."""

    name: str
    versions: int
    runs: int
    latest_digest: str
    last_logged_at: int


def check_dataset_name(name: object, field_name: str = "name") -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgument("a dataset name must be a non-empty string", field=field_name)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"a dataset name is at most {MAX_NAME_LENGTH} characters", field=field_name)
    if not _NAME_RE.match(name):
        raise InvalidArgument(
            f"dataset name {name!r} may hold letters, digits, '_', '-', '.', ' ' and '/', "
            "and starts with a letter or digit",
            field=field_name,
        )
    return name


def check_role(role: object, field_name: str = "role") -> str:
    if role not in ROLES:
        raise InvalidArgument(f"role must be one of {', '.join(ROLES)}, not {role!r}", field=field_name)
    return str(role)


def check_version_ref(ref: object, field_name: str = "digest") -> str:
    """A digest or a unique prefix of one (at least six hex characters)."""
    if not isinstance(ref, str) or not _REF_RE.match(ref) or not MIN_REF_LENGTH <= len(ref) <= 64:
        raise InvalidArgument(
            f"a dataset version is named by its sha256 or a prefix of it ({MIN_REF_LENGTH}-64 lowercase hex "
            f"characters), not {ref!r}",
            field=field_name,
        )
    return ref


def _non_negative(value: object, field_name: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 2**63:
        raise InvalidArgument("must be a non-negative integer", field=field_name)


def check_version(v: DatasetVersion) -> DatasetVersion:
    """The rules a version must meet before it is stored (field names as on the wire)."""
    check_digest(v.digest, "dataset.digest")
    check_digest(v.blob, "dataset.blob")
    if v.kind not in tuple(DatasetKind):
        raise InvalidArgument(f"kind must be one of {', '.join(DatasetKind)}", field="dataset.kind")
    if not isinstance(v.format, str) or not 0 < len(v.format) <= 32:
        raise InvalidArgument("format must be a short non-empty string such as 'parquet'", field="dataset.format")
    _non_negative(v.rows, "dataset.rows", optional=True)
    _non_negative(v.size, "dataset.size")
    if len(v.schema) > MAX_COLUMNS:
        raise InvalidArgument(f"a schema has at most {MAX_COLUMNS} columns", field="dataset.schema")
    seen: set[str] = set()
    for i, col in enumerate(v.schema):
        name, type_ = col.get("name"), col.get("type")
        if not isinstance(name, str) or not isinstance(type_, str) or not type_:
            raise InvalidArgument("each column is {name: string, type: string}", field=f"dataset.schema[{i}]")
        if name in seen:
            raise InvalidArgument(f"column {name!r} appears twice", field=f"dataset.schema[{i}]")
        seen.add(name)
    unknown = set(v.profile) - seen - {"_table"}
    if v.schema and unknown:
        raise InvalidArgument(
            f"profile names columns not in the schema: {sorted(unknown)[:5]}", field="dataset.profile"
        )
    if len(v.source) > MAX_SOURCE_LENGTH:
        raise InvalidArgument(f"source is at most {MAX_SOURCE_LENGTH} characters", field="dataset.source")
    return v


def _describe(inp: DatasetInput) -> dict[str, Any]:
    v = inp.version
    found: dict[str, Any] = {"digest": inp.digest}
    if v is not None:
        found |= {"rows": v.rows, "columns": len(v.schema), "size": v.size}
    return found


def diff_inputs(a: Sequence[DatasetInput], b: Sequence[DatasetInput]) -> list[tuple[str, Any, Any]]:
    """What differs between two runs' datasets, keyed ``name (role)``; for a changed version, also
    the columns added or removed and the row count."""
    by_a = {f"{i.name} ({i.role})": i for i in a}
    by_b = {f"{i.name} ({i.role})": i for i in b}
    changes: list[tuple[str, Any, Any]] = []
    for key in sorted(set(by_a) | set(by_b)):
        ia, ib = by_a.get(key), by_b.get(key)
        if ia is not None and ib is not None and ia.digest == ib.digest:
            continue
        changes.append((key, _describe(ia) if ia else None, _describe(ib) if ib else None))
        if ia is not None and ib is not None and ia.version is not None and ib.version is not None:
            cols_a, cols_b = set(ia.version.columns), set(ib.version.columns)
            if cols_a != cols_b:
                changes.append((f"{key} columns", sorted(cols_a - cols_b) or None, sorted(cols_b - cols_a) or None))
            types_a = {c["name"]: c["type"] for c in ia.version.schema}
            types_b = {c["name"]: c["type"] for c in ib.version.schema}
            for col in sorted(cols_a & cols_b):
                if types_a[col] != types_b[col]:
                    changes.append((f"{key} column {col} type", types_a[col], types_b[col]))
    return changes


def summarize(inputs: Sequence[DatasetInput]) -> list[DatasetSummary]:
    """One summary per name from inputs in any order."""
    by_name: dict[str, list[DatasetInput]] = {}
    for inp in inputs:
        by_name.setdefault(inp.name, []).append(inp)
    out = []
    for name, group in sorted(by_name.items()):
        latest = max(group, key=lambda i: (i.logged_at, i.digest))
        out.append(
            DatasetSummary(
                name=name,
                versions=len({i.digest for i in group}),
                runs=len({i.run_id for i in group}),
                latest_digest=latest.digest,
                last_logged_at=latest.logged_at,
            )
        )
    return out


def version_numbers(inputs: Sequence[DatasetInput]) -> dict[str, int]:
    """Version numbers for one name's digests, 1, 2, ... in the order they were first logged."""
    first: dict[str, int] = {}
    for inp in sorted(inputs, key=lambda i: (i.logged_at, i.digest)):
        first.setdefault(inp.digest, len(first) + 1)
    return first
