"""Monitoring: /monitors (create, list, run, results, reports, alert rules, alerts) and
/models/{name}/labels (delayed ground truth)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from shipyard.api.deps import Executor, FastJSON, executor, in_thread, principal, services
from shipyard.domain.principals import Principal
from shipyard.schemas import (
    AlertRuleIn,
    LabelsIn,
    MonitorIn,
    alert_rule_to_wire,
    alert_to_wire,
    monitor_to_wire,
    result_to_wire,
)
from shipyard.services import Services

router = APIRouter(tags=["monitoring"])

Svc = Depends(services)
Who = Depends(principal)
Pool = Depends(executor)


@router.post("/monitors", status_code=201, response_class=FastJSON)
async def create_monitor(body: MonitorIn, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> FastJSON:
    m = await in_thread(pool, svc.monitoring.create, who, body.to_domain())
    return FastJSON(monitor_to_wire(m), status_code=201)


@router.get("/monitors", response_class=FastJSON)
async def list_monitors(svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> FastJSON:
    return FastJSON(
        {"monitors": [monitor_to_wire(m) for m in await in_thread(pool, svc.monitoring.list_monitors, who)]}
    )


@router.get("/monitors/{ref}", response_class=FastJSON)
async def get_monitor(ref: str, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> FastJSON:
    """A monitor by id or name, with its alert rules."""
    m = await in_thread(pool, svc.monitoring.get, who, ref)
    rules = await in_thread(pool, svc.monitoring.alert_rules, who, ref)
    return FastJSON({**monitor_to_wire(m), "alert_rules": [alert_rule_to_wire(r) for r in rules]})


@router.delete("/monitors/{ref}", status_code=204)
async def delete_monitor(ref: str, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> Response:
    await in_thread(pool, svc.monitoring.delete, who, ref)
    return Response(status_code=204)


@router.post("/monitors/{ref}/run", status_code=201, response_class=FastJSON)
async def run_monitor(ref: str, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> FastJSON:
    """Compute the monitor's window now; the result, with its alerts fired."""
    result = await in_thread(pool, svc.monitoring.run, who, ref)
    return FastJSON(result_to_wire(result), status_code=201)


@router.get("/monitors/{ref}/results", response_class=FastJSON)
async def list_results(
    ref: str, limit: int = Query(default=20, ge=1, le=1000), svc: Services = Svc, who: Principal = Who,
    pool: Executor = Pool,
) -> FastJSON:  # fmt: skip
    results = await in_thread(pool, svc.monitoring.results, who, ref, limit)
    return FastJSON({"results": [result_to_wire(r) for r in results]})


@router.get("/monitor-results/{result_id}", response_class=FastJSON)
async def get_result(result_id: str, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> FastJSON:
    """The full result: window, per-feature tests and distributions, quality, performance, alerts."""
    return FastJSON(await in_thread(pool, svc.monitoring.result_body, who, result_id))


@router.get("/monitor-results/{result_id}/report", response_class=Response)
async def get_report(result_id: str, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> Response:
    """The self-contained HTML report (no external resources)."""
    html = await in_thread(pool, svc.monitoring.result_report, who, result_id)
    return Response(html, media_type="text/html; charset=utf-8")


@router.post("/monitors/{ref}/alert-rules", status_code=201, response_class=FastJSON)
async def add_alert_rule(
    ref: str, body: AlertRuleIn, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool
) -> FastJSON:
    rule = await in_thread(pool, svc.monitoring.add_alert_rule, who, ref, body.to_domain())
    return FastJSON(alert_rule_to_wire(rule), status_code=201)


@router.get("/monitors/{ref}/alerts", response_class=FastJSON)
async def list_alerts(
    ref: str, limit: int = Query(default=50, ge=1, le=1000), svc: Services = Svc, who: Principal = Who,
    pool: Executor = Pool,
) -> FastJSON:  # fmt: skip
    alerts = await in_thread(pool, svc.monitoring.alerts, who, ref, limit)
    return FastJSON({"alerts": [alert_to_wire(a) for a in alerts]})


@router.post("/models/{name}/labels", response_class=FastJSON)
async def post_labels(
    name: str, body: LabelsIn, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool
) -> FastJSON:
    """Delayed ground truth: ``{"labels": [{"request_id", "row", "value"}]}``."""
    count = await in_thread(pool, svc.monitoring.log_labels, who, name, body.to_domain(name))
    return FastJSON({"labels": count})
