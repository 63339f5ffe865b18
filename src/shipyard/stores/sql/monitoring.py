"""Monitors, their results, alert rules, alerts and labels in SQL (mixed into
:class:`~shipyard.stores.sql.store.SqlTransaction`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from shipyard.domain.monitoring import Alert, AlertRule, Label, Monitor, MonitorResult
from shipyard.errors import AlreadyExists, NotFound
from shipyard.stores.sql import schema as t
from shipyard.stores.sql.base import Queries

__all__ = ["MonitoringQueries"]

_M = t.monitors.c
_R = t.monitor_results.c
_AR = t.alert_rules.c
_AL = t.alerts.c
_LB = t.labels.c


def _monitor(r: Any) -> Monitor:
    spec = dict(r.spec or {})
    return Monitor(
        id=r.id,
        name=r.name,
        model=r.model,
        version=r.version,
        features=tuple(spec.get("features", ())),
        window=spec.get("window", "day"),
        tests={k: tuple(v) for k, v in (spec.get("tests") or {}).items()},
        thresholds=dict(spec.get("thresholds") or {}),
        reference=spec.get("reference"),
        label_task=spec.get("label_task"),
        every_seconds=r.every_seconds,
        next_run_at=r.next_run_at,
        created_at=r.created_at,
        created_by=r.created_by,
    )


def _result(r: Any) -> MonitorResult:
    return MonitorResult(
        id=r.id,
        monitor_id=r.monitor_id,
        window_start=r.window_start,
        window_end=r.window_end,
        rows=r.rows,
        computed_at=r.computed_at,
        drifted=tuple(r.drifted or ()),
        features=r.features,
        metrics=dict(r.metrics or {}),
        body_digest=r.body_digest,
        report_digest=r.report_digest,
    )


def _rule(r: Any) -> AlertRule:
    return AlertRule(
        id=r.id,
        monitor_id=r.monitor_id,
        kind=r.kind,
        threshold=r.threshold,
        metric=r.metric,
        webhook=r.webhook,
        command=tuple(r.command or ()),
        cooldown_seconds=r.cooldown_seconds,
        enabled=r.enabled,
        created_at=r.created_at,
    )


class MonitoringQueries(Queries):
    # monitors ------------------------------------------------------------------------------------
    def insert_monitor(self, m: Monitor) -> None:
        spec = {
            "features": list(m.features),
            "window": m.window,
            "tests": {k: list(v) for k, v in m.tests.items()},
            "thresholds": dict(m.thresholds),
            "reference": m.reference,
            "label_task": m.label_task,
        }
        row = {
            "id": m.id,
            "name": m.name,
            "model": m.model,
            "version": m.version,
            "spec": spec,
            "every_seconds": m.every_seconds,
            "next_run_at": m.next_run_at,
            "created_at": m.created_at,
            "created_by": m.created_by,
        }
        try:
            with self.conn.begin_nested():
                self.conn.execute(t.monitors.insert().values(**row))
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"a monitor named {m.name!r} exists already", field="name") from None

    def get_monitor(self, ref: str) -> Monitor:
        """A monitor by id or by name."""
        row = self.conn.execute(sa.select(t.monitors).where(sa.or_(_M.id == ref, _M.name == ref))).first()
        if row is None:
            raise NotFound(f"no monitor {ref!r}", field="monitor")
        return _monitor(row)

    def list_monitors(self) -> list[Monitor]:
        return [_monitor(r) for r in self.conn.execute(sa.select(t.monitors).order_by(_M.name))]

    def delete_monitor(self, monitor_id: str) -> None:
        rules = sa.select(_AR.id).where(_AR.monitor_id == monitor_id)
        self.conn.execute(t.alerts.delete().where(_AL.rule_id.in_(rules)))
        self.conn.execute(t.alert_rules.delete().where(_AR.monitor_id == monitor_id))
        self.conn.execute(t.monitor_results.delete().where(_R.monitor_id == monitor_id))
        if not self.conn.execute(t.monitors.delete().where(_M.id == monitor_id)).rowcount:
            raise NotFound(f"no monitor {monitor_id!r}", field="monitor")

    def due_monitors(self, now: int) -> list[Monitor]:
        q = sa.select(t.monitors).where(_M.next_run_at.is_not(None), _M.next_run_at <= now)
        return [_monitor(r) for r in self.conn.execute(q.order_by(_M.next_run_at))]

    def claim_monitor(self, monitor_id: str, seen_next_run_at: int, next_run_at: int) -> bool:
        """Move the monitor's next run forward if nobody has since: the caller that wins runs it."""
        done = self.conn.execute(
            t.monitors.update()
            .where(_M.id == monitor_id, _M.next_run_at == seen_next_run_at)
            .values(next_run_at=next_run_at)
        )
        return bool(done.rowcount)

    # results ---------------------------------------------------------------------------------------
    def insert_result(self, r: MonitorResult) -> None:
        self.conn.execute(
            t.monitor_results.insert().values(
                id=r.id,
                monitor_id=r.monitor_id,
                window_start=r.window_start,
                window_end=r.window_end,
                rows=r.rows,
                computed_at=r.computed_at,
                drifted=list(r.drifted),
                features=r.features,
                metrics=dict(r.metrics),
                body_digest=r.body_digest,
                report_digest=r.report_digest,
            )
        )

    def list_results(self, monitor_id: str, limit: int) -> list[MonitorResult]:
        q = sa.select(t.monitor_results).where(_R.monitor_id == monitor_id)
        return [_result(r) for r in self.conn.execute(q.order_by(_R.computed_at.desc(), _R.id).limit(limit))]

    def get_result(self, result_id: str) -> MonitorResult:
        row = self.conn.execute(sa.select(t.monitor_results).where(_R.id == result_id)).first()
        if row is None:
            raise NotFound(f"no monitor result {result_id!r}", field="result")
        return _result(row)

    # alert rules and alerts ----------------------------------------------------------------------------
    def insert_alert_rule(self, r: AlertRule) -> None:
        self.conn.execute(
            t.alert_rules.insert().values(
                id=r.id,
                monitor_id=r.monitor_id,
                kind=r.kind,
                threshold=r.threshold,
                metric=r.metric,
                webhook=r.webhook,
                command=list(r.command),
                cooldown_seconds=r.cooldown_seconds,
                enabled=r.enabled,
                created_at=r.created_at,
            )
        )

    def list_alert_rules(self, monitor_id: str) -> list[tuple[AlertRule, int | None]]:
        """The rules with the time each last fired."""
        q = sa.select(t.alert_rules).where(_AR.monitor_id == monitor_id).order_by(_AR.created_at, _AR.id)
        return [(_rule(r), r.last_fired_at) for r in self.conn.execute(q)]

    def mark_fired(self, rule_id: str, at: int, quiet_since: int) -> bool:
        """Record that the rule fires at ``at`` unless it fired after ``quiet_since`` (its cool-down):
        one conditional UPDATE, so concurrent evaluations fire it once."""
        done = self.conn.execute(
            t.alert_rules.update()
            .where(_AR.id == rule_id, sa.or_(_AR.last_fired_at.is_(None), _AR.last_fired_at <= quiet_since))
            .values(last_fired_at=at)
        )
        return bool(done.rowcount)

    def insert_alert(self, a: Alert) -> None:
        self.conn.execute(
            t.alerts.insert().values(
                id=a.id,
                rule_id=a.rule_id,
                monitor_id=a.monitor_id,
                result_id=a.result_id,
                at=a.at,
                message=a.message,
                delivered=a.delivered,
                detail=dict(a.detail),
            )
        )

    def list_alerts(self, monitor_id: str, limit: int) -> list[Alert]:
        q = sa.select(t.alerts).where(_AL.monitor_id == monitor_id).order_by(_AL.at.desc(), _AL.id).limit(limit)
        return [
            Alert(r.id, r.rule_id, r.monitor_id, r.result_id, r.at, r.message, r.delivered, dict(r.detail or {}))
            for r in self.conn.execute(q)
        ]

    # labels ------------------------------------------------------------------------------------------
    def upsert_labels(self, labels: Sequence[Label]) -> None:
        if not labels:
            return
        stmt = self._insert(t.labels)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["model", "request_id", "row"],
            set_={"value_num": ex.value_num, "value_text": ex.value_text, "at": ex.at},
        )
        rows = [
            {
                "model": x.model,
                "request_id": x.request_id,
                "row": x.row,
                "value_num": float(x.value) if isinstance(x.value, int | float) else None,
                "value_text": x.value if isinstance(x.value, str) else None,
                "at": x.at,
            }
            for x in labels
        ]
        self.conn.execute(stmt, rows)

    def labels_for(self, model: str, request_ids: Sequence[str]) -> list[Label]:
        out: list[Label] = []
        ids = list(dict.fromkeys(request_ids))
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            q = sa.select(t.labels).where(_LB.model == model, _LB.request_id.in_(chunk))
            for r in self.conn.execute(q):
                value: float | str = r.value_num if r.value_num is not None else (r.value_text or "")
                out.append(Label(r.model, r.request_id, r.row, value, r.at))
        return out
