"""/api/v1/runs/{run_id}/artifacts: streamed upload and download, listing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import StreamingResponse

from shipyard.api.deps import Executor, FastJSON, executor, in_thread, principal, services
from shipyard.domain.principals import Principal
from shipyard.schemas import ArtifactOut, artifact_to_wire
from shipyard.services import Services
from shipyard.stores.artifacts import CHUNK_SIZE

router = APIRouter(prefix="/runs/{run_id}/artifacts", tags=["artifacts"])

DIGEST_HEADER = "x-shipyard-digest"
VERIFY_HEADER = "x-shipyard-verify"
_COALESCE = 4 * CHUNK_SIZE  # hand the writer thread large pieces: fewer thread hops per byte


@router.put(
    "/{path:path}",
    status_code=201,
    response_model=ArtifactOut,
    response_class=FastJSON,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_artifact(
    run_id: str,
    path: str,
    request: Request,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """Stream the body into the run's artifact tree at ``path``. The body never sits in memory
    whole: it is hashed and written as it arrives."""
    pending = await in_thread(pool, svc.artifacts.begin_upload, who, run_id, path)
    in_flight: asyncio.Future[None] | None = None  # one write runs while the next piece arrives
    try:
        parts: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            parts.append(chunk)
            size += len(chunk)
            if size >= _COALESCE:
                piece = b"".join(parts)
                parts.clear()
                size = 0
                if in_flight is not None:
                    await in_flight
                in_flight = in_thread(pool, pending.write, piece)
        if in_flight is not None:
            await in_flight
        if parts:
            await in_thread(pool, pending.write, b"".join(parts))
    except BaseException:
        if in_flight is not None:
            await asyncio.gather(in_flight, return_exceptions=True)
        await in_thread(pool, pending.abort)
        raise
    entry = await in_thread(pool, pending.commit)
    return FastJSON(artifact_to_wire(entry), status_code=201)


@router.get("", response_class=FastJSON)
async def list_artifacts(
    run_id: str,
    prefix: str | None = Query(default=None, description="Only paths under this folder."),
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """``{"artifacts": [{path, digest, size, created_at}, ...]}``"""
    entries = await in_thread(pool, svc.artifacts.list, who, run_id, prefix)
    return FastJSON({"artifacts": [artifact_to_wire(e) for e in entries]})


@router.get("/{path:path}", response_class=StreamingResponse)
async def download_artifact(
    run_id: str,
    path: str,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
    verify: str | None = Header(
        default=None,
        alias=VERIFY_HEADER,
        description="'client' when the client checks the digest header itself (the SDK does); "
        "then the hub does not hash the bytes a second time.",
    ),
) -> StreamingResponse:
    """The file's bytes, with their sha256 in the digest header and the ETag. Unless the client
    verifies (``x-shipyard-verify: client``), the hub verifies while streaming and cuts the
    connection if the stored bytes are corrupt, so a corrupt file never arrives whole."""
    entry, chunks = await in_thread(
        pool, lambda: svc.artifacts.read(who, run_id, path, verify=verify != "client", chunk_size=_COALESCE)
    )

    def body() -> Iterator[bytes]:
        yield from chunks

    headers = {
        DIGEST_HEADER: entry.digest,
        "content-length": str(entry.size),
        "etag": f'"{entry.digest}"',
        "content-disposition": f'attachment; filename="{path.rsplit("/", 1)[-1]}"',
    }
    return StreamingResponse(body(), media_type="application/octet-stream", headers=headers)
