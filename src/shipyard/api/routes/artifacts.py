"""/api/v1/runs/{run_id}/artifacts: streamed upload and download, listing."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from shipyard.api.deps import FastJSON, principal, services
from shipyard.domain.principals import Principal
from shipyard.schemas import ArtifactOut, artifact_to_wire
from shipyard.services import Services
from shipyard.stores.artifacts import CHUNK_SIZE

router = APIRouter(prefix="/runs/{run_id}/artifacts", tags=["artifacts"])

DIGEST_HEADER = "x-shipyard-digest"
_COALESCE = 4 * CHUNK_SIZE  # hand the writer thread large pieces: fewer thread hops per byte


@router.put(
    "/{path:path}",
    status_code=201,
    response_model=ArtifactOut,
    response_class=FastJSON,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
async def upload_artifact(
    run_id: str, path: str, request: Request, svc: Services = Depends(services), who: Principal = Depends(principal)
) -> FastJSON:
    """Stream the body into the run's artifact tree at ``path``. The body never sits in memory
    whole: it is hashed and written as it arrives."""
    pending = await run_in_threadpool(svc.artifacts.begin_upload, who, run_id, path)
    try:
        buf = bytearray()
        async for chunk in request.stream():
            buf += chunk
            if len(buf) >= _COALESCE:
                await run_in_threadpool(pending.write, bytes(buf))
                buf.clear()
        if buf:
            await run_in_threadpool(pending.write, bytes(buf))
    except BaseException:
        await run_in_threadpool(pending.abort)
        raise
    entry = await run_in_threadpool(pending.commit)
    return FastJSON(artifact_to_wire(entry), status_code=201)


@router.get("", response_class=FastJSON)
async def list_artifacts(
    run_id: str,
    prefix: str | None = Query(default=None, description="Only paths under this folder."),
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
) -> FastJSON:
    """``{"artifacts": [{path, digest, size, created_at}, ...]}``"""
    entries = await run_in_threadpool(svc.artifacts.list, who, run_id, prefix)
    return FastJSON({"artifacts": [artifact_to_wire(e) for e in entries]})


@router.get("/{path:path}", response_class=StreamingResponse)
async def download_artifact(
    run_id: str, path: str, svc: Services = Depends(services), who: Principal = Depends(principal)
) -> StreamingResponse:
    """The file's bytes. The digest header lets the client verify what it received; the hub also
    verifies while streaming and cuts the connection if the stored bytes are corrupt."""
    entry, chunks = await run_in_threadpool(svc.artifacts.read, who, run_id, path)

    def body() -> Iterator[bytes]:
        yield from chunks

    headers = {
        DIGEST_HEADER: entry.digest,
        "content-length": str(entry.size),
        "etag": f'"{entry.digest}"',
        "content-disposition": f"attachment; filename=\"{path.rsplit('/', 1)[-1]}\"",
    }
    return StreamingResponse(body(), media_type="application/octet-stream", headers=headers)
