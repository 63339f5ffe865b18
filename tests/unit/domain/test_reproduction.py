from __future__ import annotations

import math

from shipyard.domain.reproduction import compare_metrics


def test_verdicts_per_metric() -> None:
    original = {"auc": 0.9, "loss": 0.1, "nan": math.nan, "inf": math.inf, "gone": 1.0}
    new = {"auc": 0.9 * (1 + 1e-12), "loss": 0.11, "nan": math.nan, "inf": math.inf, "extra": 2.0}
    by_key = {v.key: v for v in compare_metrics(original, new, rtol=1e-9)}
    assert by_key["auc"].reproduced
    assert not by_key["loss"].reproduced and abs((by_key["loss"].rel_diff or 0) - 0.1) < 1e-9
    assert by_key["nan"].reproduced and by_key["inf"].reproduced
    assert not by_key["gone"].reproduced and by_key["gone"].new is None
    assert not by_key["extra"].reproduced and by_key["extra"].original is None


def test_absolute_tolerance_covers_values_near_zero() -> None:
    [v] = compare_metrics({"bias": 0.0}, {"bias": 1e-12}, rtol=1e-9)
    assert not v.reproduced
    [v] = compare_metrics({"bias": 0.0}, {"bias": 1e-12}, rtol=1e-9, atol=1e-9)
    assert v.reproduced


def test_datasets_reproduce_only_with_the_same_content() -> None:
    from shipyard.domain.datasets import DatasetInput
    from shipyard.domain.reproduction import compare_datasets

    d1, d2 = "1" * 64, "2" * 64
    original = [DatasetInput("a", "iris", "train", d1, 1), DatasetInput("a", "iris", "test", d1, 1)]
    new = [DatasetInput("b", "iris", "train", d1, 2), DatasetInput("b", "iris", "test", d2, 2)]
    new += [DatasetInput("b", "extra", "other", d2, 2)]
    verdicts = {v.key: v for v in compare_datasets(original, new)}
    assert verdicts["iris (train)"].reproduced
    assert not verdicts["iris (test)"].reproduced
    assert verdicts["extra (other)"].original is None and not verdicts["extra (other)"].reproduced
    assert compare_datasets([], []) == []
