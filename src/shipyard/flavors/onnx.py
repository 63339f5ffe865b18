"""ONNX models, run by onnxruntime on the CPU (or a GPU provider when one is installed)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument
from shipyard.flavors._inputs import matrix
from shipyard.flavors.base import Saved, pins, require

__all__ = ["OnnxFlavor"]

FILE = "model.onnx"
_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(string)": object,
    "tensor(bool)": np.bool_,
}


class _Predictor:
    def __init__(self, session: Any) -> None:
        self.session = session
        self.inputs = session.get_inputs()
        self.outputs = [o.name for o in session.get_outputs()]

    def _feeds(self, inputs: Any) -> dict[str, np.ndarray]:
        if len(self.inputs) == 1:
            only = self.inputs[0]
            return {only.name: matrix(inputs, _ORT_TYPES.get(only.type))}
        if not isinstance(inputs, dict):
            raise InvalidArgument(f"this ONNX model takes {len(self.inputs)} named inputs", field="data")
        feeds = {}
        for i in self.inputs:
            if i.name not in inputs:
                raise InvalidArgument(f"missing input {i.name!r}", field=i.name)
            feeds[i.name] = np.asarray(inputs[i.name], dtype=_ORT_TYPES.get(i.type)).reshape(-1, 1)
        return feeds

    def run(self, inputs: Any) -> list[Any]:
        result: list[Any] = self.session.run(None, self._feeds(inputs))
        return result

    def predict(self, inputs: Any) -> Any:
        out = np.asarray(self.run(inputs)[0])
        return out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out  # one value per row, as sklearn

    def __getattr__(self, name: str) -> Any:
        if name == "predict_proba" and len(self.outputs) > 1:
            return lambda inputs: _probabilities(self.run(inputs)[1])
        raise AttributeError(name)


def _probabilities(value: Any) -> np.ndarray:
    if isinstance(value, list) and value and isinstance(value[0], dict):  # a ZipMap output
        keys = sorted(value[0])
        return np.asarray([[row[k] for k in keys] for row in value])
    return np.asarray(value)


class OnnxFlavor:
    name = "onnx"

    def accepts(self, model: Any) -> bool:
        return type(model).__name__ == "ModelProto"

    def save(self, model: Any, dest: Path, *, input_example: Any = None) -> Saved:
        if isinstance(model, bytes | bytearray):
            data = bytes(model)
        elif hasattr(model, "SerializeToString"):
            data = model.SerializeToString()
        else:
            raise InvalidArgument("an ONNX model is an onnx.ModelProto or its bytes", field="model")
        (dest / FILE).write_bytes(data)
        return Saved({"file": FILE}, pins("onnxruntime", "numpy"))

    def load(self, src: Path, config: Mapping[str, Any], *, trust: bool) -> _Predictor:
        ort = require("onnxruntime", "onnx")
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: converters' shape hints warn on every batch
        session = ort.InferenceSession(str(src / str(config.get("file", FILE))), options, providers=providers)
        return _Predictor(session)
