"""ONNX export of scikit-learn, XGBoost, LightGBM and PyTorch models, with a parity check.

The exported model is run with onnxruntime next to the original on the stored input example and
on generated rows (each numeric column drawn around the example's mean and spread, seeded), and
the outputs are compared: labels must agree exactly, numbers (predictions, probabilities) must be
within ``rtol`` relative and ``atol`` absolute error (NumPy's ``allclose`` rule). The largest
absolute and relative errors are recorded with the version. The relative error is taken where the
original output is at least 1e-2 in size: ONNX runs these models in float32, whose resolution near
1.0 is 6e-8, so a probability of 0.001 carries ~1e-4 relative noise that is not disagreement (the
absolute error and the allclose test still cover those outputs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from shipyard.domain.signature import Signature, TensorSpec
from shipyard.errors import InvalidArgument
from shipyard.flavors.base import require
from shipyard.flavors.bundle import LoadedModel

__all__ = ["Parity", "check_parity", "generated_inputs", "to_onnx"]

EXPORTABLE = ("sklearn", "xgboost", "lightgbm", "pytorch")
_NUMERIC = ("int", "uint", "float", "bool")


@dataclass(frozen=True)
class Parity:
    rows: int
    max_abs_err: float
    max_rel_err: float
    labels_agree: float | None
    rtol: float
    atol: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _n_features(signature: Signature | None) -> int:
    if signature is None:
        raise InvalidArgument("the model has no signature; log it with an input_example to export it", field="ref")
    if isinstance(signature.inputs, TensorSpec):
        if len(signature.inputs.shape) != 2 or signature.inputs.shape[1] < 1:
            raise InvalidArgument("ONNX export takes a table or a 2-d tensor of numbers", field="ref")
        return signature.inputs.shape[1]
    bad = [c.name for c in signature.inputs if not c.dtype.startswith(_NUMERIC)]
    if bad:
        raise InvalidArgument(f"ONNX export takes numeric columns; {bad[0]!r} is not", field=bad[0])
    return len(signature.inputs)


def to_onnx(model: LoadedModel) -> Any:
    """The ONNX graph of a loaded scikit-learn, XGBoost or LightGBM bundle (float32 input named
    ``input``; classifiers output labels then probabilities)."""
    if model.flavor not in EXPORTABLE:
        raise InvalidArgument(
            f"ONNX export supports {', '.join(EXPORTABLE)} models; this one is {model.flavor}", field="ref"
        )
    if model.flavor == "pytorch":
        return _torch_to_onnx(model)
    n = _n_features(model.signature)
    native: Any = getattr(model.predictor, "model", None) or getattr(model.predictor, "booster", None)
    if model.flavor == "sklearn":
        skl2onnx = require("skl2onnx", "onnx")
        from skl2onnx.common.data_types import FloatTensorType

        options = {"zipmap": False} if hasattr(native, "predict_proba") else None
        return skl2onnx.to_onnx(
            native,
            initial_types=[("input", FloatTensorType([None, n]))],
            options=options,
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
    onnxmltools = require("onnxmltools", "onnx")
    from onnxmltools.convert.common.data_types import FloatTensorType as MLFloat

    types = [("input", MLFloat([None, n]))]
    if model.flavor == "xgboost":
        if type(native).__name__ == "Booster":
            raise InvalidArgument(
                "ONNX export of a bare xgboost Booster is not supported; log the XGB* model", field="ref"
            )
        booster = native.get_booster()  # a fresh load we own: the converter wants features named f0, f1, ...
        booster.feature_names = None
        booster.feature_types = None
        return onnxmltools.convert_xgboost(native, initial_types=types, target_opset=15)
    return onnxmltools.convert_lightgbm(native, initial_types=types, target_opset=15, zipmap=False)


def _torch_to_onnx(model: LoadedModel) -> Any:
    """The stored ExportedProgram through torch's own ONNX exporter (dynamic batch axis kept)."""
    torch = require("torch", "torch")
    require("onnxscript", "onnx")
    program = torch.export.load(str(model.root / "model" / str(model.manifest.flavor_config.get("file", "model.pt2"))))
    onnx_program = torch.onnx.export(
        program, dynamo=True, input_names=["input"], output_names=["output"], verbose=False
    )
    return onnx_program.model_proto


def generated_inputs(model: LoadedModel, rows: int = 256, seed: int = 0) -> Any:
    """The input example followed by ``rows`` generated rows in the same columns and types."""
    example = model.input_example()
    if example is None:
        raise InvalidArgument("the model has no input example; log it with input_example= to export it", field="ref")
    rng = np.random.default_rng(seed)
    if isinstance(example, np.ndarray):
        base = example.astype(np.float64)
        mean, std = base.mean(axis=0), base.std(axis=0)
        fresh = rng.normal(mean, np.where(std > 0, std, np.abs(mean) * 0.1 + 1.0), size=(rows, base.shape[1]))
        return np.vstack([base, fresh]).astype(example.dtype)
    out = {}
    for name, values in example.items():
        arr = np.asarray(values)
        if arr.dtype.kind == "b":
            fresh = rng.random(rows) < max(min(arr.mean(), 0.9), 0.1)
        else:
            base = arr.astype(np.float64)
            mean, std = base.mean(), base.std()
            fresh = rng.normal(mean, std if std > 0 else abs(mean) * 0.1 + 1.0, size=rows)
            if arr.dtype.kind in "iu":
                fresh = np.round(fresh)
        out[name] = np.concatenate([arr, fresh.astype(arr.dtype)])
    return out


def _errors(got: np.ndarray, want: np.ndarray) -> tuple[float, float]:
    got, want = got.astype(np.float64).reshape(want.shape), want.astype(np.float64)
    diff = np.abs(got - want)
    big = np.abs(want) >= 1e-2
    rel = float(np.max(diff[big] / np.abs(want[big]))) if big.any() else 0.0
    return float(diff.max(initial=0.0)), rel


def check_parity(original: LoadedModel, exported: LoadedModel, *, rtol: float = 1e-5, atol: float = 1e-6) -> Parity:
    """Compare ``exported`` with ``original`` on the example and generated rows."""
    data = generated_inputs(original)
    want, got = np.asarray(original.predict(data)), np.asarray(exported.predict(data))
    rows = len(want)
    classifier = hasattr(original.predictor, "predict_proba") and want.dtype.kind not in "f"
    labels = None
    abs_err = rel_err = 0.0
    passed = True
    if classifier:
        labels = float(np.mean(got.reshape(want.shape).astype(want.dtype) == want))
        passed = labels == 1.0
        want_p, got_p = np.asarray(original.predict_proba(data)), np.asarray(exported.predict_proba(data))
        abs_err, rel_err = _errors(got_p, want_p)
        passed = passed and bool(np.allclose(got_p.reshape(want_p.shape), want_p, rtol=rtol, atol=atol))
    else:
        abs_err, rel_err = _errors(got, want)
        passed = bool(np.allclose(got.astype(np.float64).reshape(want.shape), want, rtol=rtol, atol=atol))
    return Parity(rows, abs_err, rel_err, labels, rtol, atol, passed)
