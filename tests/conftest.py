"""Shared fixtures: real SQLite files, a real PostgreSQL server, real hub processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.config import Settings
from shipyard.services import Services, build_services
from shipyard.testing import HubProcess, postgres_database


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's SHIPYARD_* settings or writes into the working directory."""
    for key in list(os.environ):
        if key.startswith("SHIPYARD_") and key != "SHIPYARD_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))


@pytest.fixture(autouse=True)
def _no_active_run_leaks() -> Iterator[None]:
    """A test that leaves a run active (a crashed hub, say) must not become another test's parent."""
    from shipyard.sdk import fluent

    token = fluent._ACTIVE.set(())
    yield
    fluent._ACTIVE.reset(token)


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh metadata database: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meta.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def services(metadata_url: str, tmp_path: Path) -> Iterator[Services]:
    svc = build_services(Settings(home=tmp_path / "svc", metadata_uri=metadata_url))
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """One real hub process (SQLite + local folder) shared by a test module."""
    with HubProcess(tmp_path_factory.mktemp("hub")) as proc:
        yield proc
