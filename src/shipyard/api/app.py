"""The hub application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from starlette.responses import JSONResponse

from shipyard.api.errors import install_error_handlers
from shipyard.api.fastpath import LogFastPath
from shipyard.api.mlflow.app import MlflowApi
from shipyard.api.routes import artifacts, datasets, experiments, index, models, monitors, runs
from shipyard.config import Settings
from shipyard.domain.principals import Principal
from shipyard.schemas import API_PREFIX
from shipyard.services import Services, build_services

__all__ = ["create_app"]

log = logging.getLogger("shipyard.api")


def _version() -> str:
    try:
        return version("shipyard")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"


async def _run_monitors(svc: Services, pool: ThreadPoolExecutor) -> None:
    """The hub's monitor schedule: every ``monitor_interval`` seconds, run the monitors that are
    due. Each is claimed in the database first, so hubs sharing one never run it twice."""
    who = Principal("shipyard-scheduler", "service")
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(svc.settings.monitor_interval)
        try:
            await loop.run_in_executor(pool, svc.monitoring.run_due, who)
        except Exception:  # a bad monitor or a database hiccup must not end the schedule
            log.exception("the monitor schedule failed; it carries on")


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """Build the hub over ``services`` (or services built from ``settings``).

    Example:
        >>> app = create_app(Settings(home="/tmp/sy-doc"))  # doctest: +SKIP
        >>> import uvicorn; uvicorn.run(app)                 # doctest: +SKIP
    """
    svc = services or build_services(settings or Settings.load())
    pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="shipyard-hub")  # blocking service work

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        scheduler = asyncio.create_task(_run_monitors(svc, pool)) if svc.settings.monitor_interval > 0 else None
        yield
        if scheduler is not None:
            scheduler.cancel()
            await asyncio.gather(scheduler, return_exceptions=True)
        pool.shutdown(wait=True)
        if services is None:
            svc.close()

    app = FastAPI(
        title="Shipyard hub",
        version=_version(),
        description="Track, reproduce, register, serve and monitor ML models. Errors are "
        '`{"error": {"code", "message", "field"}}` with a 4xx status for bad input.',
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = svc
    app.state.executor = pool
    install_error_handlers(app)
    app.add_middleware(LogFastPath, services=svc, pool=pool)  # the logging hot path, before routing
    app.add_middleware(MlflowApi, services=svc, pool=pool)  # MLflow's REST API, its own protocol
    for module in (experiments, runs, artifacts, datasets, models, monitors):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(index.router)

    @app.get("/health", tags=["health"])
    async def health() -> JSONResponse:
        """Liveness and the database the hub is using."""
        return JSONResponse({"status": "ok", "version": _version()})

    return app
