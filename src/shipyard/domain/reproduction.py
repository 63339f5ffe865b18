"""Whether a re-run reproduces a run: metric by metric, within a relative tolerance."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["MetricVerdict", "compare_metrics"]


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    """One metric's original and new value, their relative difference and the verdict."""

    key: str
    original: float | None
    new: float | None
    rel_diff: float | None
    reproduced: bool


def compare_metrics(
    original: Mapping[str, float], new: Mapping[str, float], rtol: float, atol: float = 0.0
) -> list[MetricVerdict]:
    """Every metric of either run; a metric missing on one side, or outside ``rtol``/``atol``,
    does not reproduce. NaN reproduces NaN; infinities must match exactly."""
    verdicts = []
    for key in sorted(set(original) | set(new)):
        a, b = original.get(key), new.get(key)
        if a is None or b is None:
            verdicts.append(MetricVerdict(key, a, b, None, False))
            continue
        if math.isnan(a) or math.isnan(b):
            ok = math.isnan(a) and math.isnan(b)
            verdicts.append(MetricVerdict(key, a, b, None, ok))
            continue
        rel = 0.0 if a == b else (math.inf if a == 0 else abs(b - a) / abs(a))
        if math.isinf(a) or math.isinf(b):
            rel = 0.0 if a == b else math.inf
        verdicts.append(MetricVerdict(key, a, b, rel, math.isclose(a, b, rel_tol=rtol, abs_tol=atol)))
    return verdicts
