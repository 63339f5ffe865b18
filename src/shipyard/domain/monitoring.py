"""Monitoring: monitors over a served model's inference log, their results, alert rules, alerts and
delayed labels. Plain data and the rules that check it; the statistics live in
:mod:`shipyard.analysis`, the orchestration in :mod:`shipyard.services.monitoring`.

A monitor compares a *window* of the inference log of model ``model`` (optionally one ``version``)
with a *reference* (the training dataset of the version, or a dataset named explicitly):

* ``window="last:N"``: the newest N logged rows; ``"hour"`` / ``"day"``: the last hour / day;
  ``"all"``: everything logged;
* ``every_seconds``: how often the hub runs it (``None``: only on demand, from the CLI or API).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidArgument

__all__ = [
    "ALERT_KINDS",
    "METHODS",
    "Alert",
    "AlertRule",
    "Label",
    "Monitor",
    "MonitorResult",
    "check_alert_rule",
    "check_monitor",
    "window_span_ms",
]

METHODS = ("ks", "wasserstein", "psi", "chi2", "jensen_shannon")
ALERT_KINDS = ("drift", "metric_below", "metric_above", "quality")
_WINDOW = re.compile(r"^(all|hour|day|last:[1-9][0-9]{0,8})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


@dataclass(frozen=True, slots=True)
class Monitor:
    id: str
    name: str
    model: str
    version: str | None = None
    features: tuple[str, ...] = ()  # empty: every input column the reference has
    window: str = "day"
    tests: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # feature -> methods (overrides)
    thresholds: Mapping[str, float] = field(default_factory=dict)  # method -> threshold
    reference: str | None = None  # a dataset version digest; None: the version's training data
    label_task: str | None = None  # "classification" | "regression" | None (inferred)
    every_seconds: int | None = None
    next_run_at: int | None = None
    created_at: int = 0
    created_by: str = ""


@dataclass(frozen=True, slots=True)
class MonitorResult:
    id: str
    monitor_id: str
    window_start: int
    window_end: int
    rows: int
    computed_at: int
    drifted: tuple[str, ...]
    features: int
    metrics: Mapping[str, float] = field(default_factory=dict)
    body_digest: str = ""  # the full result (JSON) in the blob store
    report_digest: str = ""  # the HTML report in the blob store


@dataclass(frozen=True, slots=True)
class AlertRule:
    """``drift``: fires when at least ``threshold`` (a share, default any) of the features drift;
    ``metric_below`` / ``metric_above``: when performance metric ``metric`` crosses ``threshold``;
    ``quality``: when a feature's missing, out-of-range or unseen share exceeds ``threshold``.
    A fired alert posts to ``webhook`` (Slack-compatible JSON) and/or runs ``command`` (an argv
    list; the result JSON on stdin), then stays quiet for ``cooldown_seconds``."""

    id: str
    monitor_id: str
    kind: str
    threshold: float = 0.0
    metric: str | None = None
    webhook: str | None = None
    command: tuple[str, ...] = ()
    cooldown_seconds: int = 3600
    enabled: bool = True
    created_at: int = 0


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    rule_id: str
    monitor_id: str
    result_id: str
    at: int
    message: str
    delivered: bool
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Label:
    """The true outcome of row ``row`` of request ``request_id``, known after the fact."""

    model: str
    request_id: str
    row: int
    value: float | str
    at: int = 0


def check_monitor(m: Monitor) -> Monitor:
    if not _NAME.match(m.name):
        raise InvalidArgument("a monitor name is 1-100 letters, digits, '_', '.' or '-'", field="name")
    if not m.model:
        raise InvalidArgument("a monitor watches a model: give its name", field="model")
    if not _WINDOW.match(m.window):
        raise InvalidArgument("window is 'all', 'hour', 'day' or 'last:N' (N rows)", field="window")
    for feature, methods in m.tests.items():
        bad = [x for x in methods if x not in METHODS]
        if bad:
            raise InvalidArgument(f"unknown test {bad[0]!r}; use {', '.join(METHODS)}", field=f"tests.{feature}")
    for method, value in m.thresholds.items():
        if method not in METHODS:
            raise InvalidArgument(f"unknown test {method!r}; use {', '.join(METHODS)}", field=f"thresholds.{method}")
        if not isinstance(value, int | float) or not 0 <= value <= 1e6:
            raise InvalidArgument("a threshold is a non-negative number", field=f"thresholds.{method}")
    if m.label_task not in (None, "classification", "regression"):
        raise InvalidArgument("label_task is 'classification' or 'regression'", field="label_task")
    if m.every_seconds is not None and not 10 <= m.every_seconds <= 366 * 86_400:
        raise InvalidArgument("every_seconds is between 10 and a year", field="every_seconds")
    return m


def check_alert_rule(r: AlertRule) -> AlertRule:
    if r.kind not in ALERT_KINDS:
        raise InvalidArgument(f"kind is one of {', '.join(ALERT_KINDS)}", field="kind")
    if r.kind.startswith("metric") and not r.metric:
        raise InvalidArgument("a metric rule names its metric (accuracy, f1, rmse, ...)", field="metric")
    if r.webhook is not None and not re.match(r"^https?://[^\s/]+", r.webhook):
        raise InvalidArgument("webhook is an http(s) URL", field="webhook")
    if not r.webhook and not r.command:
        raise InvalidArgument("an alert rule needs a webhook or a command to act", field="webhook")
    if not 0 <= r.cooldown_seconds <= 30 * 86_400:
        raise InvalidArgument("cooldown_seconds is between 0 and 30 days", field="cooldown_seconds")
    return r


def window_span_ms(window: str) -> int | None:
    """The time span of a window, or None for row-count and unbounded windows."""
    return {"hour": 3_600_000, "day": 86_400_000}.get(window)
