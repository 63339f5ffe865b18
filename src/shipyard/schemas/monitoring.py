"""Monitoring wire models: monitors, alert rules, labels, results and alerts."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import Field

from shipyard.domain.monitoring import Alert, AlertRule, Label, Monitor, MonitorResult
from shipyard.schemas.tracking import _In

__all__ = [
    "AlertRuleIn",
    "LabelsIn",
    "MonitorIn",
    "alert_rule_from_wire",
    "alert_rule_to_wire",
    "alert_to_wire",
    "monitor_from_wire",
    "monitor_to_wire",
    "result_from_wire",
    "result_to_wire",
]


class MonitorIn(_In):
    name: str = Field(description="Unique monitor name.")
    model: str = Field(description="The registered model whose inference log it watches.")
    version: str | None = Field(default=None, description="One version only; default: every version.")
    features: list[str] = Field(default_factory=list, description="Columns to watch; default: all.")
    window: str = Field(default="day", description="'all', 'hour', 'day' or 'last:N' (the newest N rows).")
    tests: dict[str, list[str]] = Field(default_factory=dict, description="Per feature: tests to run instead.")
    thresholds: dict[str, float] = Field(default_factory=dict, description="Per test: its drift threshold.")
    reference: str | None = Field(default=None, description="A dataset version digest; default: training data.")
    label_task: str | None = Field(default=None, description="'classification' or 'regression'; default: inferred.")
    every_seconds: int | None = Field(default=None, description="Run by the hub this often; default: on demand.")

    def to_domain(self) -> Monitor:
        return Monitor(
            id="",
            name=self.name,
            model=self.model,
            version=self.version,
            features=tuple(self.features),
            window=self.window,
            tests={k: tuple(v) for k, v in self.tests.items()},
            thresholds=dict(self.thresholds),
            reference=self.reference,
            label_task=self.label_task,
            every_seconds=self.every_seconds,
        )


class AlertRuleIn(_In):
    kind: str = Field(description="'drift', 'metric_below', 'metric_above' or 'quality'.")
    threshold: float = 0.0
    metric: str | None = None
    webhook: str | None = Field(default=None, description="POSTed a Slack-compatible JSON body.")
    command: list[str] = Field(default_factory=list, description="Run with the result JSON on stdin.")
    cooldown_seconds: int = 3600

    def to_domain(self) -> AlertRule:
        return AlertRule("", "", self.kind, self.threshold, self.metric, self.webhook, tuple(self.command),
                         self.cooldown_seconds)  # fmt: skip


class LabelIn(_In):
    request_id: str
    row: int = 0
    value: float | int | str


class LabelsIn(_In):
    labels: list[LabelIn] = Field(description="True outcomes by request id (and row within the request).")

    def to_domain(self, model: str) -> list[Label]:
        return [Label(model, x.request_id, x.row, x.value) for x in self.labels]


def monitor_to_wire(m: Monitor) -> dict[str, Any]:
    out = dataclasses.asdict(m)
    out["features"] = list(m.features)
    out["tests"] = {k: list(v) for k, v in m.tests.items()}
    return out


def monitor_from_wire(d: dict[str, Any]) -> Monitor:
    return Monitor(
        **{**d, "features": tuple(d.get("features", ())), "tests": {k: tuple(v) for k, v in d.get("tests", {}).items()}}
    )


def alert_rule_to_wire(r: AlertRule) -> dict[str, Any]:
    return {**dataclasses.asdict(r), "command": list(r.command)}


def alert_rule_from_wire(d: dict[str, Any]) -> AlertRule:
    return AlertRule(**{**d, "command": tuple(d.get("command", ()))})


def result_to_wire(r: MonitorResult) -> dict[str, Any]:
    return {**dataclasses.asdict(r), "drifted": list(r.drifted)}


def result_from_wire(d: dict[str, Any]) -> MonitorResult:
    return MonitorResult(**{**d, "drifted": tuple(d.get("drifted", ()))})


def alert_to_wire(a: Alert) -> dict[str, Any]:
    return dataclasses.asdict(a)
