"""Monitors from Python: ``Client().monitors`` (local services or a hub, the same calls).

Example:
    >>> client = shipyard.Client("http://127.0.0.1:8420")              # doctest: +SKIP
    >>> client.monitors.create("churn-daily", model="churn", window="day", every_seconds=3600)  # doctest: +SKIP
    >>> client.monitors.log_labels("churn", [(request_id, 0, 1)])       # doctest: +SKIP
    >>> result = client.monitors.run("churn-daily")                     # doctest: +SKIP
    >>> result.drifted, result.metrics                                  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from shipyard.domain.monitoring import Alert, AlertRule, Label, Monitor, MonitorResult
from shipyard.domain.principals import Principal
from shipyard.schemas import (
    alert_rule_from_wire,
    alert_rule_to_wire,
    monitor_from_wire,
    monitor_to_wire,
    result_from_wire,
)

__all__ = ["Monitors"]


def _q(ref: str) -> str:
    return quote(ref, safe="")


class Monitors:
    """Create, run and read monitors; post delayed labels."""

    def __init__(self, backend: Any) -> None:
        self._b = backend
        self._remote = bool(backend.is_remote)

    def _svc(self) -> Any:
        return self._b.services.monitoring

    @property
    def _who(self) -> Principal:
        who: Principal = self._b.who
        return who

    def create(self, name: str, *, model: str, **options: Any) -> Monitor:
        """A monitor of ``model``'s inference log; ``options``: version, features, window ('all',
        'hour', 'day', 'last:N'), tests, thresholds, reference, label_task, every_seconds."""
        m = Monitor(id="", name=name, model=model, **{k: v for k, v in options.items() if v is not None})
        if not self._remote:
            return self._svc().create(self._who, m)  # type: ignore[no-any-return]
        body = {k: v for k, v in monitor_to_wire(m).items() if k in _MONITOR_FIELDS}
        return monitor_from_wire(self._b._json("POST", "/monitors", json=body))

    def list(self) -> list[Monitor]:
        if not self._remote:
            return self._svc().list_monitors(self._who)  # type: ignore[no-any-return]
        return [monitor_from_wire(d) for d in self._b._json("GET", "/monitors")["monitors"]]

    def get(self, ref: str) -> Monitor:
        if not self._remote:
            return self._svc().get(self._who, ref)  # type: ignore[no-any-return]
        d = self._b._json("GET", f"/monitors/{_q(ref)}")
        d.pop("alert_rules", None)
        return monitor_from_wire(d)

    def delete(self, ref: str) -> None:
        if not self._remote:
            self._svc().delete(self._who, ref)
        else:
            self._b._request("DELETE", f"/monitors/{_q(ref)}")

    def run(self, ref: str) -> MonitorResult:
        """Compute the monitor's window now (stores the result and report, fires alerts)."""
        if not self._remote:
            return self._svc().run(self._who, ref)  # type: ignore[no-any-return]
        return result_from_wire(self._b._json("POST", f"/monitors/{_q(ref)}/run"))

    def results(self, ref: str, limit: int = 20) -> builtins.list[MonitorResult]:
        if not self._remote:
            return self._svc().results(self._who, ref, limit)  # type: ignore[no-any-return]
        data = self._b._json("GET", f"/monitors/{_q(ref)}/results", params={"limit": str(limit)})
        return [result_from_wire(d) for d in data["results"]]

    def result(self, result_id: str) -> dict[str, Any]:
        """The full result: per-feature tests and distributions, quality, performance, alerts."""
        if not self._remote:
            return self._svc().result_body(self._who, result_id)  # type: ignore[no-any-return]
        return self._b._json("GET", f"/monitor-results/{_q(result_id)}")  # type: ignore[no-any-return]

    def report(self, result_id: str) -> str:
        """The self-contained HTML report of a result."""
        if not self._remote:
            return bytes(self._svc().result_report(self._who, result_id)).decode()
        return bytes(self._b._request("GET", f"/monitor-results/{_q(result_id)}/report")).decode()

    def add_alert_rule(self, ref: str, kind: str, **options: Any) -> AlertRule:
        """``kind``: 'drift', 'metric_below', 'metric_above' or 'quality'; options: threshold,
        metric, webhook, command (argv list), cooldown_seconds."""
        if "command" in options:
            options["command"] = tuple(options["command"])
        rule = AlertRule(id="", monitor_id="", kind=kind, **options)
        if not self._remote:
            return self._svc().add_alert_rule(self._who, ref, rule)  # type: ignore[no-any-return]
        body = {k: v for k, v in alert_rule_to_wire(rule).items() if k in _RULE_FIELDS}
        return alert_rule_from_wire(self._b._json("POST", f"/monitors/{_q(ref)}/alert-rules", json=body))

    def alerts(self, ref: str, limit: int = 50) -> builtins.list[Alert]:
        if not self._remote:
            return self._svc().alerts(self._who, ref, limit)  # type: ignore[no-any-return]
        data = self._b._json("GET", f"/monitors/{_q(ref)}/alerts", params={"limit": str(limit)})
        return [Alert(**d) for d in data["alerts"]]

    def log_labels(self, model: str, labels: Iterable[tuple[str, int, float | int | str] | Label]) -> int:
        """Post true outcomes: ``(request_id, row, value)`` tuples (row is the row within the
        request, 0 for single-row requests). Returns how many were stored."""
        items: Sequence[Label] = [
            replace(x, model=model) if isinstance(x, Label) else Label(model, str(x[0]), int(x[1]), x[2])
            for x in labels
        ]
        if not self._remote:
            return self._svc().log_labels(self._who, model, items)  # type: ignore[no-any-return]
        body = {"labels": [{"request_id": x.request_id, "row": x.row, "value": x.value} for x in items]}
        return int(self._b._json("POST", f"/models/{_q(model)}/labels", json=body)["labels"])


_MONITOR_FIELDS = {"name", "model", "version", "features", "window", "tests", "thresholds", "reference",
                   "label_task", "every_seconds"}  # fmt: skip
_RULE_FIELDS = {"kind", "threshold", "metric", "webhook", "command", "cooldown_seconds"}
