"""The Open Inference Protocol (KServe V2) REST wire format, and plain JSON records/columns.

Decoding goes straight from JSON (or the binary tensor extension Triton clients use) to NumPy,
with no per-element Python work beyond what the JSON parser does, and no pydantic on tensors.
Errors are :class:`~shipyard.errors.InvalidArgument` naming the input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from shipyard.domain.signature import ColumnSpec, Signature, TensorSpec
from shipyard.errors import InvalidArgument

__all__ = [
    "BINARY_HEADER",
    "DATATYPES",
    "Decoded",
    "decode_infer",
    "decode_predict",
    "encode_infer",
    "encode_predict",
    "json_numbers",
    "signature_io",
]

BINARY_HEADER = "inference-header-content-length"

# OIP datatype <-> NumPy
DATATYPES: dict[str, Any] = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": object,
}
_TO_OIP = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}


def oip_datatype(values: np.ndarray | str) -> str:
    name = values if isinstance(values, str) else values.dtype.name
    if not isinstance(values, str) and values.dtype.kind in "OUS":
        return "BYTES"
    return _TO_OIP.get(name, "BYTES")


@dataclass(frozen=True)
class Decoded:
    """A decoded request: the model input (columns or a tensor), its row count, the request id and
    which outputs were asked for as binary data."""

    inputs: Any
    rows: int
    request_id: str | None
    binary_outputs: frozenset[str]
    binary_default: bool


def _tensor(item: Mapping[str, Any], raw: memoryview | None, offset: int) -> tuple[np.ndarray, int]:
    name = item.get("name")
    datatype = item.get("datatype")
    shape = item.get("shape")
    if not isinstance(name, str) or datatype not in DATATYPES:
        raise InvalidArgument(f"input {name!r}: datatype must be one of {', '.join(DATATYPES)}", field=str(name))
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise InvalidArgument(f"input {name!r}: shape must be a list of sizes", field=name)
    size = int(np.prod(shape)) if shape else 1
    params = item.get("parameters") or {}
    nbytes = params.get("binary_data_size") if isinstance(params, Mapping) else None
    if nbytes is not None:
        if raw is None or datatype == "BYTES":
            raise InvalidArgument(f"input {name!r}: binary data is missing or not supported for BYTES", field=name)
        chunk = raw[offset : offset + int(nbytes)]
        if len(chunk) != int(nbytes):
            raise InvalidArgument(f"input {name!r}: the body holds fewer bytes than binary_data_size", field=name)
        arr = np.frombuffer(chunk, dtype=DATATYPES[datatype])
        offset += int(nbytes)
    else:
        data = item.get("data")
        if not isinstance(data, list):
            raise InvalidArgument(f"input {name!r}: data must be a list", field=name)
        try:
            arr = np.asarray(data, dtype=DATATYPES[datatype])
        except (ValueError, TypeError, OverflowError):
            raise InvalidArgument(f"input {name!r}: data is not {datatype}", field=name) from None
    if arr.size != size:
        raise InvalidArgument(f"input {name!r}: {arr.size} values do not fill shape {shape}", field=name)
    return arr.reshape(shape), offset


def decode_infer(body: bytes, signature: Signature | None, header_length: int | None = None) -> Decoded:
    """An OIP ``infer`` request body (JSON, or JSON followed by binary tensors)."""
    raw = memoryview(body)
    head = raw[:header_length] if header_length is not None else raw
    try:
        doc = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}", field="body") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise InvalidArgument("an inference request is {inputs: [{name, shape, datatype, data}]}", field="inputs")
    rest = raw[header_length:] if header_length is not None else None
    offset = 0
    tensors: dict[str, np.ndarray] = {}
    for item in doc["inputs"]:
        if not isinstance(item, dict):
            raise InvalidArgument("each input is an object", field="inputs")
        arr, offset = _tensor(item, rest, offset)
        tensors[item["name"]] = arr
    binary: set[str] = set()
    for out in doc.get("outputs") or []:
        if isinstance(out, dict) and (out.get("parameters") or {}).get("binary_data"):
            binary.add(str(out.get("name")))
    params = doc.get("parameters") or {}
    binary_default = bool(isinstance(params, dict) and params.get("binary_data_output"))
    inputs, rows = _as_model_input(tensors, signature)
    request_id = doc.get("id") if isinstance(doc.get("id"), str) else None
    return Decoded(inputs, rows, request_id, frozenset(binary), binary_default)


def _as_model_input(tensors: dict[str, np.ndarray], signature: Signature | None) -> tuple[Any, int]:
    if signature is None or isinstance(signature.inputs, TensorSpec):
        if len(tensors) != 1:
            raise InvalidArgument("this model takes one input tensor", field="inputs")
        (arr,) = tensors.values()
        return arr, int(arr.shape[0]) if arr.ndim else 1
    columns: Sequence[ColumnSpec] = signature.inputs
    if len(tensors) == 1 and len(columns) > 1:  # one [rows, columns] tensor in signature order
        (arr,) = tensors.values()
        if arr.ndim != 2 or arr.shape[1] != len(columns):
            raise InvalidArgument(
                f"send one tensor of shape [rows, {len(columns)}] or one input per column "
                f"({', '.join(c.name for c in columns[:8])})",
                field="inputs",
            )
        return {c.name: arr[:, i] for i, c in enumerate(columns)}, int(arr.shape[0])
    cols = {name: (arr.reshape(-1) if arr.ndim == 2 and arr.shape[1] == 1 else arr) for name, arr in tensors.items()}
    rows = len(next(iter(cols.values())))
    return cols, rows


def decode_predict(body: bytes) -> tuple[Any, int]:
    """Plain JSON: ``{"records": [{...}, ...]}``, ``{"columns": {name: [...]}}``, a list of records,
    or ``{"instances": [[...], ...]}`` (a tensor)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"the request body is not valid JSON: {exc}", field="body") from None
    if isinstance(doc, list):
        doc = {"records": doc}
    if not isinstance(doc, dict):
        raise InvalidArgument('send {"records": [...]}, {"columns": {...}} or {"instances": [...]}', field="body")
    if "records" in doc:
        records = doc["records"]
        if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
            raise InvalidArgument("records must be a non-empty list of objects", field="records")
        names = list(records[0])
        return {n: _column([r.get(n) for r in records], n) for n in names}, len(records)
    if "columns" in doc:
        cols = doc["columns"]
        if not isinstance(cols, dict) or not cols:
            raise InvalidArgument("columns must map names to lists of values", field="columns")
        out = {}
        for name, values in cols.items():
            if not isinstance(values, list):
                raise InvalidArgument(f"column {name!r} must be a list", field=name)
            out[name] = _column(values, name)
        return out, len(next(iter(out.values())))
    if "instances" in doc:
        try:
            arr = np.asarray(doc["instances"])
        except (ValueError, TypeError):
            raise InvalidArgument("instances must be a rectangular array", field="instances") from None
        if arr.ndim == 0:
            raise InvalidArgument("instances must be a list", field="instances")
        return arr, int(arr.shape[0])
    raise InvalidArgument('send {"records": [...]}, {"columns": {...}} or {"instances": [...]}', field="body")


