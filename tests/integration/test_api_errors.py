"""Bad input gets a 4xx with a typed JSON error naming the field, never a 500 or a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.testing import HubProcess


@pytest.fixture(scope="module")
def api(hub: HubProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{hub.url}/api/v1", timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def run_id(api: httpx.Client) -> str:
    resp = api.post("/runs", json={"experiment_name": "errors"})
    assert resp.status_code == 201
    rid: str = resp.json()["id"]
    assert api.post(f"/runs/{rid}/log", json={"params": {"p": "1"}}).status_code == 204
    return rid


def _error(resp: httpx.Response, status: int, code: str, field: str | None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert "Traceback" not in resp.text
    err: dict[str, Any] = resp.json()["error"]
    assert err["code"] == code
    assert err.get("field") == field
    assert err["message"]
    return err


def test_unknown_run(api: httpx.Client) -> None:
    _error(api.get("/runs/does-not-exist"), 404, "NOT_FOUND", "run_id")
    _error(
        api.post("/runs/does-not-exist/log", json={"metrics": [{"key": "a", "value": 1}]}),
        404,
        "NOT_FOUND",
        "run_id",
    )
    _error(api.get("/runs/does-not-exist/metric-history", params={"key": "a"}), 404, "NOT_FOUND", "run_id")


def test_changed_param_is_a_conflict(api: httpx.Client, run_id: str) -> None:
    err = _error(api.post(f"/runs/{run_id}/log", json={"params": {"p": "2"}}), 409, "CONFLICT", "params.p")
    assert "immutable" in err["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metrics": [{"key": "a", "value": "abc"}]}, "metrics[0].value"),
        ({"metrics": [{"key": "a", "value": 1}, {"key": "a", "value": None}]}, "metrics[1].value"),
        ({"metrics": [{"key": "a", "value": True}]}, "metrics[0].value"),
        ({"metrics": [{"key": "a"}]}, "metrics[0].value"),
        ({"metrics": [{"key": "a", "value": 1, "step": "one"}]}, "metrics[0].step"),
        ({"metrics": [{"key": "a", "value": 1, "colour": "red"}]}, "metrics[0].colour"),
        ({"metrics": [{"key": "a/../b", "value": 1}]}, "metrics[0].key"),
        ({"metrics": {"key": "a"}}, "metrics"),
        ({"metric_columns": {"keys": ["a", "a"], "values": [1.0, "x"]}}, "metrics[1].value"),
        ({"metric_columns": {"keys": ["a"], "values": [1.0, 2.0]}}, "metric_columns.values"),
        ({"params": {"x": {"nested": 1}}}, "params.x"),
        ({"params": ["x"]}, "params"),
        ({"tags": {"t": 5}}, "tags.t"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_log_bodies_name_the_field(api: httpx.Client, run_id: str, body: dict[str, Any], field: str) -> None:
    _error(api.post(f"/runs/{run_id}/log", json=body), 400, "INVALID_ARGUMENT", field)


def test_non_finite_values_travel_as_strings(api: httpx.Client, run_id: str) -> None:
    body = {
        "metrics": [{"key": "nf", "value": v, "step": i} for i, v in enumerate(["NaN", "Infinity", "-Infinity", 1])]
    }
    assert api.post(f"/runs/{run_id}/log", json=body).status_code == 204
    hist = api.get(f"/runs/{run_id}/metric-history", params={"key": "nf"}).json()
    assert hist["values"] == ["NaN", "Infinity", "-Infinity", 1.0]


def test_malformed_json_and_empty_bodies(api: httpx.Client, run_id: str) -> None:
    headers = {"content-type": "application/json"}
    _error(
        api.post(f"/runs/{run_id}/log", content=b"{not json", headers=headers),
        400,
        "INVALID_ARGUMENT",
        "body",
    )
    _error(api.post(f"/runs/{run_id}/log", content=b"", headers=headers), 400, "INVALID_ARGUMENT", "body")
    _error(api.post(f"/runs/{run_id}/log", content=b"[1,2]", headers=headers), 400, "INVALID_ARGUMENT", "body")
    _error(api.post("/experiments", content=b"{oops", headers=headers), 400, "INVALID_ARGUMENT", "body")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filter": "metrics.auc >"}, "filter"),
        ({"filter": 'metrics.auc > "high"'}, "filter"),
        ({"order_by": ["metrics.auc upwards"]}, "order_by[0]"),
        ({"max_results": 0}, "max_results"),
        ({"page_token": "%%%"}, "page_token"),
        ({"experiment_ids": "1"}, "experiment_ids"),
    ],
)
def test_bad_searches(api: httpx.Client, body: dict[str, Any], field: str) -> None:
    _error(api.post("/runs/search", json=body), 400, "INVALID_ARGUMENT", field)


def test_create_and_update_validation(api: httpx.Client, run_id: str) -> None:
    _error(api.post("/experiments", json={"name": ""}), 400, "INVALID_ARGUMENT", "name")
    _error(api.post("/experiments", json={"name": "x", "bogus": 1}), 400, "INVALID_ARGUMENT", "bogus")
    assert api.post("/experiments", json={"name": "dup"}).status_code == 201
    _error(api.post("/experiments", json={"name": "dup"}), 409, "ALREADY_EXISTS", "name")
    _error(api.post("/runs", json={}), 400, "INVALID_ARGUMENT", "experiment_id")
    _error(api.post("/runs", json={"experiment_id": "777"}), 404, "NOT_FOUND", "experiment_id")
    _error(api.patch(f"/runs/{run_id}", json={"status": "DONE"}), 400, "INVALID_ARGUMENT", "status")
    _error(api.get("/experiments", params={"name": "nope"}), 404, "NOT_FOUND", "name")


@pytest.mark.parametrize("path", ["..%2Fsecret", "a/%2E%2E/b", "a//b", "%2Fabs"])
def test_artifact_paths_with_traversal_are_rejected(api: httpx.Client, run_id: str, path: str) -> None:
    url = httpx.URL(f"{api.base_url}/runs/{run_id}/artifacts/{path}".replace("//runs", "/runs"))
    resp = api.put(url.raw_path.decode(), content=b"x")
    assert resp.status_code in (400, 404), resp.text
    assert "Traceback" not in resp.text
    assert resp.json()["error"]["code"] in ("INVALID_ARGUMENT", "NOT_FOUND")
    listing = api.get(f"/runs/{run_id}/artifacts").json()["artifacts"]
    assert all(".." not in a["path"] for a in listing)


def test_unknown_routes_and_methods_are_json(api: httpx.Client) -> None:
    _error(api.get("/nothing-here"), 404, "NOT_FOUND", None)
    _error(api.delete("/experiments"), 405, "METHOD_NOT_ALLOWED", None)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "metrics": st.lists(
            st.fixed_dictionaries({}, optional={"key": _json, "value": _json, "step": _json, "timestamp": _json}),
            max_size=3,
        )
        | _json,
        "metric_columns": st.dictionaries(st.sampled_from(["keys", "values", "steps", "timestamps"]), _json) | _json,
        "params": st.dictionaries(st.text(max_size=6), _json, max_size=3) | _json,
        "tags": st.dictionaries(st.text(max_size=6), _json, max_size=3) | _json,
    },
)


@given(body=_bodies)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_log_bodies_never_cause_a_server_error(api: httpx.Client, run_id: str, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()  # NaN/Infinity literals included: the hub must answer 400, not fail
    resp = api.post(f"/runs/{run_id}/log", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code in (204, 400, 409, 413), resp.text
    assert "Traceback" not in resp.text
