"""Monitoring: monitors over the inference log, results, labels, alerts and the hub's schedule.

The statistics run in an engine (:class:`MonitorEngine`, implemented in :mod:`shipyard.analysis`)
over Parquet bytes this service reads from the inference log's store and the blob store; the
service decides the window, the reference and what to keep. Alerts go out through a
:class:`Notifier` after a conditional UPDATE claimed them, so one result fires a rule once and a
rule stays quiet for its cool-down, however many hubs evaluate it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from shipyard.domain.datasets import DatasetKind
from shipyard.domain.monitoring import (
    Alert,
    AlertRule,
    Label,
    Monitor,
    MonitorResult,
    check_alert_rule,
    check_monitor,
    window_span_ms,
)
from shipyard.domain.principals import AuditEvent, Principal
from shipyard.domain.registry import check_model_name
from shipyard.domain.tracking import now_ms
from shipyard.errors import InvalidArgument, NotFound
from shipyard.stores.artifacts import ArtifactStore, BlobStore
from shipyard.stores.metadata import MetadataStore

__all__ = ["MonitorEngine", "MonitoringService", "Notifier"]

log = logging.getLogger("shipyard.monitoring")
MAX_LABELS_PER_CALL = 100_000


class MonitorEngine(Protocol):
    """The computation (see :mod:`shipyard.analysis.monitor_engine`)."""

    def evaluate(
        self,
        monitor: Monitor,
        reference: bytes,
        log_files: Iterable[bytes],
        labels: Callable[[Sequence[str]], list[Label]],
        *,
        start_ms: int | None,
        end_ms: int,
        last_n: int | None,
    ) -> dict[str, Any]:
        """The result body: window, summary, features, quality, performance."""
        ...

    def report(self, body: Mapping[str, Any]) -> str:
        """The self-contained HTML report of a result body."""
        ...

    def dumps(self, body: Mapping[str, Any]) -> bytes: ...

    def loads(self, raw: bytes) -> dict[str, Any]: ...


class Notifier(Protocol):
    def webhook(self, url: str, payload: Mapping[str, Any]) -> tuple[bool, str]: ...

    def command(self, argv: Sequence[str], payload: Mapping[str, Any]) -> tuple[bool, str]: ...


class MonitoringService:
    def __init__(
        self,
        store: MetadataStore,
        blobs: BlobStore,
        log_store: ArtifactStore,
        engine: Callable[[], MonitorEngine],
        notifier: Notifier,
    ) -> None:
        """``engine`` makes the engine on first use (it imports NumPy and pyarrow)."""
        self.store = store
        self.blobs = blobs
        self.log_store = log_store
        self._engine_factory = engine
        self._engine: MonitorEngine | None = None
        self.notifier = notifier

    @property
    def engine(self) -> MonitorEngine:
        if self._engine is None:
            self._engine = self._engine_factory()
        return self._engine

    # monitors --------------------------------------------------------------------------------------
    def create(self, who: Principal, monitor: Monitor) -> Monitor:
        check_model_name(monitor.model)
        at = now_ms()
        m = check_monitor(replace(monitor, id=uuid.uuid4().hex, created_at=at, created_by=who.name))
        if m.every_seconds is not None:  # the first run at the hub's next tick, then every N seconds
            m = replace(m, next_run_at=at)
        with self.store.transaction(write=True) as tx:
            tx.get_model(m.model)
            tx.insert_monitor(m)
            tx.append_audit(AuditEvent(who.name, "monitor.create", "monitor", m.id, {"name": m.name, "model": m.model}))
            return tx.get_monitor(m.id)

    def get(self, who: Principal, ref: str) -> Monitor:
        with self.store.transaction(write=False) as tx:
            return tx.get_monitor(ref)

    def list_monitors(self, who: Principal) -> list[Monitor]:
        with self.store.transaction(write=False) as tx:
            return tx.list_monitors()

    def delete(self, who: Principal, ref: str) -> None:
        with self.store.transaction(write=True) as tx:
            m = tx.get_monitor(ref)
            tx.delete_monitor(m.id)
            tx.append_audit(AuditEvent(who.name, "monitor.delete", "monitor", m.id, {"name": m.name}))

    def add_alert_rule(self, who: Principal, monitor_ref: str, rule: AlertRule) -> AlertRule:
        with self.store.transaction(write=True) as tx:
            m = tx.get_monitor(monitor_ref)
            r = check_alert_rule(replace(rule, id=uuid.uuid4().hex, monitor_id=m.id, created_at=now_ms()))
            tx.insert_alert_rule(r)
            tx.append_audit(AuditEvent(who.name, "monitor.alert_rule", "monitor", m.id, {"kind": r.kind}))
            return r

    def alert_rules(self, who: Principal, monitor_ref: str) -> list[AlertRule]:
        with self.store.transaction(write=False) as tx:
            return [r for r, _ in tx.list_alert_rules(tx.get_monitor(monitor_ref).id)]

    # labels ----------------------------------------------------------------------------------------
    def log_labels(self, who: Principal, model: str, labels: Sequence[Label]) -> int:
        """Record true outcomes by request id (and row within the request); a later label for the
        same row replaces the earlier one."""
        check_model_name(model)
        if len(labels) > MAX_LABELS_PER_CALL:
            raise InvalidArgument(f"at most {MAX_LABELS_PER_CALL} labels per call", field="labels")
        at = now_ms()
        checked = []
        for i, x in enumerate(labels):
            if not x.request_id or len(x.request_id) > 64:
                raise InvalidArgument("request_id is 1-64 characters", field=f"labels[{i}].request_id")
            if isinstance(x.value, bool) or not isinstance(x.value, int | float | str):
                raise InvalidArgument("a label is a number or a string", field=f"labels[{i}].value")
            if x.row < 0:
                raise InvalidArgument("row is >= 0", field=f"labels[{i}].row")
            checked.append(replace(x, model=model, at=at))
        with self.store.transaction(write=True) as tx:
            tx.get_model(model)
            tx.upsert_labels(checked)
        return len(checked)

    # running ---------------------------------------------------------------------------------------
    def _reference(self, m: Monitor) -> tuple[bytes, tuple[str, ...]]:
        """The Parquet bytes of the monitor's reference (the dataset it names, or the training
        dataset, role ``train``, of the run that made the version it watches) and the input
        columns of that version's signature (empty if it has none)."""
        with self.store.transaction(write=False) as tx:
            mv = tx.get_version(m.model, int(m.version)) if m.version else None
            if mv is None:
                latest = tx.get_model(m.model).latest_version
                if latest is None:
                    raise NotFound(f"model {m.model!r} has no versions", field="model")
                mv = tx.get_version(m.model, latest)
            columns = (mv.signature.get("inputs") or {}).get("columns") or []
            inputs = tuple(str(c["name"]) for c in columns if isinstance(c, dict) and "name" in c)
            if m.reference:
                found = tx.find_dataset_versions(m.reference, limit=2)
                if len(found) != 1:
                    raise NotFound(f"no single dataset version {m.reference!r}", field="reference")
                version = found[0]
            else:
                train = [i for i in tx.list_inputs(run_id=mv.run_id, with_versions=True) if i.role == "train"]
                if not train or train[0].version is None:
                    raise InvalidArgument(
                        f"the run of {m.model} v{mv.version} logged no training dataset; "
                        "give the monitor a reference dataset (--reference DIGEST)",
                        field="reference",
                    )
                version = train[0].version
        if version.kind is not DatasetKind.TABLE or version.format != "parquet":
            raise InvalidArgument(
                f"the reference {version.digest[:12]} is a {version.kind} ({version.format}), not a table",
                field="reference",
            )
        return b"".join(self.blobs.read_chunks(version.blob)), inputs

    def _log_files(self, m: Monitor, start_ms: int | None, newest_first: bool) -> Iterator[bytes]:
        prefix = f"model={m.model}/" + (f"version={m.version}/" if m.version else "")
        keys = [k for k in self.log_store.list_keys(prefix) if k.endswith(".parquet")]
        if start_ms is not None:  # file names start with their write time: skip older days cheaply
            day = start_ms // 86_400_000
            keys = [k for k in keys if _key_day(k) >= day]
        keys.sort(key=lambda k: k.rsplit("/", 1)[-1], reverse=newest_first)
        for key in keys:
            yield b"".join(self.log_store.read_chunks(key))

    def run(self, who: Principal, ref: str, *, now: int | None = None) -> MonitorResult:
        """Compute the monitor's current window now, store the result and its report, and fire
        the alert rules it meets."""
        m = self.get(who, ref)
        end = now or now_ms()
        span = window_span_ms(m.window)
        start = end - span if span is not None else None
        last_n = int(m.window.split(":", 1)[1]) if m.window.startswith("last:") else None
        reference, inputs = self._reference(m)
        if not m.features and inputs:  # watch what the model takes; other reference columns may be its target
            m = replace(m, features=inputs)

        def labels(request_ids: Sequence[str]) -> list[Label]:
            with self.store.transaction(write=False) as tx:
                return tx.labels_for(m.model, request_ids)

        body = self.engine.evaluate(
            m, reference, self._log_files(m, start, last_n is not None), labels,
            start_ms=start, end_ms=end, last_n=last_n,
        )  # fmt: skip
        body["monitor"] = {"id": m.id, "name": m.name, "model": m.model, "version": m.version}
        body["computed_at_ms"] = end
        result_id = uuid.uuid4().hex
        fired = self._alerts(m, result_id, body, end)
        body["alerts"] = [
            {"rule": a.rule_id, "severity": "warning", "message": a.message, "at_ms": a.at} for a in fired
        ]
        body_digest, _ = self.blobs.put_chunks([self.engine.dumps(body)])
        report_digest, _ = self.blobs.put_chunks([self.engine.report(body).encode()])
        window = body.get("window", {})
        perf = body.get("performance") or {}
        result = MonitorResult(
            id=result_id,
            monitor_id=m.id,
            window_start=int(window.get("start_ms") or 0),
            window_end=int(window.get("end_ms") or end),
            rows=int(window.get("rows") or 0),
            computed_at=end,
            drifted=tuple(f["name"] for f in body.get("features", []) if f.get("drift")),
            features=len(body.get("features", [])),
            metrics={k: float(v) for k, v in (perf.get("metrics") or {}).items() if isinstance(v, int | float)},
            body_digest=body_digest,
            report_digest=report_digest,
        )
        with self.store.transaction(write=True) as tx:
            tx.insert_result(result)
            for a in fired:
                tx.insert_alert(a)
            details = {"result": result_id, "rows": result.rows, "drifted": list(result.drifted)}
            tx.append_audit(AuditEvent(who.name, "monitor.run", "monitor", m.id, details))
        return result

    def _alerts(self, m: Monitor, result_id: str, body: Mapping[str, Any], at: int) -> list[Alert]:
        with self.store.transaction(write=False) as tx:
            rules = tx.list_alert_rules(m.id)
        fired = []
        for rule, _ in rules:
            message = rule_message(rule, m, body) if rule.enabled else None
            if message is None:
                continue
            with self.store.transaction(write=True) as tx:  # claim it: once per cool-down, whoever evaluates
                if not tx.mark_fired(rule.id, at, at - rule.cooldown_seconds * 1000):
                    continue
            payload = {"text": message, "monitor": m.name, "model": m.model, "rule": rule.kind, "result": result_id,
                       "summary": body.get("summary"), "performance": body.get("performance")}  # fmt: skip
            delivered, outcome = True, ""
            if rule.webhook:
                delivered, outcome = self.notifier.webhook(rule.webhook, payload)
            if rule.command:
                ok, out = self.notifier.command(rule.command, {**payload, "body": body})
                delivered, outcome = delivered and ok, f"{outcome} {out}".strip()
            detail = {"outcome": outcome[:2000], "kind": rule.kind}
            fired.append(Alert(uuid.uuid4().hex, rule.id, m.id, result_id, at, message, delivered, detail))
        return fired

    def run_due(self, who: Principal, *, now: int | None = None) -> list[MonitorResult]:
        """Run every monitor whose time has come, claiming each first (a conditional UPDATE of its
        next run time), so hubs sharing a database never run one twice."""
        at = now or now_ms()
        with self.store.transaction(write=False) as tx:
            due = tx.due_monitors(at)
        results = []
        for m in due:
            if m.next_run_at is None or m.every_seconds is None:
                continue
            with self.store.transaction(write=True) as tx:
                if not tx.claim_monitor(m.id, m.next_run_at, at + m.every_seconds * 1000):
                    continue
            try:
                results.append(self.run(who, m.id, now=at))
            except Exception as exc:  # one failing monitor must not stop the others
                log.warning("monitor %s failed: %s", m.name, exc)
        return results

    # reading ---------------------------------------------------------------------------------------
    def results(self, who: Principal, ref: str, limit: int = 20) -> list[MonitorResult]:
        with self.store.transaction(write=False) as tx:
            return tx.list_results(tx.get_monitor(ref).id, limit)

    def result_body(self, who: Principal, result_id: str) -> dict[str, Any]:
        with self.store.transaction(write=False) as tx:
            r = tx.get_result(result_id)
        return self.engine.loads(b"".join(self.blobs.read_chunks(r.body_digest)))

    def result_report(self, who: Principal, result_id: str) -> bytes:
        with self.store.transaction(write=False) as tx:
            r = tx.get_result(result_id)
        return b"".join(self.blobs.read_chunks(r.report_digest))

    def alerts(self, who: Principal, ref: str, limit: int = 50) -> list[Alert]:
        with self.store.transaction(write=False) as tx:
            return tx.list_alerts(tx.get_monitor(ref).id, limit)


