"""Shared by the MLflow API tests: a server speaking MLflow's REST API (a Shipyard hub, or in
oracle mode a real ``mlflow server``), the mlflow client pointed at it, and small helpers.

Every test here (except the ones marked Shipyard-only) must also pass against a real
``mlflow server``: run with ``SHIPYARD_MLFLOW_ORACLE=1`` to check that the tests encode MLflow's
behaviour, not our guesses. ``SHIPYARD_MLFLOW_URL=http://...`` runs them against a server that is
already running instead (handy to watch a hub's log while debugging).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shipyard.testing import HubProcess, free_port, wait_http

if TYPE_CHECKING:
    pass

ORACLE = os.environ.get("SHIPYARD_MLFLOW_ORACLE") == "1"
EXTERNAL_URL = os.environ.get("SHIPYARD_MLFLOW_URL")
shipyard_only = pytest.mark.skipif(ORACLE or bool(EXTERNAL_URL), reason="checks Shipyard's own API")


# shared with the other test_mlflow_*.py modules ---------------------------------------------------
@contextmanager
def mlflow_api_server(tmp: Path) -> Iterator[str]:
    """The base URL of a server speaking MLflow's REST API: a Shipyard hub, or (oracle mode) a
    real ``mlflow server`` over SQLite with proxied artifacts."""
    if EXTERNAL_URL:
        yield EXTERNAL_URL.rstrip("/")
    elif not ORACLE:
        with HubProcess(tmp / "hub") as hub:
            yield hub.url
    else:
        with _mlflow_server(tmp) as url:
            yield url


@contextmanager
def _mlflow_server(tmp: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    command = [
        *(sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "1", "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}"),
        *("--artifacts-destination", str(tmp / "artifacts")),
    ]
    with open(tmp / "mlflow-server.log", "ab") as log:
        proc = subprocess.Popen(command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=120, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@contextmanager
def mlflow_pointed_at(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point mlflow's global state at ``url`` for one test and put everything back afterwards."""
    import mlflow
    from mlflow.tracking import _model_registry, _tracking_service, fluent

    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    saved = (_tracking_service.utils._tracking_uri, _model_registry.utils._registry_uri, fluent._active_experiment_id)
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    try:
        yield
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        _tracking_service.utils._tracking_uri, _model_registry.utils._registry_uri = saved[:2]
        fluent._active_experiment_id = saved[2]


def unique(prefix: str) -> str:
    """A name no other test on the shared server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error_code(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    code: str = excinfo.value.error_code  # type: ignore[attr-defined]
    return code
