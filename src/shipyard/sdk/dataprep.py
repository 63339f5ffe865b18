"""From what a user logs to a dataset version's facts: a canonical content digest, the schema, the
row count and a profile. Runs where the data is, so the hub never parses user data.

Tables (pandas, polars, Arrow, 1-D/2-D NumPy arrays, anything with ``__arrow_c_stream__``) are
digested over their *logical* content: column names, normalised types and values. Chunking,
dictionary encoding, ``string`` vs ``large_string`` and whatever bytes sit under a null slot do
not change the digest, and neither does the library version that wrote them; row order and column
order do. Files are digested over their bytes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.errors import InvalidArgument

__all__ = ["QUANTILES", "canonical_type", "profile_table", "schema_of", "table_digest", "to_arrow"]

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
TOP_K = 10
HISTOGRAM_BINS = 20
_TABLE_FORMAT = b"shipyard-table-v1"


def to_arrow(obj: Any) -> pa.Table | None:
    """``obj`` as an Arrow table, or ``None`` for an array of more than two dimensions. Raises
    :class:`InvalidArgument` for anything that is not data."""
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    module = type(obj).__module__.split(".", 1)[0]
    if module == "pandas":
        if type(obj).__name__ == "Series":
            obj = obj.to_frame()
        if type(obj).__name__ == "DataFrame":
            return pa.Table.from_pandas(obj)
    if isinstance(obj, np.ndarray):
        if obj.ndim == 1:
            return pa.table({"value": _np_column(obj)})
        if obj.ndim == 2:
            return pa.table({str(i): _np_column(obj[:, i]) for i in range(obj.shape[1])})
        return None
    if hasattr(obj, "to_arrow") and module == "polars":
        table = obj.to_arrow()
        return table if isinstance(table, pa.Table) else pa.table(table)
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.table(obj)
    raise InvalidArgument(
        f"cannot log a {type(obj).__module__}.{type(obj).__name__} as a dataset: pass a pandas or polars "
        "DataFrame, an Arrow table, a NumPy array, or the path of a file or folder",
        field="data",
    )


def _np_column(values: np.ndarray) -> pa.Array:
    if values.dtype == object:
        return pa.array(values.tolist())
    return pa.array(np.ascontiguousarray(values))


def canonical_type(t: pa.DataType) -> str:
    """The type as digested and shown: encodings of the same logical type get one name."""
    if pa.types.is_dictionary(t):
        return canonical_type(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return "binary"
    if pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return f"list<{canonical_type(t.value_type)}>"
    if pa.types.is_list(t):
        return f"list<{canonical_type(t.value_type)}>"
    return str(t)


def schema_of(table: pa.Table | pa.Schema) -> tuple[dict[str, str], ...]:
    schema = table.schema if isinstance(table, pa.Table) else table
    return tuple({"name": f.name, "type": canonical_type(f.type)} for f in schema)


def _decoded(col: pa.ChunkedArray) -> pa.Array:
    arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_string(arr.type) or pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.large_string())
    elif pa.types.is_binary(arr.type) or pa.types.is_binary_view(arr.type):
        arr = arr.cast(pa.large_binary())
    return arr


def _validity(arr: pa.Array) -> np.ndarray | None:
    if arr.null_count == 0:
        return None
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _column_parts(arr: pa.Array) -> Iterator[bytes | memoryview]:
    """The bytes that stand for one column's values, independent of its memory layout."""
    n = len(arr)
    valid = _validity(arr)
    yield b"nulls" if valid is None else np.packbits(valid).tobytes()
    t = arr.type
    if pa.types.is_boolean(t):
        bits = arr.fill_null(False).to_numpy(zero_copy_only=False) if valid is not None else arr.to_numpy(False)
        yield np.packbits(np.asarray(bits, dtype=bool)).tobytes()
    elif pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        _, offsets_buf, data_buf = arr.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1] if n else np.zeros(1)
        start, end = int(offsets[0]), int(offsets[-1])
        lengths = np.diff(offsets).astype(np.int64)
        if valid is not None:
            lengths = np.where(valid, lengths, 0)
            chunks = [memoryview(data_buf)[int(offsets[i]) : int(offsets[i + 1])] for i in np.flatnonzero(valid)]
            yield lengths.tobytes()
            yield b"".join(chunks)
        else:
            yield lengths.tobytes()
            yield memoryview(data_buf)[start:end] if data_buf is not None else b""
    elif (width := _byte_width(t)) and len(arr.buffers()) == 2:
        buf = arr.buffers()[1]
        data = memoryview(buf)[arr.offset * width : (arr.offset + n) * width] if buf is not None else b""
        if valid is None:
            yield data
        else:
            cells = np.frombuffer(data, dtype=np.uint8).reshape(n, width).copy()
            cells[~valid] = 0  # whatever sits under a null slot is not content
            yield cells.tobytes()
    else:  # nested and other types: their Arrow IPC encoding
        sink = pa.BufferOutputStream()
        batch = pa.RecordBatch.from_arrays([arr], ["c"])
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        yield memoryview(sink.getvalue())


