"""PyTorch modules, saved with ``torch.export`` (an ExportedProgram: the graph and its weights,
no Python class needed to load it, no pickle of user code). Exporting traces the module on the
input example, so ``input_example`` is required; the batch axis stays dynamic.

Runs on the CPU; a CUDA device is used when one is available and the module was exported for it
(not tested here: no GPU).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument
from shipyard.flavors._inputs import matrix
from shipyard.flavors.base import Saved, pins, require

__all__ = ["PyTorchFlavor"]

FILE = "model.pt2"


def _example_tensor(torch: Any, example: Any) -> Any:
    arr = np.asarray(matrix(example) if isinstance(example, dict) else example)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    if arr.ndim >= 1 and arr.shape[0] < 2:  # a batch of one would be specialised as a constant size
        arr = np.concatenate([arr, arr])
    return torch.from_numpy(np.ascontiguousarray(arr))


class _Predictor:
    def __init__(self, module: Any, torch: Any, dtype: str) -> None:
        self.module = module
        self.torch = torch
        self.dtype = getattr(torch, dtype)

    def predict(self, inputs: Any) -> Any:
        arr = np.ascontiguousarray(matrix(inputs) if isinstance(inputs, dict) else np.asarray(inputs))
        with self.torch.no_grad():
            out = self.module(self.torch.from_numpy(arr).to(self.dtype))
        return out.detach().cpu().numpy()


class PyTorchFlavor:
    name = "pytorch"

    def accepts(self, model: Any) -> bool:
        return type(model).__module__.split(".", 1)[0] == "torch" or any(
            c.__module__.startswith("torch.nn") for c in type(model).__mro__
        )

    def save(self, model: Any, dest: Path, *, input_example: Any = None) -> Saved:
        torch = require("torch", "torch")
        if input_example is None:
            raise InvalidArgument("a PyTorch model needs an input_example to be exported", field="input_example")
        example = _example_tensor(torch, input_example)
        model.eval()
        program = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim.AUTO},))
        torch.export.save(program, str(dest / FILE))
        dtype = str(example.dtype).removeprefix("torch.")
        return Saved({"file": FILE, "dtype": dtype}, pins("torch", "numpy"))

    def load(self, src: Path, config: Mapping[str, Any], *, trust: bool) -> _Predictor:
        torch = require("torch", "torch")
        program = torch.export.load(str(src / str(config.get("file", FILE))))
        return _Predictor(program.module(), torch, str(config.get("dtype", "float32")))
