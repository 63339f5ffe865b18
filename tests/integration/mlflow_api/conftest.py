"""Fixtures of the MLflow API tests (helpers in mlflow_support.py): one server per module, the
mlflow client's global state pointed at it and put back after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from mlflow_support import mlflow_api_server, mlflow_pointed_at, unique

if TYPE_CHECKING:
    from mlflow import MlflowClient


# fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_api_server(tmp_path_factory.mktemp("mlflow-api")) as url:
        yield url


@pytest.fixture(autouse=True)
def _mlflow_state(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mlflow_pointed_at(server_url, monkeypatch):
        yield


@pytest.fixture
def client(server_url: str) -> MlflowClient:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=server_url, registry_uri=server_url)


@pytest.fixture
def experiment_id(client: MlflowClient) -> str:
    return str(client.create_experiment(unique("exp")))