def _byte_width(t: pa.DataType) -> int:
    """Bytes per value of a fixed-width type stored as one values buffer, else 0."""
    if pa.types.is_nested(t) or pa.types.is_boolean(t):
        return 0
    try:
        bits: int = t.bit_width
    except ValueError:  # variable width
        return 0
    return bits // 8 if bits % 8 == 0 else 0


def table_digest(table: pa.Table) -> str:
    """sha256 of the table's logical content (see the module docstring)."""
    h = hashlib.sha256()
    header = {"format": _TABLE_FORMAT.decode(), "rows": table.num_rows, "schema": schema_of(table)}
    _framed(h, orjson.dumps(header, option=orjson.OPT_SORT_KEYS))
    for col in table.columns:
        for part in _column_parts(_decoded(col)):
            _framed(h, part)
    return h.hexdigest()


def _framed(h: Any, part: bytes | memoryview) -> None:
    h.update(len(part).to_bytes(8, "little"))
    h.update(part)


def _json_number(v: Any) -> float | int | None:
    if v is None:
        return None
    f = float(v)
    if not math.isfinite(f):
        return None
    return int(v) if isinstance(v, int | np.integer) else f


def _scalar(v: pa.Scalar) -> Any:
    py = v.as_py()
    if isinstance(py, float) and not math.isfinite(py):
        return None
    if isinstance(py, int | float | str | bool) or py is None:
        return py
    return str(py)


def _numeric(arr: pa.Array, n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if pa.types.is_floating(arr.type):
        nan = pc.is_nan(arr).fill_null(False)
        nan_count = int(pc.sum(nan).as_py() or 0)
        if nan_count:
            out["nan"] = nan_count / n
            arr = arr.filter(pc.invert(nan))
    arr = arr.drop_null()
    if len(arr) == 0:
        return out
    values = np.sort(arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False))  # one sort serves all
    finite = values[np.isfinite(values)]
    mm = pc.min_max(arr)
    out |= {
        "min": _scalar(mm["min"]),
        "max": _scalar(mm["max"]),
        "mean": _json_number(finite.mean()) if finite.size else None,
        "std": _json_number(finite.std()) if finite.size else None,
        "distinct": int(np.count_nonzero(np.diff(values)) + 1),
    }
    if finite.size:
        qs = np.quantile(finite, QUANTILES)
        out["quantiles"] = {str(q): _json_number(v) for q, v in zip(QUANTILES, qs, strict=True)}
        counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
        out["histogram"] = {"edges": [_json_number(e) for e in edges], "counts": counts.tolist()}
    return out


def _categorical(arr: pa.Array) -> dict[str, Any]:
    arr = arr.drop_null()
    if len(arr) == 0:
        return {}
    counts = pc.value_counts(arr)
    freq_all = counts.field("counts").to_numpy(zero_copy_only=False)
    top = counts.take(pa.array(np.argsort(-freq_all, kind="stable")[:TOP_K]))
    values, freq = top.field("values"), top.field("counts")
    return {
        "distinct": len(counts),
        "top": [{"value": _scalar(values[i]), "count": int(freq[i].as_py())} for i in range(len(top))],
    }


def profile_table(table: pa.Table) -> dict[str, Any]:
    """Per column: type, missing share, and by kind min/max/mean/std/quantiles/histogram
    (numbers), distinct count and top values (strings, booleans, categories), or min/max (times)."""
    n = table.num_rows
    profile: dict[str, Any] = {}
    for field, col in zip(table.schema, table.columns, strict=True):
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        entry: dict[str, Any] = {"type": canonical_type(field.type), "missing": (arr.null_count / n) if n else 0.0}
        t = arr.type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            entry |= _numeric(arr, n)
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t):
            entry |= _categorical(arr)
        elif pa.types.is_temporal(t) and len(arr.drop_null()):
            mm = pc.min_max(arr)
            entry |= {"min": _scalar(mm["min"]), "max": _scalar(mm["max"])}
        profile[field.name] = entry
    return profile
