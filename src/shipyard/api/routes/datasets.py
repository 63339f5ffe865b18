"""Datasets: content blobs (``/blobs``), run inputs (``/runs/{id}/datasets``), names
(``/datasets``) and versions with their runs (``/dataset-versions/{digest}``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import StreamingResponse

from shipyard.api.deps import Executor, FastJSON, executor, in_thread, principal, services
from shipyard.api.routes.artifacts import DIGEST_HEADER, VERIFY_HEADER
from shipyard.api.streaming import COALESCE, OCTET_STREAM_BODY, stream_body
from shipyard.domain.datasets import DatasetVersion
from shipyard.domain.principals import Principal
from shipyard.schemas import (
    LogDatasetIn,
    dataset_input_to_wire,
    dataset_summary_to_wire,
    dataset_version_to_wire,
)
from shipyard.services import Services

router = APIRouter(tags=["datasets"])


@router.post("/blobs", status_code=201, response_class=FastJSON, openapi_extra=OCTET_STREAM_BODY)
async def upload_blob(
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """Store the body as a content-addressed blob: ``{"digest", "size"}``. Content already stored
    is not stored twice."""
    writer = await in_thread(pool, svc.datasets.begin_blob, who)
    await stream_body(request, pool, writer.write, writer.abort)
    digest, size = await in_thread(pool, writer.commit)
    return FastJSON({"digest": digest, "size": size}, status_code=201)


@router.get("/blobs/{digest}", response_class=StreamingResponse)
async def download_blob(
    digest: str,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
    verify: str | None = Header(default=None, alias=VERIFY_HEADER, description="'client' if the client verifies."),
) -> StreamingResponse:
    """A blob's bytes, verified while streaming unless the client verifies the digest itself."""
    chunks = await in_thread(
        pool, lambda: svc.datasets.read_blob(who, digest, verify=verify != "client", chunk_size=COALESCE)
    )
    size = await in_thread(pool, svc.datasets.blob_size, who, digest)

    def body() -> Iterator[bytes]:
        yield from chunks

    headers = {DIGEST_HEADER: digest, "etag": f'"{digest}"', "content-length": str(size)}
    return StreamingResponse(body(), media_type="application/octet-stream", headers=headers)


@router.post("/runs/{run_id}/datasets", status_code=201, response_class=FastJSON)
async def log_dataset(
    run_id: str,
    body: LogDatasetIn,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """Record that the run used this dataset version (stored once per digest)."""
    d = body.dataset
    version = DatasetVersion(
        digest=d.digest,
        kind=d.kind,
        format=d.format,
        rows=d.rows,
        size=d.size,
        schema=tuple({"name": c.name, "type": c.type} for c in d.schema_),
        profile=d.profile,
        blob=d.blob,
        source=d.source,
    )
    inp = await in_thread(pool, svc.datasets.log_input, who, run_id, body.name, body.role, version)
    return FastJSON(dataset_input_to_wire(inp), status_code=201)


@router.get("/runs/{run_id}/datasets", response_class=FastJSON)
async def run_datasets(
    run_id: str,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """``{"datasets": [input, ...]}``: what the run used, with each version's facts."""
    inputs = await in_thread(pool, svc.datasets.run_inputs, who, run_id)
    return FastJSON({"datasets": [dataset_input_to_wire(i) for i in inputs]})


@router.get("/datasets", response_class=FastJSON)
async def list_datasets(
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """``{"datasets": [{name, versions, runs, latest_digest, last_logged_at}, ...]}``"""
    found = await in_thread(pool, svc.datasets.list_datasets, who)
    return FastJSON({"datasets": [dataset_summary_to_wire(s) for s in found]})


@router.get("/datasets/{name:path}", response_class=FastJSON)
async def dataset_history(
    name: str,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """Every time ``name`` was logged, oldest first, each with its version."""
    inputs = await in_thread(pool, svc.datasets.history, who, name)
    return FastJSON({"name": name, "inputs": [dataset_input_to_wire(i) for i in inputs]})


@router.get("/dataset-versions/{ref}", response_class=FastJSON)
async def dataset_version(
    ref: str,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """A version by digest (or unique prefix) and the runs that used it."""
    version, inputs = await in_thread(pool, svc.datasets.consumers, who, ref)
    body: dict[str, Any] = {"dataset": dataset_version_to_wire(version)}
    body["runs"] = [dataset_input_to_wire(i) for i in inputs]
    return FastJSON(body)
