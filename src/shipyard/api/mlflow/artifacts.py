"""MLflow's proxied artifact API (``mlflow-artifacts:/`` URIs) over run artifacts.

Every artifact URI the hub gives MLflow clients has the form ``EXPERIMENT/RUN/artifacts/PATH``
(runs and the logged models they hold); uploads stream into the run's content-addressed artifact
tree exactly as Shipyard's own uploads do, downloads stream out of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from shipyard.api.deps import Executor, in_thread
from shipyard.api.mlflow import wire
from shipyard.api.mlflow.protocol import Ctx, Fields, MlflowError, json_response
from shipyard.api.streaming import COALESCE, stream_body
from shipyard.domain.artifacts import ArtifactEntry
from shipyard.domain.principals import Principal
from shipyard.errors import NotFound
from shipyard.services import Services

__all__ = ["children", "download", "list_run_artifacts", "listing", "split", "upload"]


def split(path: str) -> tuple[str, str, str]:
    """``EXPERIMENT/RUN/artifacts/PATH`` -> (experiment, run, PATH)."""
    parts = path.strip("/").split("/", 3)
    if len(parts) < 3 or parts[2] != "artifacts" or not parts[0] or not parts[1]:
        raise MlflowError(
            f"Artifact path {path!r} is not one this hub gave out (EXPERIMENT/RUN/artifacts/PATH).",
            "RESOURCE_DOES_NOT_EXIST",
            404,
        )
    return parts[0], parts[1], parts[3] if len(parts) > 3 else ""


def children(entries: list[ArtifactEntry], folder: str) -> list[dict[str, Any]]:
    """The files and folders directly inside ``folder`` (paths relative to it)."""
    base = folder.strip("/")
    cut = len(base) + 1 if base else 0
    files: list[dict[str, Any]] = []
    dirs: set[str] = set()
    for e in entries:
        rest = e.path[cut:]
        head, sep, _ = rest.partition("/")
        if sep:
            dirs.add(head)
        else:
            files.append({"path": head, "is_dir": False, "file_size": e.size})
    listing = files + [{"path": d, "is_dir": True} for d in dirs]
    return sorted(listing, key=lambda x: x["path"])


async def upload(svc: Services, who: Principal, pool: Executor, path: str, request: Request) -> Response:
    _, run_id, rel = split(path)
    if not rel:
        raise MlflowError("An artifact upload needs a file path under the run's artifacts.")
    pending = await in_thread(pool, svc.artifacts.begin_upload, who, run_id, rel)
    await stream_body(request, pool, pending.write, pending.abort)
    await in_thread(pool, pending.commit)
    return json_response({})


async def download(svc: Services, who: Principal, pool: Executor, path: str) -> Response:
    _, run_id, rel = split(path)
    entry, chunks = await in_thread(pool, lambda: svc.artifacts.read(who, run_id, rel, chunk_size=COALESCE))

    def body() -> Iterator[bytes]:
        yield from chunks

    name = rel.rsplit("/", 1)[-1]
    headers = {"content-length": str(entry.size), "content-disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(body(), media_type="application/octet-stream", headers=headers)


def listing(c: Ctx, f: Fields) -> Any:
    """``GET /mlflow-artifacts/artifacts?path=...``: the folder's files and folders."""
    path = f.text("path")
    try:
        _, run_id, rel = split(path)
    except MlflowError:
        return {"files": []}  # an experiment's root: its runs' files are listed under each run
    try:
        entries = c.svc.artifacts.list(c.who, run_id, rel or None)
    except NotFound:
        return {"files": []}
    return {"files": children(entries, rel)}


def list_run_artifacts(c: Ctx, f: Fields) -> Any:
    """``/mlflow/artifacts/list``: paths relative to the run's artifact root."""
    run_id = f.text("run_id") or f.text("run_uuid", required=True)
    run = c.svc.tracking.get_run(c.who, run_id, with_data=False)
    rel = f.text("path").strip("/")
    entries = c.svc.artifacts.list(c.who, run_id, rel or None)
    files = [{**item, "path": f"{rel}/{item['path']}" if rel else item["path"]} for item in children(entries, rel)]
    return {"root_uri": wire.run_artifact_uri(run.experiment_id, run.id), "files": files}


ROUTES: dict[tuple[str, str], Callable[[Ctx, Fields], Any]] = {
    ("GET", "artifacts/list"): list_run_artifacts
}  # the tracking API's listing (unproxied)
PROXY_ROUTES: dict[tuple[str, str], Callable[[Ctx, Fields], Any]] = {
    ("GET", "artifacts"): listing
}  # the proxied API's listing
