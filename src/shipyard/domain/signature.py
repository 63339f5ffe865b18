"""Model signatures: what a model takes and returns, as named columns or as a tensor.

The rules of which values may be passed where live here; reading real data (NumPy, pandas, Arrow)
against them lives in :mod:`shipyard.flavors.signature`. A value is accepted as-is or after a
*widening* cast that cannot change its meaning (``int32`` to ``int64``, ``int`` to ``float64``,
``float32`` to ``float64``); anything else is refused with an error naming the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.errors import InvalidArgument

__all__ = ["DTYPES", "ColumnSpec", "Signature", "TensorSpec", "can_widen"]

INTS = ("int8", "int16", "int32", "int64")
UINTS = ("uint8", "uint16", "uint32", "uint64")
FLOATS = ("float16", "float32", "float64")
DTYPES = frozenset((*INTS, *UINTS, *FLOATS, "bool", "string", "binary", "datetime"))


def _rank(dtype: str, family: Sequence[str]) -> int:
    return family.index(dtype) if dtype in family else -1


def can_widen(given: str, wanted: str) -> bool:
    """Whether a ``given`` value can be read as ``wanted`` without changing what it means."""
    if given == wanted:
        return True
    if given in INTS and wanted in INTS:
        return _rank(given, INTS) <= _rank(wanted, INTS)
    if given in UINTS and wanted in UINTS:
        return _rank(given, UINTS) <= _rank(wanted, UINTS)
    if given in UINTS and wanted in INTS:
        return _rank(given, UINTS) < _rank(wanted, INTS)
    if given in FLOATS and wanted in FLOATS:
        return _rank(given, FLOATS) <= _rank(wanted, FLOATS)
    if given in (*INTS, *UINTS) and wanted == "float64":
        return given not in ("int64", "uint64")  # 2**53 + 1 has no float64
    return given in ("int8", "int16", "uint8", "uint16") and wanted == "float32"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    name: str
    dtype: str
    nullable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.dtype, "nullable": self.nullable}


@dataclass(frozen=True, slots=True)
class TensorSpec:
    dtype: str
    shape: tuple[int, ...]  # -1: any size on that axis (the batch axis is always -1)
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.dtype, "shape": list(self.shape)}


Spec = tuple[ColumnSpec, ...] | TensorSpec


def _spec_to_dict(spec: Spec | None) -> Any:
    if spec is None:
        return None
    if isinstance(spec, TensorSpec):
        return {"tensor": spec.to_dict()}
    return {"columns": [c.to_dict() for c in spec]}


def _spec_from_dict(d: Any, field: str) -> Spec | None:
    if d is None:
        return None
    if not isinstance(d, Mapping):
        raise InvalidArgument("a signature part is {columns: [...]} or {tensor: {...}}", field=field)
    if "tensor" in d:
        t = d["tensor"]
        dtype = _dtype(t.get("type"), f"{field}.tensor.type")
        shape = t.get("shape")
        if not isinstance(shape, list) or not all(isinstance(s, int) and s >= -1 for s in shape):
            raise InvalidArgument("a tensor shape is a list of sizes (-1: any)", field=f"{field}.tensor.shape")
        return TensorSpec(dtype, tuple(shape), str(t.get("name") or ""))
    cols = d.get("columns")
    if not isinstance(cols, list) or not cols:
        raise InvalidArgument("columns must be a non-empty list", field=f"{field}.columns")
    out, seen = [], set()
    for i, c in enumerate(cols):
        if not isinstance(c, Mapping) or not isinstance(c.get("name"), str) or c["name"] in seen:
            raise InvalidArgument("each column is {name, type} with a unique name", field=f"{field}.columns[{i}]")
        seen.add(c["name"])
        out.append(ColumnSpec(c["name"], _dtype(c.get("type"), f"{field}.columns[{i}].type"), bool(c.get("nullable"))))
    return tuple(out)


def _dtype(value: object, field: str) -> str:
    if value not in DTYPES:
        raise InvalidArgument(f"type must be one of {', '.join(sorted(DTYPES))}, not {value!r}", field=field)
    return str(value)


@dataclass(frozen=True, slots=True)
class Signature:
    """Inputs (columns or one tensor) and, when known, outputs."""

    inputs: Spec
    outputs: Spec | None = None

    @property
    def is_table(self) -> bool:
        return not isinstance(self.inputs, TensorSpec)

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": _spec_to_dict(self.inputs), "outputs": _spec_to_dict(self.outputs)}

    @staticmethod
    def from_dict(d: Mapping[str, Any], field: str = "signature") -> Signature:
        inputs = _spec_from_dict(d.get("inputs"), f"{field}.inputs")
        if inputs is None:
            raise InvalidArgument("a signature needs inputs", field=f"{field}.inputs")
        return Signature(inputs, _spec_from_dict(d.get("outputs"), f"{field}.outputs"))

    def describe(self) -> list[tuple[str, str]]:
        """``(name, type)`` rows for people: columns, or the tensor with its shape."""
        if isinstance(self.inputs, TensorSpec):
            shape = ", ".join("N" if s == -1 else str(s) for s in self.inputs.shape)
            return [(self.inputs.name or "input", f"{self.inputs.dtype}[{shape}]")]
        return [(c.name, c.dtype + (" (nullable)" if c.nullable else "")) for c in self.inputs]
