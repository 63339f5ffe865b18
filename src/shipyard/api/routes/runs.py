"""/api/v1/runs: create, read, update, log, search, metric history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from shipyard.api.deps import Executor, FastJSON, executor, in_thread, parse_json, principal, services
from shipyard.domain.principals import Principal
from shipyard.domain.tracking import MetricBatch, now_ms
from shipyard.errors import InvalidArgument
from shipyard.schemas import (
    CreateRunIn,
    LogBatchIn,
    MetricHistoryOut,
    RunOut,
    RunPageOut,
    SearchRunsIn,
    UpdateRunIn,
    history_to_wire,
    metric_columns_from_wire,
    metrics_from_wire,
    run_page_to_wire,
    run_to_wire,
)
from shipyard.services import Services

router = APIRouter(prefix="/runs", tags=["runs"])


@router.post("", status_code=201, response_model=RunOut, response_class=FastJSON)
async def create_run(
    body: CreateRunIn,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    def work() -> dict[str, Any]:
        if body.experiment_id is not None:
            exp_id = body.experiment_id
        elif body.experiment_name is not None:
            exp_id = svc.tracking.get_or_create_experiment(who, body.experiment_name).id
        else:
            raise InvalidArgument("give experiment_id or experiment_name", field="experiment_id")
        run = svc.tracking.create_run(
            who,
            exp_id,
            name=body.name,
            parent_run_id=body.parent_run_id,
            tags=body.tags,
            start_time=body.start_time,
            description=body.description,
        )
        return run_to_wire(run)

    return FastJSON(await in_thread(pool, work), status_code=201)


@router.post("/search", response_model=RunPageOut, response_class=FastJSON)
async def search_runs(
    body: SearchRunsIn,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """Runs matching a filter, ordered, one page at a time."""

    def work() -> dict[str, Any]:
        page = svc.tracking.search_runs(
            who,
            experiment_ids=body.experiment_ids,
            filter=body.filter,
            order_by=body.order_by,
            max_results=body.max_results,
            page_token=body.page_token,
        )
        return run_page_to_wire(page)

    return FastJSON(await in_thread(pool, work))


@router.get("/{run_id}", response_model=RunOut, response_class=FastJSON)
async def get_run(
    run_id: str,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    run = await in_thread(pool, svc.tracking.get_run, who, run_id)
    return FastJSON(run_to_wire(run))


@router.patch("/{run_id}", response_model=RunOut, response_class=FastJSON)
async def update_run(
    run_id: str,
    body: UpdateRunIn,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """End a run (``status``), rename it or describe it."""
    run = await in_thread(
        pool,
        lambda: svc.tracking.update_run(
            who,
            run_id,
            status=body.status,
            end_time=body.end_time,
            name=body.name,
            description=body.description,
        ),
    )
    return FastJSON(run_to_wire(run))


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` substituted in place, so it stands alone inside the
    OpenAPI document (a ``#/$defs/...`` reference would point at the document's root)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


_LOG_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inlined(LogBatchIn.model_json_schema())}},
    }
}


@router.post("/{run_id}/log", status_code=204, openapi_extra=_LOG_BODY)
async def log_batch(
    run_id: str,
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> Response:
    """Metrics, params and tags in one transaction (all or nothing). Metric points come as a list
    of objects (``metrics``) or as parallel arrays (``metric_columns``); non-finite values as
    ``"NaN"``, ``"Infinity"``, ``"-Infinity"``. Served by :mod:`shipyard.api.fastpath` in a
    running hub; this route documents it and serves apps mounted without the fast path."""
    await log_body(svc, who, run_id, await request.body(), pool)
    return Response(status_code=204)


async def log_body(svc: Services, who: Principal, run_id: str, raw: bytes, pool: Executor) -> None:
    """Decode a log request body with orjson and hand it to the service (which validates every
    point) on the DB executor; no per-point model on the way."""
    metrics, params, tags = parse_log_body(raw)
    await in_thread(pool, lambda: svc.tracking.log_batch(who, run_id, metrics=metrics, params=params, tags=tags))


def parse_log_body(raw: bytes) -> tuple[MetricBatch, dict[str, object], dict[str, str]]:
    body = parse_json(raw)
    if body.__class__ is not dict:
        raise InvalidArgument("the body must be an object with metrics, params and tags", field="body")
    unknown = set(body) - {"metrics", "metric_columns", "params", "tags"}
    if unknown:
        raise InvalidArgument(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    now = now_ms()
    metrics = metrics_from_wire(body.get("metrics", []), now)
    if body.get("metric_columns"):
        columns = metric_columns_from_wire(body["metric_columns"], now)
        metrics = columns + metrics if metrics else columns
    params = body.get("params") or {}
    tags = body.get("tags") or {}
    for name, value in (("params", params), ("tags", tags)):
        if value.__class__ is not dict:
            raise InvalidArgument(f"{name} must be an object of key: value", field=name)
    return metrics, params, tags


@router.get("/{run_id}/metric-history", response_model=MetricHistoryOut, response_class=FastJSON)
async def metric_history(
    run_id: str,
    key: str = Query(description="Metric key."),
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """Every point of one metric, as columns ordered by step."""
    return FastJSON(await in_thread(pool, lambda: history_to_wire(svc.tracking.metric_history(who, run_id, key))))
