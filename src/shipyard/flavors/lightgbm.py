"""LightGBM, in its own text model format. scikit-learn API classifiers keep their classes, so
``predict`` returns labels exactly as the original did."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.flavors._inputs import matrix
from shipyard.flavors.base import Saved, pins, require

__all__ = ["LightGBMFlavor"]

FILE = "model.txt"


class _Predictor:
    def __init__(self, booster: Any, classes: list[Any] | None, kind: str) -> None:
        self.booster = booster
        self.classes = np.asarray(classes) if classes is not None else None
        self.kind = kind

    def _raw(self, inputs: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(matrix(inputs)))

    def predict(self, inputs: Any) -> Any:
        raw = self._raw(inputs)
        if self.classes is None:
            return raw
        if raw.ndim == 1:  # binary: the positive class's probability
            return self.classes[(raw > 0.5).astype(int)]
        return self.classes[np.argmax(raw, axis=1)]

    def __getattr__(self, name: str) -> Any:
        if name == "predict_proba" and self.classes is not None:

            def proba(inputs: Any) -> np.ndarray:
                raw = self._raw(inputs)
                return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

            return proba
        raise AttributeError(name)


class LightGBMFlavor:
    name = "lightgbm"

    def accepts(self, model: Any) -> bool:
        return type(model).__module__.startswith("lightgbm.")

    def save(self, model: Any, dest: Path, *, input_example: Any = None) -> Saved:
        lgb = require("lightgbm", "lightgbm")
        booster = model if isinstance(model, lgb.Booster) else model.booster_
        booster.save_model(str(dest / FILE))
        classes = getattr(model, "classes_", None)
        config: dict[str, Any] = {"file": FILE, "class": type(model).__name__}
        if classes is not None:
            config["classes"] = np.asarray(classes).tolist()
        return Saved(config, pins("lightgbm", "numpy", "scikit-learn"))

    def load(self, src: Path, config: Mapping[str, Any], *, trust: bool) -> _Predictor:
        lgb = require("lightgbm", "lightgbm")
        booster = lgb.Booster(model_file=str(src / str(config.get("file", FILE))))
        return _Predictor(booster, config.get("classes"), str(config.get("class", "Booster")))
