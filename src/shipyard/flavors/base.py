"""The flavor interface: one small port per ML framework (save a model's files, load them back
as something that predicts), and the registry that finds a flavor by name or by model type."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shipyard.domain.signature import Signature
from shipyard.errors import InvalidArgument, MissingDependency
from shipyard.uri import SchemeRegistry

__all__ = ["Flavor", "Predictor", "Saved", "flavor_for", "flavor_registry", "get_flavor", "pins", "require"]


@dataclass(frozen=True)
class Saved:
    """What a flavor wrote: its loading config and the distributions the files need; a flavor
    that imports a model from elsewhere may also bring its signature and input example."""

    config: Mapping[str, Any] = field(default_factory=dict)
    requirements: tuple[str, ...] = ()
    signature: Signature | None = None
    input_example: Any = None


class Predictor(Protocol):
    """A loaded model. ``inputs`` are already checked against the signature: named columns (a dict
    of NumPy arrays, in signature order) or one NumPy array."""

    def predict(self, inputs: Any) -> Any: ...


class Flavor(Protocol):
    name: str

    def accepts(self, model: Any) -> bool:
        """Whether this flavor can save ``model``."""
        ...

    def save(self, model: Any, dest: Path, *, input_example: Any = None) -> Saved:
        """Write the model's files under the empty folder ``dest``; ``input_example`` is the
        checked example (columns or an array) for flavors that trace the model."""
        ...

    def load(self, src: Path, config: Mapping[str, Any], *, trust: bool) -> Predictor:
        """Load what :meth:`save` wrote. Formats that can run code when read (pickle) need
        ``trust=True``."""
        ...


flavor_registry = SchemeRegistry(
    "flavor",
    "shipyard.flavors",
    {
        "python": "shipyard.flavors.python:PythonFlavor",
        "sklearn": "shipyard.flavors.sklearn:SklearnFlavor",
        "xgboost": "shipyard.flavors.xgboost:XGBoostFlavor",
        "lightgbm": "shipyard.flavors.lightgbm:LightGBMFlavor",
        "onnx": "shipyard.flavors.onnx:OnnxFlavor",
        "pytorch": "shipyard.flavors.pytorch:PyTorchFlavor",
        "mlflow": "shipyard.flavors.mlflow:MlflowFlavor",
    },
)
# Which flavor saves a model, by the top-level package of its type; checked before the generic ones.
_BY_PACKAGE = {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm", "onnx": "onnx", "torch": "pytorch"}


def get_flavor(name: str) -> Flavor:
    flavor: Flavor = flavor_registry.get(name)()
    return flavor


def flavor_for(model: Any) -> Flavor:
    """The flavor that saves ``model``: by its package (scikit-learn, XGBoost, LightGBM, ONNX), else
    any registered flavor that accepts it, else the plain Python flavor for callables."""
    package = type(model).__module__.split(".", 1)[0]
    if package in _BY_PACKAGE:
        return get_flavor(_BY_PACKAGE[package])
    if any(c.__module__.startswith("torch.nn") for c in type(model).__mro__):  # a user's nn.Module subclass
        return get_flavor("pytorch")
    for name in flavor_registry.schemes():
        if name in ("python", *_BY_PACKAGE.values()):
            continue
        flavor = get_flavor(name)
        if flavor.accepts(model):
            return flavor
    python = get_flavor("python")
    if python.accepts(model):
        return python
    raise InvalidArgument(
        f"no flavor saves a {type(model).__module__}.{type(model).__qualname__}; known flavors: "
        f"{', '.join(flavor_registry.schemes())} (pass flavor=... or wrap it in a function)",
        field="model",
    )


def require(module: str, extra: str) -> Any:
    """Import ``module`` or raise :class:`MissingDependency` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(module, extra) from None


def pins(*distributions: str) -> tuple[str, ...]:
    """``name==version`` for each installed distribution (skipped when not installed)."""
    found = []
    for name in distributions:
        try:
            found.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return tuple(found)
