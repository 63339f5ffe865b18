"""/api/v1/runs/{run_id}/artifacts: streamed upload and download, listing."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import StreamingResponse

from shipyard.api.deps import Executor, FastJSON, executor, in_thread, principal, services
from shipyard.api.streaming import COALESCE, OCTET_STREAM_BODY, stream_body
from shipyard.domain.principals import Principal
from shipyard.schemas import ArtifactOut, artifact_to_wire
from shipyard.services import Services

router = APIRouter(prefix="/runs/{run_id}/artifacts", tags=["artifacts"])

DIGEST_HEADER = "x-shipyard-digest"
VERIFY_HEADER = "x-shipyard-verify"


@router.put(
    "/{path:path}",
    status_code=201,
    response_model=ArtifactOut,
    response_class=FastJSON,
    openapi_extra=OCTET_STREAM_BODY,
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
    await stream_body(request, pool, pending.write, pending.abort)
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
        pool, lambda: svc.artifacts.read(who, run_id, path, verify=verify != "client", chunk_size=COALESCE)
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
