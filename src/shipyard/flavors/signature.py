"""Reading real data against a :class:`~shipyard.domain.signature.Signature`: inferring one from an
example, and checking (and safely widening) what a model is called with.

Tables are handed to flavors as :class:`Columns`, an ordered mapping of column name to a NumPy
array in the signature's order and types; tensors as one NumPy array. pandas, polars and Arrow
inputs are accepted when those libraries are installed, but none of them is required.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from shipyard.domain.signature import ColumnSpec, Signature, TensorSpec, can_widen
from shipyard.errors import InvalidArgument

__all__ = ["Columns", "as_columns", "dtype_of", "enforce", "infer_signature", "infer_spec"]

Columns = dict[str, np.ndarray]


def dtype_of(values: np.ndarray) -> tuple[str, bool]:
    """The signature type of an array and whether it holds missing values (None / NaT)."""
    kind = values.dtype.kind
    if kind in "iu":
        return f"{'u' if kind == 'u' else ''}int{values.dtype.itemsize * 8}", False
    if kind == "f":
        return f"float{values.dtype.itemsize * 8}", False  # NaN is a float value, not a missing one
    if kind == "b":
        return "bool", False
    if kind == "U":
        return "string", False
    if kind == "S":
        return "binary", False
    if kind == "M":
        return "datetime", bool(np.isnat(values).any())
    if kind == "O":
        return _object_dtype(values)
    raise InvalidArgument(f"cannot take values of type {values.dtype}", field="data")


def _object_dtype(values: np.ndarray) -> tuple[str, bool]:
    present = [v for v in values.tolist() if v is not None and not (isinstance(v, float) and np.isnan(v))]
    missing = len(present) != len(values)
    kinds = {type(v) for v in present}
    if not kinds or kinds <= {str}:
        return "string", missing
    if kinds <= {bytes}:
        return "binary", missing
    if kinds <= {bool}:
        return "bool", missing
    if kinds <= {int}:
        return "int64", missing
    if kinds <= {int, float}:
        return "float64", missing
    names = ", ".join(sorted(k.__name__ for k in kinds))
    raise InvalidArgument(f"a column mixes values of types {names}", field="data")


def _from_arrow_like(data: Any) -> Columns | None:
    module = type(data).__module__.split(".", 1)[0]
    if module == "pandas" and type(data).__name__ == "DataFrame":
        return {str(c): _pandas_column(data[c]) for c in data.columns}
    if module in ("pyarrow", "polars"):
        table = data.to_arrow() if module == "polars" else data
        return {
            name: np.asarray(col.to_numpy(zero_copy_only=False))
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    return None


def _pandas_column(series: Any) -> np.ndarray:
    if series.dtype.kind in "iufbM":
        return np.asarray(series.to_numpy())
    if str(series.dtype) == "category":
        return np.asarray(series.astype(object).to_numpy(), dtype=object)
    return np.asarray(series.to_numpy(dtype=object, na_value=None), dtype=object)


def as_columns(data: Any) -> Columns:
    """Named columns from a DataFrame (pandas, polars), an Arrow table, a mapping of names to
    sequences, or a list of records."""
    found = _from_arrow_like(data)
    if found is not None:
        return found
    if isinstance(data, Mapping):
        return {str(k): _array(v) for k, v in data.items()}
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        names = list(dict.fromkeys(k for r in data for k in r))
        return {n: _array([r.get(n) for r in data]) for n in names}
    raise InvalidArgument(
        "pass a table: a DataFrame, an Arrow table, {column: values} or a list of {column: value} records",
        field="data",
    )


def _array(values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind == "O" or (arr.dtype.kind == "U" and any(v is None for v in np.ravel(values))):
        return np.asarray(values, dtype=object)
    return arr


def infer_spec(example: Any) -> tuple[ColumnSpec, ...] | TensorSpec:
    """Columns for table-like examples, a tensor (batch axis -1) for arrays."""
    if isinstance(example, np.ndarray) or (
        isinstance(example, list) and example and not isinstance(example[0], Mapping)
    ):
        arr = np.asarray(example)
        dtype, _ = dtype_of(arr.ravel() if arr.dtype.kind == "O" else arr)
        return TensorSpec(dtype, (-1, *arr.shape[1:]))
    module = type(example).__module__.split(".", 1)[0]
    if module == "pandas" and type(example).__name__ == "Series":
        example = example.to_frame()
    cols = as_columns(example)
    specs = []
    for name, values in cols.items():
        dtype, missing = dtype_of(values)
        specs.append(ColumnSpec(name, dtype, missing))
    return tuple(specs)


def infer_signature(input_example: Any, output_example: Any = None) -> Signature:
    outputs = None
    if output_example is not None:
        outputs = infer_spec(output_example)
    return Signature(infer_spec(input_example), outputs)


def enforce(signature: Signature, data: Any) -> Columns | np.ndarray:
    """``data`` checked against the signature's inputs: named columns in the signature's order and
    types, or one tensor. Widening casts are applied; anything else raises
    :class:`InvalidArgument` naming the column (or ``data`` for a tensor)."""
    if isinstance(signature.inputs, TensorSpec):
        return _enforce_tensor(signature.inputs, data)
    return _enforce_columns(signature.inputs, data)


def _enforce_tensor(spec: TensorSpec, data: Any) -> np.ndarray:
    arr = np.asarray(data)
    if arr.ndim == len(spec.shape) - 1:  # one example without its batch axis
        arr = arr[np.newaxis, ...]
    if arr.ndim != len(spec.shape):
        raise InvalidArgument(f"the model takes a {len(spec.shape)}-d tensor, got {arr.ndim}-d", field="data")
    for axis, (want, got) in enumerate(zip(spec.shape, arr.shape, strict=True)):
        if want != -1 and want != got:
            raise InvalidArgument(f"axis {axis} must have size {want}, got {got}", field="data")
    given, _ = dtype_of(arr.ravel() if arr.dtype.kind == "O" else arr)
    if not can_widen(given, spec.dtype):
        raise InvalidArgument(
            f"the model takes {spec.dtype}, got {given}; convert explicitly (a silent cast could change values)",
            field="data",
        )
    return arr.astype(_numpy_dtype(spec.dtype), copy=False)


def _enforce_columns(specs: Iterable[ColumnSpec], data: Any) -> Columns:
    specs = list(specs)
    if isinstance(data, np.ndarray) and data.ndim == 2:
        if data.shape[1] != len(specs):
            raise InvalidArgument(
                f"the model takes {len(specs)} columns ({', '.join(s.name for s in specs[:8])}), "
                f"got an array with {data.shape[1]}",
                field="data",
            )
        data = {s.name: data[:, i] for i, s in enumerate(specs)}
    cols = as_columns(data)
    out: Columns = {}
    rows: int | None = None
    for spec in specs:
        if spec.name not in cols:
            raise InvalidArgument(
                f"missing column {spec.name!r}; the model takes {', '.join(s.name for s in specs[:12])}",
                field=spec.name,
            )
        values = cols[spec.name]
        if values.ndim != 1:
            raise InvalidArgument(f"column {spec.name!r} must be one value per row", field=spec.name)
        try:
            given, missing = dtype_of(values)
        except InvalidArgument as exc:
            raise InvalidArgument(f"column {spec.name!r}: {exc.message}", field=spec.name) from None
        if missing and not spec.nullable:
            raise InvalidArgument(f"column {spec.name!r} has missing values and the model takes none", field=spec.name)
        if not can_widen(given, spec.dtype):
            raise InvalidArgument(
                f"column {spec.name!r} is {given}, the model takes {spec.dtype}; convert it explicitly "
                "(a silent cast could change its meaning)",
                field=spec.name,
            )
        if rows is not None and len(values) != rows:
            raise InvalidArgument(f"column {spec.name!r} has {len(values)} rows, others {rows}", field=spec.name)
        rows = len(values)
        out[spec.name] = values if given == spec.dtype else values.astype(_numpy_dtype(spec.dtype))
    return out


def _numpy_dtype(dtype: str) -> Any:
    if dtype in ("string", "binary"):
        return object
    if dtype == "datetime":
        return "datetime64[ns]"
    return dtype
