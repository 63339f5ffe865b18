"""XGBoost, in its own JSON model format (scikit-learn API models and Boosters)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgument
from shipyard.flavors._inputs import frame_or_matrix, matrix
from shipyard.flavors.base import Saved, pins, require

__all__ = ["XGBoostFlavor"]

FILE = "model.json"
_CLASSES = ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor", "Booster")


class _Predictor:
    def __init__(self, model: Any, xgb: Any) -> None:
        self.model = model
        self.xgb = xgb
        self.booster = isinstance(model, xgb.Booster)
        self._names = getattr(model, "feature_names_in_", None)

    def _x(self, inputs: Any) -> Any:
        if self.booster:
            names = list(inputs) if isinstance(inputs, dict) else None
            return self.xgb.DMatrix(matrix(inputs), feature_names=names)
        return frame_or_matrix(inputs, self._names)

    def predict(self, inputs: Any) -> Any:
        return self.model.predict(self._x(inputs))

    def __getattr__(self, name: str) -> Any:
        if name == "predict_proba" and hasattr(self.model, "predict_proba"):
            return lambda inputs: self.model.predict_proba(self._x(inputs))
        raise AttributeError(name)


class XGBoostFlavor:
    name = "xgboost"

    def accepts(self, model: Any) -> bool:
        return type(model).__module__.startswith("xgboost.")

    def save(self, model: Any, dest: Path, *, input_example: Any = None) -> Saved:
        require("xgboost", "xgboost")
        cls = type(model).__name__
        if cls not in _CLASSES:
            raise InvalidArgument(f"cannot save an xgboost {cls}; supported: {', '.join(_CLASSES)}", field="model")
        model.save_model(str(dest / FILE))
        return Saved({"file": FILE, "class": cls}, pins("xgboost", "numpy", "scikit-learn"))

    def load(self, src: Path, config: Mapping[str, Any], *, trust: bool) -> _Predictor:
        xgb = require("xgboost", "xgboost")
        cls = str(config.get("class", "Booster"))
        if cls not in _CLASSES:
            raise InvalidArgument(f"unknown xgboost class {cls!r} in the bundle", field="flavor_config.class")
        model = getattr(xgb, cls)()
        model.load_model(str(src / str(config.get("file", FILE))))
        return _Predictor(model, xgb)