def _key_day(key: str) -> int:
    """The day (since the epoch) of a log file's ``date=`` partition; a key without one sorts as
    the newest day, so it is never skipped."""
    for part in key.split("/"):
        if part.startswith("date="):
            try:
                day = dt.date.fromisoformat(part[5:])
            except ValueError:
                break
            return (day - dt.date(1970, 1, 1)).days
    return 1 << 40


def _worst_quality(feature: Mapping[str, Any]) -> float:
    q = feature.get("quality") or {}
    return max(float(q.get(k) or 0.0) for k in ("missing_share", "out_of_range_share", "unseen_share"))


def rule_message(rule: AlertRule, m: Monitor, body: Mapping[str, Any]) -> str | None:
    """The alert text when ``rule`` is met by the result ``body``, else None."""
    features = body.get("features", [])
    drifted = [f["name"] for f in features if f.get("drift")]
    if rule.kind == "drift":
        share = len(drifted) / len(features) if features else 0.0
        if drifted and share >= rule.threshold:
            return f"[{m.name}] drift in {len(drifted)} of {len(features)} features of {m.model}: {', '.join(drifted)}"
        return None
    if rule.kind == "quality":
        bad = [f["name"] for f in features if _worst_quality(f) > rule.threshold]
        return f"[{m.name}] data quality of {m.model}: {', '.join(bad)} over {rule.threshold:.0%}" if bad else None
    perf = body.get("performance") or {}
    value = (perf.get("latest") or {}).get("metrics", {}).get(rule.metric)
    if value is None:
        value = (perf.get("metrics") or {}).get(rule.metric)
    if value is None:
        return None
    crossed = value < rule.threshold if rule.kind == "metric_below" else value > rule.threshold
    word = "below" if rule.kind == "metric_below" else "above"
    return f"[{m.name}] {rule.metric} of {m.model} is {value:.4g}, {word} {rule.threshold:.4g}" if crossed else None
