"""The model registry: /models, their versions and aliases, reference resolution, run lineage."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from shipyard.api.deps import Executor, FastJSON, executor, in_thread, principal, services
from shipyard.domain.principals import Principal
from shipyard.schemas import (
    CreateModelIn,
    CreateModelVersionIn,
    SetAliasIn,
    UpdateModelIn,
    UpdateModelVersionIn,
    VariantIn,
    model_to_wire,
    model_version_to_wire,
)
from shipyard.services import Services

router = APIRouter(tags=["models"])

Svc = Depends(services)
Who = Depends(principal)
Pool = Depends(executor)


@router.post("/models", status_code=201, response_class=FastJSON)
async def create_model(
    body: CreateModelIn, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool
) -> FastJSON:
    model = await in_thread(
        pool, svc.registry.create_model, who, body.name, description=body.description, tags=body.tags
    )
    return FastJSON(model_to_wire(model), status_code=201)


@router.get("/models", response_class=FastJSON)
async def list_models(svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> FastJSON:
    """``{"models": [...]}`` with each model's aliases and latest version."""
    models = await in_thread(pool, svc.registry.list_models, who)
    return FastJSON({"models": [model_to_wire(m) for m in models]})


@router.get("/models/{name}", response_class=FastJSON)
async def get_model(name: str, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> FastJSON:
    return FastJSON(model_to_wire(await in_thread(pool, svc.registry.get_model, who, name)))


@router.patch("/models/{name}", response_class=FastJSON)
async def update_model(
    name: str, body: UpdateModelIn, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool
) -> FastJSON:
    model = await in_thread(pool, svc.registry.update_model, who, name, description=body.description, tags=body.tags)
    return FastJSON(model_to_wire(model))


@router.post("/models/{name}/versions", status_code=201, response_class=FastJSON)
async def create_version(
    name: str, body: CreateModelVersionIn, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool
) -> FastJSON:
    """A new version from the bundle at ``artifact_path`` of run ``run_id`` (checked file by file
    against its manifest)."""
    version = await in_thread(
        pool,
        svc.registry.create_version,
        who,
        name,
        body.run_id,
        body.artifact_path,
        description=body.description,
        tags=body.tags,
        create_model=body.create_model,
    )
    return FastJSON(model_version_to_wire(version), status_code=201)


@router.get("/models/{name}/versions", response_class=FastJSON)
async def list_versions(name: str, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> FastJSON:
    versions = await in_thread(pool, svc.registry.list_versions, who, name)
    return FastJSON({"versions": [model_version_to_wire(v) for v in versions]})


@router.get("/models/{name}/versions/{version}", response_class=FastJSON)
async def get_version(
    name: str, version: str, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool
) -> FastJSON:
    """One version by number, or ``latest``."""
    ref = f"{name}/{version}"
    return FastJSON(model_version_to_wire(await in_thread(pool, svc.registry.resolve, who, ref)))


@router.patch("/models/{name}/versions/{version}", response_class=FastJSON)
async def update_version(
    name: str,
    version: int,
    body: UpdateModelVersionIn,
    svc: Services = Svc,
    who: Principal = Who,
    pool: Executor = Pool,
) -> FastJSON:
    updated = await in_thread(
        pool, svc.registry.update_version, who, name, version, description=body.description, tags=body.tags
    )
    return FastJSON(model_version_to_wire(updated))


@router.put("/models/{name}/versions/{version}/variants/{variant}", response_class=FastJSON)
async def add_variant(
    name: str,
    version: int,
    variant: str,
    body: VariantIn,
    svc: Services = Svc,
    who: Principal = Who,
    pool: Executor = Pool,
) -> FastJSON:
    """Record another encoding of the version (``onnx``), stored as a bundle in a run."""
    updated = await in_thread(
        pool, svc.registry.add_variant, who, name, version, variant, body.run_id, body.artifact_path, body.facts
    )
    return FastJSON(model_version_to_wire(updated))


@router.put("/models/{name}/aliases/{alias}", response_class=FastJSON)
async def set_alias(
    name: str, alias: str, body: SetAliasIn, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool
) -> FastJSON:
    """Point ``alias`` at a version (atomically: readers see the old or the new version)."""
    version = await in_thread(pool, svc.registry.set_alias, who, name, alias, body.version)
    return FastJSON(model_version_to_wire(version))


@router.delete("/models/{name}/aliases/{alias}", status_code=204)
async def delete_alias(
    name: str, alias: str, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool
) -> Response:
    await in_thread(pool, svc.registry.delete_alias, who, name, alias)
    return Response(status_code=204)


@router.get("/model-versions/resolve", response_class=FastJSON)
async def resolve(
    ref: str = Query(description="models:/NAME/VERSION, models:/NAME@ALIAS or models:/NAME/latest"),
    svc: Services = Svc,
    who: Principal = Who,
    pool: Executor = Pool,
) -> FastJSON:
    return FastJSON(model_version_to_wire(await in_thread(pool, svc.registry.resolve, who, ref)))


@router.get("/runs/{run_id}/model-versions", response_class=FastJSON)
async def run_versions(run_id: str, svc: Services = Svc, who: Principal = Who, pool: Executor = Pool) -> FastJSON:
    """Model versions made from this run's bundles (lineage: run to model)."""
    versions = await in_thread(pool, svc.registry.versions_of_run, who, run_id)
    return FastJSON({"versions": [model_version_to_wire(v) for v in versions]})
