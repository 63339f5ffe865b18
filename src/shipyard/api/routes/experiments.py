"""/api/v1/experiments"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from shipyard.api.deps import Executor, FastJSON, executor, in_thread, principal, services
from shipyard.domain.principals import Principal
from shipyard.schemas import CreateExperimentIn, ExperimentOut, experiment_to_wire
from shipyard.services import Services

router = APIRouter(prefix="/experiments", tags=["experiments"])


@router.post("", status_code=201, response_model=ExperimentOut, response_class=FastJSON)
async def create_experiment(
    body: CreateExperimentIn,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    exp = await in_thread(
        pool, svc.tracking.create_experiment, who, body.name, description=body.description, tags=body.tags
    )
    return FastJSON(experiment_to_wire(exp), status_code=201)


@router.get("", response_class=FastJSON)
async def list_experiments(
    name: str | None = Query(default=None, description="Only the experiment with this exact name."),
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    """``{"experiments": [...]}``; with ``name``, the one match (404 if there is none)."""
    if name is not None:
        exps = [await in_thread(pool, svc.tracking.get_experiment_by_name, who, name)]
    else:
        exps = await in_thread(pool, svc.tracking.list_experiments, who)
    return FastJSON({"experiments": [experiment_to_wire(e) for e in exps]})


@router.get("/{experiment_id}", response_model=ExperimentOut, response_class=FastJSON)
async def get_experiment(
    experiment_id: str,
    svc: Services = Depends(services),
    who: Principal = Depends(principal),
    pool: Executor = Depends(executor),
) -> FastJSON:
    exp = await in_thread(pool, svc.tracking.get_experiment, who, experiment_id)
    return FastJSON(experiment_to_wire(exp))
