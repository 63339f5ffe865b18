"""Tracking: experiments, runs, params, metrics and tags. Every call names its principal, and every
change appends to the audit log in the same transaction."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence

from shipyard.domain.filters import parse_filter, parse_order_by
from shipyard.domain.pagination import Page, decode_page_token, encode_page_token
from shipyard.domain.principals import AuditEvent, Principal
from shipyard.domain.tracking import (
    Experiment,
    Metric,
    MetricBatch,
    MetricHistory,
    Run,
    RunStatus,
    check_key,
    check_name,
    check_params,
    check_tags,
    check_timestamp,
    check_transition,
    now_ms,
)
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, PayloadTooLarge
from shipyard.stores.metadata import MetadataStore, RunSearch

__all__ = ["TrackingService"]

MAX_SEARCH_RESULTS = 50_000


class TrackingService:
    """Use cases of experiment tracking over a :class:`MetadataStore`."""

    def __init__(self, store: MetadataStore, *, max_batch_points: int = 100_000) -> None:
        self.store = store
        self.max_batch_points = max_batch_points

    # experiments -------------------------------------------------------------------------------
    def create_experiment(
        self, who: Principal, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> Experiment:
        check_name(name)
        tags = check_tags(tags or {})
        with self.store.transaction(write=True) as tx:
            exp_id = tx.insert_experiment(name, description, tags, now_ms())
            tx.append_audit(AuditEvent(who.name, "experiment.create", "experiment", exp_id, {"name": name}))
            return tx.get_experiment(exp_id)

    def get_experiment(self, who: Principal, experiment_id: str) -> Experiment:
        with self.store.transaction(write=False) as tx:
            return tx.get_experiment(experiment_id)

    def get_experiment_by_name(self, who: Principal, name: str) -> Experiment:
        with self.store.transaction(write=False) as tx:
            exp = tx.get_experiment_by_name(name)
        if exp is None:
            raise NotFound(f"no experiment named {name!r}", field="name")
        return exp

    def get_or_create_experiment(self, who: Principal, name: str) -> Experiment:
        with self.store.transaction(write=False) as tx:
            exp = tx.get_experiment_by_name(name)
        if exp is not None:
            return exp
        try:
            return self.create_experiment(who, name)
        except AlreadyExists:  # lost a race with another creator: read what it made
            return self.get_experiment_by_name(who, name)

    def list_experiments(self, who: Principal) -> list[Experiment]:
        """Every experiment, deleted ones included (see ``Experiment.lifecycle``)."""
        with self.store.transaction(write=False) as tx:
            return tx.list_experiments()

    def update_experiment(
        self, who: Principal, experiment_id: str, *, name: str | None = None, description: str | None = None
    ) -> Experiment:
        fields: dict[str, object] = {}
        if name is not None:
            fields["name"] = check_name(name)
        if description is not None:
            fields["description"] = description
        with self.store.transaction(write=True) as tx:
            if fields:
                tx.update_experiment(experiment_id, **fields)
                tx.append_audit(AuditEvent(who.name, "experiment.update", "experiment", experiment_id, fields))
            return tx.get_experiment(experiment_id)

    def set_experiment_lifecycle(self, who: Principal, experiment_id: str, lifecycle: str) -> Experiment:
        """Delete (``"deleted"``) or restore (``"active"``) an experiment with all its runs. Nothing
        is erased: a deleted experiment keeps its name and can be restored."""
        if lifecycle not in ("active", "deleted"):
            raise InvalidArgument("lifecycle must be 'active' or 'deleted'", field="lifecycle")
        with self.store.transaction(write=True) as tx:
            tx.set_experiment_lifecycle(experiment_id, lifecycle)
            action = "experiment.delete" if lifecycle == "deleted" else "experiment.restore"
            tx.append_audit(AuditEvent(who.name, action, "experiment", experiment_id, {}))
            return tx.get_experiment(experiment_id)

    def set_experiment_tags(self, who: Principal, experiment_id: str, tags: Mapping[str, str]) -> None:
        checked = check_tags(tags)
        with self.store.transaction(write=True) as tx:
            tx.get_experiment(experiment_id)
            tx.set_experiment_tags(experiment_id, checked)
            tx.append_audit(
                AuditEvent(who.name, "experiment.tag", "experiment", experiment_id, {"set": sorted(checked)})
            )

    def delete_experiment_tag(self, who: Principal, experiment_id: str, key: str) -> None:
        check_key(key, "key")
        with self.store.transaction(write=True) as tx:
            tx.get_experiment(experiment_id)
            if not tx.delete_experiment_tag(experiment_id, key):
                raise NotFound(f"experiment {experiment_id} has no tag {key!r}", field="key")
            tx.append_audit(AuditEvent(who.name, "experiment.tag", "experiment", experiment_id, {"deleted": [key]}))

    # runs --------------------------------------------------------------------------------------
    def create_run(
        self,
        who: Principal,
        experiment_id: str,
        *,
        name: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        start_time: int | None = None,
        description: str = "",
    ) -> Run:
        run_id = uuid.uuid4().hex
        name = check_name(name, "name") if name is not None else f"run-{run_id[:8]}"
        tags = check_tags(tags or {})
        if start_time is not None:
            check_timestamp(start_time, "start_time")
        run = Run(
            id=run_id,
            experiment_id=experiment_id,
            name=name,
            status=RunStatus.RUNNING,
            start_time=start_time or now_ms(),
            parent_run_id=parent_run_id,
            description=description,
            created_by=who.name,
            tags=tags,
        )
        with self.store.transaction(write=True) as tx:
            tx.get_experiment(experiment_id)
            if parent_run_id is not None:
                try:
                    tx.run_status(parent_run_id)
                except NotFound:
                    raise NotFound(f"no parent run with id {parent_run_id!r}", field="parent_run_id") from None
            tx.insert_run(run)
            tx.append_audit(
                AuditEvent(who.name, "run.create", "run", run_id, {"experiment_id": experiment_id, "name": name})
            )
            return tx.get_run(run_id)

    def get_run(self, who: Principal, run_id: str, *, with_data: bool = True) -> Run:
        """A run; ``with_data=False`` skips its params, metrics and tags (one row read)."""
        with self.store.transaction(write=False) as tx:
            return tx.get_run(run_id, with_data=with_data)

    def update_run(
        self,
        who: Principal,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        name: str | None = None,
        description: str | None = None,
        allow_finished: bool = False,
    ) -> Run:
        """Change a run's status, end time, name or description. A terminal status is final unless
        ``allow_finished`` (MLflow clients may move a run between terminal states; the audit log
        keeps every change either way)."""
        fields: dict[str, object] = {}
        if name is not None:
            fields["name"] = check_name(name)
        if description is not None:
            fields["description"] = description
        if end_time is not None:
            check_timestamp(end_time, "end_time")
        with self.store.transaction(write=True) as tx:
            current = tx.run_status(run_id)
            if status is not None:
                if not allow_finished:
                    check_transition(current, status, run_id)
                fields["status"] = status
                if not status.is_terminal:
                    fields["end_time"] = None
                elif status is not current or end_time is not None:
                    fields["end_time"] = end_time or now_ms()
            elif end_time is not None:
                fields["end_time"] = end_time
            if fields:
                tx.update_run(run_id, **fields)
                details = {k: (str(v) if isinstance(v, RunStatus) else v) for k, v in fields.items()}
                tx.append_audit(AuditEvent(who.name, "run.update", "run", run_id, details))
            return tx.get_run(run_id)

    def set_run_lifecycle(self, who: Principal, run_id: str, lifecycle: str) -> None:
        """Delete (``"deleted"``) or restore (``"active"``) a run. A deleted run keeps everything
        it logged, is hidden from searches by default and takes no more logging."""
        if lifecycle not in ("active", "deleted"):
            raise InvalidArgument("lifecycle must be 'active' or 'deleted'", field="lifecycle")
        with self.store.transaction(write=True) as tx:
            tx.set_run_lifecycle(run_id, lifecycle)
            action = "run.delete" if lifecycle == "deleted" else "run.restore"
            tx.append_audit(AuditEvent(who.name, action, "run", run_id, {}))

    def delete_tag(self, who: Principal, run_id: str, key: str) -> None:
        check_key(key, "key")
        with self.store.transaction(write=True) as tx:
            tx.run_status(run_id)
            if not tx.delete_tag(run_id, key):
                raise NotFound(f"run {run_id} has no tag {key!r}", field="key")
            tx.append_audit(AuditEvent(who.name, "run.log", "run", run_id, {"deleted_tags": [key]}))

    # logging -----------------------------------------------------------------------------------
    def log_batch(
        self,
        who: Principal,
        run_id: str,
        *,
        metrics: Sequence[Metric] | MetricBatch = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
        allow_finished: bool = False,
    ) -> None:
        """Log metrics, params and tags in one transaction: all of them are stored, or none.
        Metrics and params go only to a RUNNING run unless ``allow_finished`` (MLflow clients log
        to finished runs; such late writes are marked ``late`` in the audit log)."""
        if not isinstance(metrics, MetricBatch):
            metrics = MetricBatch.of(metrics)
        if len(metrics) > self.max_batch_points:
            raise PayloadTooLarge(
                f"{len(metrics)} metric points in one call; at most {self.max_batch_points}. Split the batch.",
                field="metrics",
            )
        metrics.validate()
        checked_params = check_params(params or {})
        checked_tags = check_tags(tags or {})
        if not (metrics or checked_params or checked_tags):
            return
        with self.store.transaction(write=True) as tx:
            status = tx.run_status(run_id)
            if status.is_terminal and (metrics or checked_params) and not allow_finished:
                raise Conflict(
                    f"run {run_id} is {status.value}; metrics and params can only be logged to a RUNNING run",
                    field="run_id",
                )
            if checked_params:
                tx.insert_params(run_id, checked_params)
            if checked_tags:
                tx.upsert_tags(run_id, checked_tags)
            tx.insert_metrics(run_id, metrics)
            details: dict[str, object] = {"metrics": len(metrics)}
            if status.is_terminal:
                details["late"] = True
            if checked_params:
                details["params"] = sorted(checked_params)
            if checked_tags:
                details["tags"] = sorted(checked_tags)
            tx.append_audit(AuditEvent(who.name, "run.log", "run", run_id, details))

    # reading -----------------------------------------------------------------------------------
    def metric_history(
        self, who: Principal, run_id: str, key: str, *, offset: int = 0, limit: int | None = None
    ) -> MetricHistory:
        """The metric's points in step order; ``offset``/``limit`` give one window of them."""
        check_key(key, "key")
        if offset < 0 or (limit is not None and limit < 1):
            raise InvalidArgument("offset must be >= 0 and limit >= 1", field="limit")
        with self.store.transaction(write=False) as tx:
            return tx.metric_history(run_id, key, offset, limit)

    def search_runs(
        self,
        who: Principal,
        *,
        experiment_ids: Sequence[str] = (),
        filter: str | None = None,
        order_by: Sequence[str] = (),
        max_results: int = 100,
        page_token: str | None = None,
        lifecycle: str = "active",
    ) -> Page[Run]:
        """Runs matching ``filter`` (see :mod:`shipyard.domain.filters`), best first by ``order_by``."""
        if (
            isinstance(max_results, bool)
            or not isinstance(max_results, int)
            or not 1 <= max_results <= MAX_SEARCH_RESULTS
        ):
            raise InvalidArgument(f"max_results must be between 1 and {MAX_SEARCH_RESULTS}", field="max_results")
        if lifecycle not in ("active", "deleted", "all"):
            raise InvalidArgument("lifecycle must be 'active', 'deleted' or 'all'", field="lifecycle")
        expr = parse_filter(filter)
        ordering = parse_order_by(list(order_by))
        shape = (sorted(experiment_ids), filter or "", list(order_by), lifecycle)
        query_key = hashlib.sha256(repr(shape).encode()).hexdigest()[:16]
        offset = decode_page_token(page_token, query_key)
        with self.store.transaction(write=False) as tx:
            for exp_id in experiment_ids:
                tx.get_experiment(exp_id)
            runs, more = tx.search_runs(RunSearch(list(experiment_ids), expr, ordering, offset, max_results, lifecycle))
        token = encode_page_token(offset + len(runs), query_key) if more else None
        return Page(runs, token)

    def audit_trail(
        self, who: Principal, target_type: str | None = None, target_id: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        with self.store.transaction(write=False) as tx:
            return tx.audit_events(target_type, target_id, limit)