def json_numbers(inputs: Any, signature: Signature | None) -> Any:
    """JSON numbers have no width: read them at the width the signature asks for (a float column of
    float32 takes JSON floats, an int32 column JSON integers that fit). Kinds still must match: a
    JSON float for an integer column stays float64 and is refused by the signature check."""
    if signature is None:
        return inputs
    if isinstance(signature.inputs, TensorSpec):
        return _narrow(inputs, signature.inputs.dtype) if isinstance(inputs, np.ndarray) else inputs
    if not isinstance(inputs, dict):
        return inputs
    wanted = {c.name: c.dtype for c in signature.inputs}
    return {k: _narrow(v, wanted[k]) if k in wanted else v for k, v in inputs.items()}


def _narrow(arr: np.ndarray, dtype: str) -> np.ndarray:
    if arr.dtype.kind == "f" and dtype in ("float32", "float16"):
        return arr.astype(dtype)
    if arr.dtype.kind == "i" and dtype in ("int8", "int16", "int32") and arr.size:
        info = np.iinfo(dtype)
        if arr.min() >= info.min and arr.max() <= info.max:
            return arr.astype(dtype)
    return arr


def _column(values: list[Any], name: str) -> np.ndarray:
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError):
        raise InvalidArgument(f"column {name!r} holds values of mixed shapes", field=name) from None
    if arr.dtype.kind == "U" and any(v is None for v in values):
        arr = np.asarray(values, dtype=object)
    return arr


def _outputs(result: Any) -> dict[str, np.ndarray]:
    if isinstance(result, dict):
        return {str(k): np.asarray(v) for k, v in result.items()}
    module = type(result).__module__.split(".", 1)[0]
    if module == "pandas" and type(result).__name__ == "DataFrame":
        return {str(c): result[c].to_numpy() for c in result.columns}
    return {"predict": np.asarray(result)}


def encode_infer(model_name: str, version: str, result: Any, decoded: Decoded) -> tuple[bytes, int | None]:
    """The OIP response body; binary outputs (when asked for) follow the JSON header, whose length
    is returned (else ``None``)."""
    outputs = []
    blobs = []
    for name, arr in _outputs(result).items():
        datatype = oip_datatype(arr)
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(arr.shape)}
        if (decoded.binary_default or name in decoded.binary_outputs) and datatype != "BYTES":
            data = np.ascontiguousarray(arr).tobytes()
            entry["parameters"] = {"binary_data_size": len(data)}
            blobs.append(data)
        else:
            entry["data"] = _jsonable(arr.reshape(-1))
        outputs.append(entry)
    body: dict[str, Any] = {"model_name": model_name, "model_version": version, "outputs": outputs}
    if decoded.request_id is not None:
        body["id"] = decoded.request_id
    head = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return head, None
    return head + b"".join(blobs), len(head)


def _jsonable(arr: np.ndarray) -> Any:
    """NumPy numbers go to orjson as they are; strings and objects become a list."""
    if arr.dtype.kind in "OSU":
        return [
            v.decode() if isinstance(v, bytes) else v if isinstance(v, str | int | float) else str(v)
            for v in arr.tolist()
        ]
    return arr


def encode_predict(result: Any) -> bytes:
    outs = {k: _jsonable(v) for k, v in _outputs(result).items()}
    body = outs["predict"] if list(outs) == ["predict"] else outs
    return orjson.dumps({"predictions": body}, option=orjson.OPT_SERIALIZE_NUMPY)


def signature_io(signature: Signature | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """OIP metadata ``inputs`` and ``outputs`` for a signature."""

    def spec(part: Any, default: str) -> list[dict[str, Any]]:
        if part is None:
            return []
        if isinstance(part, TensorSpec):
            return [{"name": part.name or default, "datatype": _TO_OIP[part.dtype], "shape": list(part.shape)}]
        return [{"name": c.name, "datatype": _TO_OIP[c.dtype], "shape": [-1]} for c in part]

    if signature is None:
        return [], []
    return spec(signature.inputs, "input"), spec(signature.outputs, "predict")
