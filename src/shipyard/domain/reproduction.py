"""Whether a re-run reproduces a run: metric by metric, within a relative tolerance."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shipyard.domain.datasets import DatasetInput

__all__ = ["DatasetVerdict", "MetricVerdict", "compare_datasets", "compare_metrics"]


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


@dataclass(frozen=True, slots=True)
class DatasetVerdict:
    """One dataset (``name (role)``) as the original run and the re-run used it: the same data
    reproduces, anything else (changed, missing) does not."""

    key: str
    original: str | None
    new: str | None

    @property
    def reproduced(self) -> bool:
        return self.original is not None and self.original == self.new


def compare_datasets(original: Sequence[DatasetInput], new: Sequence[DatasetInput]) -> list[DatasetVerdict]:
    """Every dataset either run logged, by name and role, with both digests."""
    a = {f"{i.name} ({i.role})": i.digest for i in original}
    b = {f"{i.name} ({i.role})": i.digest for i in new}
    return [DatasetVerdict(key, a.get(key), b.get(key)) for key in sorted(set(a) | set(b))]
