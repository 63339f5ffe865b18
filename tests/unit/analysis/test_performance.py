"""Performance metrics from delayed labels agree with scikit-learn's on the same inputs, and the
time slices show where a drop starts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from shipyard.analysis.performance import classification_metrics, performance, regression_metrics


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.sampled_from(["a", "b", "c"]), min_size=2, max_size=60),
    flips=st.lists(st.booleans(), min_size=60, max_size=60),
)
def test_classification_metrics_match_sklearn(labels: list[str], flips: list[bool]) -> None:
    y_true = np.asarray(labels)
    y_pred = np.asarray([("b" if t != "b" else "c") if f else t for t, f in zip(labels, flips, strict=False)])
    got = classification_metrics(y_true, y_pred)
    classes = sorted(set(labels) | set(y_pred.tolist()))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        want = fn(y_true, y_pred, labels=classes, average="macro", zero_division=0)
        assert got[name] == pytest.approx(want), name


def test_binary_scores_give_roc_auc_and_log_loss_like_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    scores = np.clip(y * 0.3 + rng.uniform(0, 0.7, 500), 0, 1)
    scores[:50] = 0.5  # ties count half
    got = classification_metrics(y, (scores > 0.5).astype(int), scores)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, scores))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, scores))


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=300)
    pred = y + rng.normal(scale=0.3, size=300)
    got = regression_metrics(y, pred)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert got["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert got["r2"] == pytest.approx(skm.r2_score(y, pred))


def test_time_slices_show_the_drop() -> None:
    rng = np.random.default_rng(2)
    at = np.sort(rng.integers(0, 10_000, 1000))
    y = rng.integers(0, 2, 1000)
    pred = np.where(at < 5000, y, 1 - y)  # right in the first half, wrong in the second
    perf = performance(y, pred, at, buckets=10)
    assert perf is not None and perf["task"] == "classification"
    assert perf["first"]["metrics"]["accuracy"] == 1.0 and perf["latest"]["metrics"]["accuracy"] == 0.0
    assert sum(s["rows"] for s in perf["over_time"]) == 1000
    assert perf["metrics"]["accuracy"] == pytest.approx(np.mean(pred == y))
    assert performance(np.asarray([]), np.asarray([]), np.asarray([], dtype=np.int64)) is None
    regression = performance(y.astype(float), pred.astype(float) + 0.1, at)
    assert regression is not None and regression["task"] == "regression"
