"""scikit-learn, saved with skops (a format that does not run code when read).

Loading trusts the types scikit-learn, NumPy and SciPy define; a model holding any other type
(a custom transformer, say) loads only with ``trust=True``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import PermissionDenied
from shipyard.flavors._inputs import frame_or_matrix
from shipyard.flavors.base import Saved, pins, require

__all__ = ["SklearnFlavor"]

FILE = "model.skops"
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


class _Predictor:
    def __init__(self, model: Any) -> None:
        self.model = model
        self._names = getattr(model, "feature_names_in_", None)

    def predict(self, inputs: Any) -> Any:
        return self.model.predict(frame_or_matrix(inputs, self._names))

    def __getattr__(self, name: str) -> Any:
        if name in ("predict_proba", "decision_function", "transform") and hasattr(self.model, name):
            method = getattr(self.model, name)
            return lambda inputs: method(frame_or_matrix(inputs, self._names))
        raise AttributeError(name)


class SklearnFlavor:
    name = "sklearn"

    def accepts(self, model: Any) -> bool:
        return type(model).__module__.startswith("sklearn.") or hasattr(model, "_get_tags")

    def save(self, model: Any, dest: Path, *, input_example: Any = None) -> Saved:
        sio = require("skops.io", "sklearn")
        sio.dump(model, dest / FILE)
        return Saved({"file": FILE}, pins("scikit-learn", "skops", "numpy", "scipy"))

    def load(self, src: Path, config: Mapping[str, Any], *, trust: bool) -> _Predictor:
        sio = require("skops.io", "sklearn")
        path = src / str(config.get("file", FILE))
        untrusted = sio.get_untrusted_types(file=path)
        foreign = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
        if foreign and not trust:
            raise PermissionDenied(
                f"this model holds types outside scikit-learn, NumPy and SciPy ({', '.join(foreign[:5])}); "
                "load it with trust=True only if you trust where it came from"
            )
        return _Predictor(sio.load(path, trusted=untrusted))
