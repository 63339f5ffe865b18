"""The pure parts of the monitoring service: which log files a time window can skip, and when an
alert rule is met by a result."""

from __future__ import annotations

from shipyard.domain.monitoring import AlertRule, Monitor
from shipyard.services.monitoring import _key_day, rule_message

M = Monitor(id="1", name="mon", model="churn")


def test_log_files_are_dated_by_their_partition() -> None:
    assert _key_day("model=m/version=1/date=1970-01-02/1-a.parquet") == 1
    assert _key_day("model=m/version=1/date=2026-11-23/x.parquet") == 20780  # 1_795_392_000 s / 86,400
    assert _key_day("model=m/odd/x.parquet") > 10**9  # undated: never skipped
    assert _key_day("model=m/date=garbage/x.parquet") > 10**9


def _body(drift: dict[str, bool], latest_accuracy: float | None = None, missing: float = 0.0) -> dict[str, object]:
    features = [{"name": n, "drift": d, "quality": {"missing_share": missing}} for n, d in drift.items()]
    perf = (
        None
        if latest_accuracy is None
        else {"metrics": {"accuracy": 0.9}, "latest": {"metrics": {"accuracy": latest_accuracy}}}
    )
    return {"features": features, "performance": perf}


def test_drift_rules_count_the_share_of_features() -> None:
    any_drift = AlertRule("r", "1", "drift", webhook="http://127.0.0.1/x")
    half = AlertRule("r", "1", "drift", threshold=0.5, webhook="http://127.0.0.1/x")
    body = _body({"a": True, "b": False, "c": False})
    assert rule_message(any_drift, M, body) == "[mon] drift in 1 of 3 features of churn: a"
    assert rule_message(half, M, body) is None
    assert rule_message(any_drift, M, _body({"a": False})) is None


def test_metric_rules_read_the_latest_slice_first() -> None:
    below = AlertRule("r", "1", "metric_below", threshold=0.8, metric="accuracy", webhook="http://127.0.0.1/x")
    above = AlertRule("r", "1", "metric_above", threshold=0.8, metric="accuracy", webhook="http://127.0.0.1/x")
    assert rule_message(below, M, _body({}, latest_accuracy=0.6)) == "[mon] accuracy of churn is 0.6, below 0.8"
    assert rule_message(above, M, _body({}, latest_accuracy=0.6)) is None
    assert rule_message(below, M, _body({})) is None  # no labels yet: nothing to judge


def test_quality_rules_take_the_worst_share() -> None:
    rule = AlertRule("r", "1", "quality", threshold=0.1, webhook="http://127.0.0.1/x")
    assert rule_message(rule, M, _body({"a": False}, missing=0.25)) == "[mon] data quality of churn: a over 10%"
    assert rule_message(rule, M, _body({"a": False}, missing=0.05)) is None
