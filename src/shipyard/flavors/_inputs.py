"""Turning checked inputs into what a framework's ``predict`` takes."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["frame_or_matrix", "matrix"]


def matrix(inputs: Any, dtype: Any = None) -> np.ndarray:
    """Named columns stacked into a 2-D array (in signature order), or the tensor as is."""
    if isinstance(inputs, dict):
        arr = np.column_stack([np.asarray(v) for v in inputs.values()]) if inputs else np.empty((0, 0))
    else:
        arr = np.asarray(inputs)
    return arr.astype(dtype, copy=False) if dtype is not None else arr


def frame_or_matrix(inputs: Any, feature_names: Any) -> Any:
    """A pandas DataFrame when the model was fitted on named features (so it sees the names it
    knows), else a 2-D array."""
    if isinstance(inputs, dict) and feature_names is not None:
        import pandas as pd

        return pd.DataFrame({str(n): inputs[str(n)] for n in feature_names})
    return matrix(inputs)
