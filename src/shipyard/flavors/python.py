"""Plain Python: a function, or an object with a ``predict`` method.

A module-level function is saved *by reference* with its module's source file copied into the
bundle (``code/``), so loading imports that code and runs no pickle. Anything else (an instance
with state, a closure) is pickled, and a pickle loads only with ``trust=True``: reading one can run
any code.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import shutil
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.flavors.base import Saved

__all__ = ["PythonFlavor"]

PICKLE = "model.pkl"
CODE = "code"
MAIN_MODULE = "shipyard_bundle_main"


def _table(inputs: Any) -> Any:
    """Named columns as a pandas DataFrame when pandas is installed (what people write functions
    for), else the mapping of NumPy arrays."""
    if isinstance(inputs, dict):
        try:
            import pandas as pd
        except ImportError:
            return inputs
        return pd.DataFrame(inputs)
    return inputs


class _Predictor:
    def __init__(self, target: Any) -> None:
        self.target = target

    def predict(self, inputs: Any) -> Any:
        fn = getattr(self.target, "predict", self.target)
        return fn(_table(inputs))

    def __getattr__(self, name: str) -> Any:
        if name == "predict_proba" and hasattr(self.target, "predict_proba"):
            return lambda inputs: self.target.predict_proba(_table(inputs))
        raise AttributeError(name)


def _by_reference(fn: Any) -> tuple[str, str, Path | None] | None:
    """``(module, qualname, source file to copy)`` for an importable module-level function."""
    if not inspect.isfunction(fn) or "<" in fn.__qualname__ or "." in fn.__qualname__:
        return None
    module = sys.modules.get(fn.__module__)
    try:
        source = inspect.getsourcefile(module) if module is not None else None
    except TypeError:  # defined where there is no file: python -c, a notebook cell, a REPL
        return None
    if source is None:
        return None
    path = Path(source).resolve()
    installed = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib", "stdlib")}
    if any(path.is_relative_to(p) for p in installed):
        return fn.__module__, fn.__qualname__, None  # an installed package: a requirement, not code
    name = MAIN_MODULE if fn.__module__ == "__main__" else fn.__module__
    return name, fn.__qualname__, path


class PythonFlavor:
    name = "python"

    def accepts(self, model: Any) -> bool:
        return callable(model) or callable(getattr(model, "predict", None))

    def save(self, model: Any, dest: Path, *, input_example: Any = None) -> Saved:
        ref = _by_reference(model)
        if ref is not None:
            module, qualname, source = ref
            config: dict[str, Any] = {"callable": f"{module}:{qualname}"}
            if source is not None:
                target = dest / CODE / (module.replace(".", "/") + ".py")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                config["code"] = CODE
            return Saved(config)
        if not self.accepts(model):
            raise InvalidArgument("a python model is a function or an object with a predict method", field="model")
        try:
            (dest / PICKLE).write_bytes(pickle.dumps(model, protocol=5))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise InvalidArgument(
                f"cannot save this model: {exc}; use a module-level function", field="model"
            ) from None
        return Saved({"pickle": PICKLE})

    def load(self, src: Path, config: Mapping[str, Any], *, trust: bool) -> _Predictor:
        if "pickle" in config:
            if not trust:
                raise PermissionDenied(
                    "this python model is a pickle, and reading a pickle can run any code; "
                    "load it with trust=True only if you trust where it came from"
                )
            return _Predictor(pickle.loads((src / str(config["pickle"])).read_bytes()))  # noqa: S301 - trusted
        module_name, _, qualname = str(config.get("callable", "")).partition(":")
        if not module_name or not qualname:
            raise InvalidArgument("the bundle names no callable", field="flavor_config.callable")
        if "code" in config:
            code = str((src / str(config["code"])).resolve())
            if code not in sys.path:
                sys.path.insert(0, code)
            sys.modules.pop(module_name, None)  # this bundle's copy, not one imported earlier
        module = importlib.import_module(module_name)
        return _Predictor(getattr(module, qualname))
