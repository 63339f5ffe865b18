"""The hub documents its API: an OpenAPI document, and docs a person can open."""

from __future__ import annotations

import httpx

from shipyard.testing import HubProcess


def test_openapi_document_describes_every_endpoint(hub: HubProcess) -> None:
    doc = httpx.get(f"{hub.url}/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/experiments", "post"),
        ("/api/v1/experiments/{experiment_id}", "get"),
        ("/api/v1/runs", "post"),
        ("/api/v1/runs/search", "post"),
        ("/api/v1/runs/{run_id}", "patch"),
        ("/api/v1/runs/{run_id}/log", "post"),
        ("/api/v1/runs/{run_id}/metric-history", "get"),
        ("/api/v1/runs/{run_id}/artifacts/{path}", "put"),
        ("/api/v1/runs/{run_id}/artifacts/{path}", "get"),
    ]:
        assert method in paths[path], (path, method)
    log_body = paths["/api/v1/runs/{run_id}/log"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"metrics", "metric_columns", "params", "tags"} <= set(log_body["properties"])
    assert "Shipyard hub" in httpx.get(f"{hub.url}/docs").text


def test_health(hub: HubProcess) -> None:
    body = httpx.get(f"{hub.url}/health").json()
    assert body["status"] == "ok"
    assert body["version"]
