"""Import of an MLflow model folder (``MLmodel`` + its files), so teams bring what they have.

The folder is copied into the bundle as is. Loading picks the safest way its ``MLmodel`` allows,
without MLflow installed: scikit-learn saved with skops, XGBoost and LightGBM native files and ONNX
load like Shipyard's own flavors; a pickled scikit-learn model needs ``trust=True``; anything else
goes through ``mlflow.pyfunc`` (MLflow installed, and ``trust=True``: it runs the model's code).
The MLflow signature and input example become the bundle's.
"""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.domain.signature import ColumnSpec, Signature, TensorSpec
from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.flavors.base import Saved, get_flavor, pins, require

__all__ = ["MlflowFlavor", "describe_mlmodel"]

DIR = "mlflow"
_TYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "string",
    "binary": "binary",
    "datetime": "datetime",
}


def _parse_mlmodel(text: str, where: str) -> dict[str, Any]:
    yaml = require("yaml", "mlflow")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"{where} is not valid YAML: {exc}", field="model") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("flavors"), dict):
        raise InvalidArgument(f"{where} lists no flavors", field="model")
    return doc


def _mlmodel(path: Path) -> dict[str, Any]:
    return _parse_mlmodel((path / "MLmodel").read_text(encoding="utf-8"), f"{path}/MLmodel")


def describe_mlmodel(text: str, *, folder: str = "..") -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The flavor config and signature (as a dict) of a bundle made of an MLflow model folder in
    place: how the hub adopts a model an MLflow client logged, from the text of its ``MLmodel``
    file alone. ``folder`` is where the MLflow files sit, relative to the bundle's model folder;
    ``".."`` is the bundle's root (the folder adopted as it is)."""
    doc = _parse_mlmodel(text, "MLmodel")
    config = {"dir": folder, **_loader(doc), "mlflow_version": str(doc.get("mlflow_version", ""))}
    sig = _signature(doc)
    return config, (sig.to_dict() if sig is not None else None)


def _spec(raw: Any) -> tuple[ColumnSpec, ...] | TensorSpec | None:
    items = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items:
        return None
    if items[0].get("type") == "tensor":
        spec = items[0].get("tensor-spec", {})
        dtype = {"float64": "float64", "float32": "float32", "int64": "int64", "int32": "int32"}.get(spec.get("dtype"))
        return TensorSpec(dtype, tuple(spec.get("shape", [-1]))) if dtype and len(items) == 1 else None
    cols = []
    for item in items:
        dtype = _TYPES.get(item.get("type"))
        if dtype is None or not item.get("name"):
            return None  # a type Shipyard does not check (arrays, objects): no signature rather than a wrong one
        cols.append(ColumnSpec(item["name"], dtype, not item.get("required", True)))
    return tuple(cols)


def _signature(doc: Mapping[str, Any]) -> Signature | None:
    sig = doc.get("signature") or {}
    inputs = _spec(sig.get("inputs"))
    return Signature(inputs, _spec(sig.get("outputs"))) if inputs is not None else None


def _example(path: Path, doc: Mapping[str, Any]) -> Any:
    info = doc.get("saved_input_example_info") or {}
    name = info.get("artifact_path")
    if not name or not (path / name).is_file():
        return None
    data = json.loads((path / name).read_text(encoding="utf-8"))
    if isinstance(data, dict) and "columns" in data and "data" in data:  # pandas "split" orient
        rows = data["data"]
        return {c: np.asarray([r[i] for r in rows]) for i, c in enumerate(data["columns"])}
    if isinstance(data, dict) and "inputs" in data:
        return np.asarray(data["inputs"])
    return None


def _loader(doc: Mapping[str, Any]) -> dict[str, Any]:
    flavors = doc["flavors"]
    if "sklearn" in flavors:
        sk = flavors["sklearn"]
        fmt = sk.get("serialization_format", "cloudpickle")
        return {"loader": "sklearn-skops" if fmt == "skops" else "sklearn-pickle", "file": sk["pickled_model"]}
    for name in ("xgboost", "lightgbm", "onnx"):
        if name in flavors:
            f = flavors[name]
            cls = str(f.get("model_class", "")).rsplit(".", 1)[-1]
            return {"loader": name, "file": f.get("data") or f.get("model_path"), "class": cls}
    if "python_function" in flavors:
        return {"loader": "pyfunc"}
    raise InvalidArgument(f"no loadable flavor in MLmodel: {', '.join(flavors)}", field="model")


class _Pyfunc:
    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, inputs: Any) -> Any:
        if isinstance(inputs, dict):
            import pandas as pd

            inputs = pd.DataFrame(inputs)
        return self.model.predict(inputs)


class MlflowFlavor:
    name = "mlflow"

    def accepts(self, model: Any) -> bool:
        return isinstance(model, str | Path) and (Path(model) / "MLmodel").is_file()

    def save(self, model: Any, dest: Path, *, input_example: Any = None) -> Saved:
        src = Path(model)
        if not self.accepts(src):
            raise InvalidArgument(f"{src} is not an MLflow model folder (no MLmodel file)", field="model")
        doc = _mlmodel(src)
        config = {"dir": DIR, **_loader(doc), "mlflow_version": str(doc.get("mlflow_version", ""))}
        shutil.copytree(src, dest / DIR, symlinks=False)
        requirements = src / "requirements.txt"
        pinned = tuple(
            line.strip()
            for line in (requirements.read_text().splitlines() if requirements.is_file() else [])
            if "==" in line and not line.startswith(("#", "-"))
        )
        return Saved(config, pinned + pins("pyyaml"), signature=_signature(doc), input_example=_example(src, doc))

    def load(self, src: Path, config: Mapping[str, Any], *, trust: bool) -> Any:
        folder = str(config.get("dir", DIR))
        root = src.parent if folder == ".." else src / folder
        loader = str(config.get("loader"))
        file = str(config.get("file", ""))
        if loader == "sklearn-skops":
            return get_flavor("sklearn").load(root, {"file": file}, trust=trust)
        if loader in ("xgboost", "lightgbm", "onnx"):
            cls = config.get("class") or "Booster"
            return get_flavor(loader).load(root, {"file": file, "class": cls}, trust=trust)
        if not trust:
            what = "a pickled scikit-learn model" if loader == "sklearn-pickle" else "an MLflow pyfunc model"
            raise PermissionDenied(
                f"this MLflow import is {what}, and loading it can run any code; "
                "load it with trust=True only if you trust where it came from"
            )
        if loader == "sklearn-pickle":
            from shipyard.flavors.sklearn import _Predictor

            return _Predictor(pickle.loads((root / file).read_bytes()))  # noqa: S301 - trusted by the caller
        mlflow = require("mlflow.pyfunc", "mlflow")
        return _Pyfunc(mlflow.load_model(str(root)))
