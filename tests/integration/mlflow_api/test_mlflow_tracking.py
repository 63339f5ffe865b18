"""The unmodified ``mlflow`` client against the hub's MLflow-compatible API: experiments, runs,
logging and MLflow-shaped errors.

Every test here (except the ones marked Shipyard-only) must also pass against a real
``mlflow server`` (``SHIPYARD_MLFLOW_ORACLE=1``; see mlflow_support.py).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pandas as pd
import pytest
import urllib3
from mlflow_support import error_code, shipyard_only, unique

if TYPE_CHECKING:
    from mlflow import MlflowClient


# experiments -------------------------------------------------------------------------------------
def test_default_experiment_exists(client: MlflowClient) -> None:
    default = client.get_experiment("0")
    assert (default.name, default.lifecycle_stage) == ("Default", "active")
    assert client.get_experiment_by_name("Default").experiment_id == "0"


def test_create_get_rename_delete_restore_experiment(client: MlflowClient) -> None:
    from mlflow.entities import ViewType

    name = unique("lifecycle")
    exp_id = client.create_experiment(name, tags={"team": "vision"})
    assert isinstance(exp_id, str)
    exp = client.get_experiment(exp_id)
    assert (exp.experiment_id, exp.name, exp.lifecycle_stage) == (exp_id, name, "active")
    assert exp.tags["team"] == "vision"
    assert exp.artifact_location
    assert client.get_experiment_by_name(name).experiment_id == exp_id
    assert client.get_experiment_by_name(unique("missing")) is None

    client.rename_experiment(exp_id, f"{name}-renamed")
    assert client.get_experiment(exp_id).name == f"{name}-renamed"
    assert client.get_experiment_by_name(name) is None

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}-renamed'")
    assert [e.experiment_id for e in deleted] == [exp_id]
    assert client.search_experiments(filter_string=f"name = '{name}-renamed'") == []

    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"
    assert [e.experiment_id for e in client.search_experiments(filter_string=f"name = '{name}-renamed'")] == [exp_id]


def test_experiment_tags(client: MlflowClient, experiment_id: str) -> None:
    client.set_experiment_tag(experiment_id, "stage", "dev")
    client.set_experiment_tag(experiment_id, "owner", "ana")
    client.set_experiment_tag(experiment_id, "stage", "prod")  # overwrites
    tags = client.get_experiment(experiment_id).tags
    assert (tags["stage"], tags["owner"]) == ("prod", "ana")
    client.delete_experiment_tag(experiment_id, "owner")
    assert "owner" not in client.get_experiment(experiment_id).tags


def test_search_experiments(client: MlflowClient) -> None:
    from mlflow.entities import ViewType

    prefix = unique("search")
    ids = {
        suffix: client.create_experiment(f"{prefix}-{suffix}", tags={"team": team})
        for suffix, team in [("a", "vision"), ("b", "nlp"), ("c", "vision")]
    }
    client.delete_experiment(ids["c"])

    def names(**kwargs: object) -> list[str]:
        return [e.name for e in client.search_experiments(**kwargs)]

    like = f"name LIKE '{prefix}-%'"
    assert names(filter_string=like, order_by=["name DESC"]) == [f"{prefix}-b", f"{prefix}-a"]
    assert names(filter_string=like, order_by=["name ASC"], view_type=ViewType.ALL) == [
        f"{prefix}-a",
        f"{prefix}-b",
        f"{prefix}-c",
    ]
    assert names(filter_string=like, view_type=ViewType.DELETED_ONLY) == [f"{prefix}-c"]
    assert names(filter_string=f"{like} AND tags.team = 'vision'") == [f"{prefix}-a"]
    assert names(filter_string=f"{like} AND tags.team = 'vision'", view_type=ViewType.ALL, order_by=["name"]) == [
        f"{prefix}-a",
        f"{prefix}-c",
    ]
    assert "Default" in names(view_type=ViewType.ALL, max_results=1000)
    page = client.search_experiments(filter_string=like, view_type=ViewType.ALL, max_results=2, order_by=["name"])
    assert [e.name for e in page] == [f"{prefix}-a", f"{prefix}-b"]
    assert page.token
    rest = client.search_experiments(
        filter_string=like, view_type=ViewType.ALL, max_results=2, order_by=["name"], page_token=page.token
    )
    assert [e.name for e in rest] == [f"{prefix}-c"]
    assert not rest.token


# runs --------------------------------------------------------------------------------------------
def test_create_get_and_terminate_run(client: MlflowClient, experiment_id: str) -> None:
    before = int(time.time() * 1000)
    run = client.create_run(experiment_id, run_name="first", tags={"team": "vision"})
    info = run.info
    assert (info.experiment_id, info.run_name, info.status, info.lifecycle_stage) == (
        experiment_id,
        "first",
        "RUNNING",
        "active",
    )
    assert info.start_time >= before - 60_000 and info.end_time is None
    assert info.artifact_uri.endswith(f"{info.run_id}/artifacts")
    got = client.get_run(info.run_id)
    assert got.info.run_id == info.run_id
    assert got.data.tags["team"] == "vision"
    assert got.data.tags["mlflow.runName"] == "first"

    end = info.start_time + 5_000
    client.set_terminated(info.run_id, status="FAILED", end_time=end)
    done = client.get_run(info.run_id).info
    assert (done.status, done.end_time) == ("FAILED", end)

    client.update_run(info.run_id, status="KILLED", name="renamed")
    updated = client.get_run(info.run_id)
    assert (updated.info.status, updated.info.run_name) == ("KILLED", "renamed")
    assert updated.data.tags["mlflow.runName"] == "renamed"


def test_fluent_runs_and_nesting(client: MlflowClient, experiment_id: str) -> None:
    import mlflow

    mlflow.set_experiment(experiment_id=experiment_id)
    with mlflow.start_run(run_name="parent", tags={"kind": "sweep"}) as parent:
        assert mlflow.active_run().info.run_id == parent.info.run_id
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_param("lr", 0.1)
    assert mlflow.active_run() is None
    got_parent, got_child = client.get_run(parent.info.run_id), client.get_run(child.info.run_id)
    assert (got_parent.info.status, got_child.info.status) == ("FINISHED", "FINISHED")
    assert got_parent.info.end_time is not None and got_parent.info.end_time >= got_parent.info.start_time
    assert got_parent.data.tags["kind"] == "sweep"
    assert got_child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert got_child.info.run_name == "child"
    assert got_child.data.params == {"lr": "0.1"}
    children = client.search_runs([experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert [r.info.run_id for r in children] == [child.info.run_id]

    with pytest.raises(RuntimeError), mlflow.start_run(run_name="crashes") as failed:
        raise RuntimeError("boom")
    assert client.get_run(failed.info.run_id).info.status == "FAILED"


def test_delete_and_restore_run(client: MlflowClient, experiment_id: str) -> None:
    from mlflow.entities import ViewType

    keep = client.create_run(experiment_id, run_name="keep").info.run_id
    gone = client.create_run(experiment_id, run_name="gone").info.run_id
    client.delete_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "deleted"  # still readable by id

    def ids(view: int) -> set[str]:
        return {r.info.run_id for r in client.search_runs([experiment_id], run_view_type=view)}

    assert ids(ViewType.ACTIVE_ONLY) == {keep}
    assert ids(ViewType.DELETED_ONLY) == {gone}
    assert ids(ViewType.ALL) == {keep, gone}
    client.restore_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "active"
    assert ids(ViewType.ACTIVE_ONLY) == {keep, gone}
    assert ids(ViewType.DELETED_ONLY) == set()


@pytest.fixture
def grid(client: MlflowClient, experiment_id: str) -> dict[str, str]:
    """Six finished-or-not runs with metrics, params and tags to search: run name -> id."""
    from mlflow.entities import Metric, Param, RunTag

    rows = [  # name, model, acc, owner, finished
        ("r0", "rf", 0.91, "alice", True),
        ("r1", "rf", 0.75, "bob", True),
        ("r2", "svm", 0.60, "alicia", False),
        ("r3", "svm", 0.88, "carol", True),
        ("r4", "knn", 0.42, "malik", True),
        ("r5", "knn", 0.99, "dave", False),
    ]
    ids: dict[str, str] = {}
    for i, (name, model, acc, owner, finished) in enumerate(rows):
        run = client.create_run(experiment_id, run_name=name, start_time=1_700_000_000_000 + i * 1000)
        ids[name] = run.info.run_id
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("acc", acc, 0, 0)],
            params=[Param("model", model)],
            tags=[RunTag("owner", owner)],
        )
        if finished:
            client.set_terminated(run.info.run_id)
    return ids


def test_search_runs_filters(client: MlflowClient, experiment_id: str, grid: dict[str, str]) -> None:
    names = {v: k for k, v in grid.items()}

    def found(filter_string: str) -> set[str]:
        return {names[r.info.run_id] for r in client.search_runs([experiment_id], filter_string)}

    assert found("metrics.acc > 0.8") == {"r0", "r3", "r5"}
    assert found("metrics.acc <= 0.6") == {"r2", "r4"}
    assert found("params.model = 'rf'") == {"r0", "r1"}
    assert found("params.model != 'rf'") == {"r2", "r3", "r4", "r5"}
    assert found("tags.owner LIKE '%ali%'") == {"r0", "r2", "r4"}
    assert found("tags.owner ILIKE 'ALI%'") == {"r0", "r2"}
    assert found("attributes.status = 'FINISHED'") == {"r0", "r1", "r3", "r4"}
    assert found("attributes.status != 'FINISHED'") == {"r2", "r5"}
    assert found("attributes.run_name = 'r3'") == {"r3"}
    assert found("run_name = 'r3'") == {"r3"}
    assert found("params.model LIKE 'k%' AND metrics.acc > 0.5") == {"r5"}
    assert found(f"attributes.run_id IN ('{grid['r1']}', '{grid['r4']}')") == {"r1", "r4"}
    assert found("metrics.acc > 0.7 and params.model = 'rf' and tags.owner = 'bob'") == {"r1"}
    assert found("metrics.missing > 0") == set()


def test_search_runs_order_by(client: MlflowClient, experiment_id: str, grid: dict[str, str]) -> None:
    def ordered(order_by: list[str]) -> list[str]:
        return [r.info.run_name for r in client.search_runs([experiment_id], order_by=order_by)]

    assert ordered(["metrics.acc DESC"]) == ["r5", "r0", "r3", "r1", "r2", "r4"]
    assert ordered(["metrics.acc"]) == ["r4", "r2", "r1", "r3", "r0", "r5"]
    assert ordered(["attributes.start_time ASC"]) == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert ordered(["start_time DESC"]) == ["r5", "r4", "r3", "r2", "r1", "r0"]
    assert ordered([]) == ["r5", "r4", "r3", "r2", "r1", "r0"]  # newest first by default
    assert ordered(["params.model ASC", "metrics.acc DESC"]) == ["r5", "r4", "r0", "r1", "r3", "r2"]


def test_search_runs_pages(client: MlflowClient, experiment_id: str) -> None:
    created = {client.create_run(experiment_id, run_name=f"p{i:02d}").info.run_id for i in range(25)}
    seen: list[str] = []
    pages: list[int] = []
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=10, page_token=token, order_by=["attributes.run_name"])
        pages.append(len(page))
        seen.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            break
    assert pages == [10, 10, 5]
    assert len(seen) == len(set(seen)) == 25
    assert set(seen) == created
    assert [client.get_run(i).info.run_name for i in seen[:3]] == ["p00", "p01", "p02"]


def test_fluent_search_runs_returns_a_dataframe(experiment_id: str, grid: dict[str, str]) -> None:
    import mlflow

    df = mlflow.search_runs(
        experiment_ids=[experiment_id], filter_string="params.model = 'knn'", order_by=["metrics.acc"]
    )
    assert isinstance(df, pd.DataFrame)
    assert list(df["run_id"]) == [grid["r4"], grid["r5"]]
    assert list(df["metrics.acc"]) == [0.42, 0.99]
    assert list(df["params.model"]) == ["knn", "knn"]
    assert list(df["tags.owner"]) == ["malik", "dave"]
    assert list(df["status"]) == ["FINISHED", "RUNNING"]
    listed = mlflow.search_runs(experiment_ids=[experiment_id], output_format="list")
    assert {r.info.run_id for r in listed} == set(grid.values())


# logging -----------------------------------------------------------------------------------------
def test_metrics_params_tags_and_history(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    for step, value in enumerate([0.5, 0.25, 0.125]):
        client.log_metric(run_id, "loss", value, timestamp=1_700_000_000_000 + step, step=step)
    client.log_metric(run_id, "loss", 0.3, timestamp=1_700_000_000_100, step=1)  # a second point at step 1
    client.log_param(run_id, "lr", 0.01)
    client.log_param(run_id, "lr", 0.01)  # the same value again is fine
    client.set_tag(run_id, "note", "first")
    client.set_tag(run_id, "note", "second")
    client.set_tag(run_id, "temp", "x")
    client.delete_tag(run_id, "temp")

    data = client.get_run(run_id).data
    assert data.metrics["loss"] == 0.125  # the value at the largest step
    assert data.params == {"lr": "0.01"}
    assert data.tags["note"] == "second" and "temp" not in data.tags
    history = client.get_metric_history(run_id, "loss")
    points = sorted((m.step, m.timestamp, m.value) for m in history)
    assert points == [
        (0, 1_700_000_000_000, 0.5),
        (1, 1_700_000_000_001, 0.25),
        (1, 1_700_000_000_100, 0.3),
        (2, 1_700_000_000_002, 0.125),
    ]
    assert {m.key for m in history} == {"loss"}
    assert client.get_metric_history(run_id, "never-logged") == []


def test_log_batch(client: MlflowClient, experiment_id: str) -> None:
    from mlflow.entities import Metric, Param, RunTag

    run_id = client.create_run(experiment_id).info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("m", float(i), 1_700_000_000_000 + i, i) for i in range(5)] + [Metric("other", -1.5, 7, 0)],
        params=[Param("alpha", "1"), Param("beta", "two")],
        tags=[RunTag("t1", "v1"), RunTag("t2", "v2")],
    )
    data = client.get_run(run_id).data
    assert data.metrics == {"m": 4.0, "other": -1.5}
    assert data.params == {"alpha": "1", "beta": "two"}
    assert (data.tags["t1"], data.tags["t2"]) == ("v1", "v2")
    assert [m.value for m in sorted(client.get_metric_history(run_id, "m"), key=lambda m: m.step)] == [
        0.0,
        1.0,
        2.0,
        3.0,
        4.0,
    ]
    # the client splits a large batch into calls within the server's limits; all of it arrives
    client.log_batch(
        run_id,
        metrics=[Metric(f"k{i}", float(i), 1, 0) for i in range(1500)],
        params=[Param(f"p{i}", str(i)) for i in range(150)],
    )
    data = client.get_run(run_id).data
    assert len(data.metrics) == 1502 and data.metrics["k1499"] == 1499.0
    assert len(data.params) == 152 and data.params["p149"] == "149"


def test_fluent_logging(client: MlflowClient, experiment_id: str) -> None:
    import mlflow

    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_metric("acc", 0.5, step=3)
        mlflow.log_metrics({"f1": 0.25, "auc": 0.75})
        mlflow.log_params({"depth": 4, "criterion": "gini"})
        mlflow.set_tags({"phase": "tune"})
        mlflow.set_tag("phase", "final")
    data = client.get_run(run.info.run_id).data
    assert data.metrics == {"acc": 0.5, "f1": 0.25, "auc": 0.75}
    assert data.params == {"depth": "4", "criterion": "gini"}
    assert data.tags["phase"] == "final"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "acc")] == [3]


def test_log_input_dataset(client: MlflowClient, experiment_id: str) -> None:
    import mlflow

    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, name="toy", targets="y")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_input(dataset, context="training", tags={"split": "train"})
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    logged = inputs[0].dataset
    assert (logged.name, logged.digest, logged.source_type) == ("toy", dataset.digest, "code")
    assert json.loads(logged.schema)["mlflow_colspec"][0]["name"] == "x"
    assert json.loads(logged.profile) == {"num_rows": 3, "num_elements": 6}
    tags = {t.key: t.value for t in inputs[0].tags}
    assert tags == {"mlflow.data.context": "training", "split": "train"}
    found = client.search_runs([experiment_id], "dataset.name = 'toy' AND dataset.context = 'training'")
    assert [r.info.run_id for r in found] == [run.info.run_id]


# errors in MLflow's shape ------------------------------------------------------------------------
def test_missing_run_and_experiment(client: MlflowClient) -> None:
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as missing_run:
        client.get_run("0123456789abcdef0123456789abcdef")
    assert error_code(missing_run) == "RESOURCE_DOES_NOT_EXIST"
    assert missing_run.value.get_http_status_code() == 404
    with pytest.raises(MlflowException) as missing_exp:
        client.get_experiment("987654321")
    assert error_code(missing_exp) == "RESOURCE_DOES_NOT_EXIST"


def test_error_body_on_the_wire(server_url: str) -> None:
    http = urllib3.PoolManager(retries=False)
    resp = http.request("GET", f"{server_url}/api/2.0/mlflow/runs/get", fields={"run_id": "f" * 32})
    assert resp.status == 404
    body = json.loads(resp.data)
    assert body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert isinstance(body["message"], str) and body["message"]
    resp = http.request("GET", f"{server_url}/ajax-api/2.0/mlflow/experiments/get", fields={"experiment_id": "0"})
    assert resp.status == 200
    assert json.loads(resp.data)["experiment"]["name"] == "Default"


def test_duplicate_experiment(client: MlflowClient) -> None:
    from mlflow.exceptions import MlflowException

    name = unique("dup")
    client.create_experiment(name)
    with pytest.raises(MlflowException) as err:
        client.create_experiment(name)
    assert error_code(err) == "RESOURCE_ALREADY_EXISTS"


def test_changing_a_param_is_refused(client: MlflowClient, experiment_id: str) -> None:
    from mlflow.exceptions import MlflowException

    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "lr", "0.1")
    with pytest.raises(MlflowException) as err:
        client.log_param(run_id, "lr", "0.2")
    assert error_code(err) == "INVALID_PARAMETER_VALUE"
    assert err.value.get_http_status_code() == 400
    assert client.get_run(run_id).data.params == {"lr": "0.1"}


def test_batch_limits_are_enforced_by_the_server(server_url: str, client: MlflowClient, experiment_id: str) -> None:
    """MlflowClient splits big batches itself, so send one oversized request through its REST store."""
    from mlflow.entities import Metric, Param
    from mlflow.exceptions import MlflowException
    from mlflow.store.tracking.rest_store import RestStore
    from mlflow.utils.rest_utils import MlflowHostCreds

    store = RestStore(lambda: MlflowHostCreds(server_url))
    run_id = client.create_run(experiment_id).info.run_id
    with pytest.raises(MlflowException) as too_many_metrics:
        store.log_batch(run_id, metrics=[Metric(f"m{i}", 1.0, 1, 0) for i in range(1001)], params=[], tags=[])
    assert error_code(too_many_metrics) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as too_many_params:
        store.log_batch(run_id, metrics=[], params=[Param(f"p{i}", "v") for i in range(101)], tags=[])
    assert error_code(too_many_params) == "INVALID_PARAMETER_VALUE"
    data = client.get_run(run_id).data
    assert (data.metrics, data.params) == ({}, {})  # nothing of a refused batch was kept
    store.log_batch(run_id, metrics=[Metric(f"m{i}", 1.0, 1, 0) for i in range(1000)], params=[], tags=[])
    assert len(client.get_run(run_id).data.metrics) == 1000


def test_malformed_search_filter(client: MlflowClient, experiment_id: str) -> None:
    from mlflow.exceptions import MlflowException

    bad_filters = [
        "metrics.acc >> 1",
        "params.model = unquoted",
        "nonsense.key = 'x'",
        # (MLflow also refuses "params.model IN ('rf')"; Shipyard's grammar allows IN on any field)
        "metrics.acc > 'high'",
    ]
    for bad in bad_filters:
        with pytest.raises(MlflowException) as err:
            client.search_runs([experiment_id], bad)
        assert error_code(err) == "INVALID_PARAMETER_VALUE", bad


def test_logging_to_finished_and_deleted_runs(client: MlflowClient, experiment_id: str) -> None:
    """MLflow accepts logging to a terminated run, and refuses it once the run is deleted."""
    from mlflow.exceptions import MlflowException

    run_id = client.create_run(experiment_id).info.run_id
    client.set_terminated(run_id)
    client.log_metric(run_id, "late", 1.0)
    client.log_param(run_id, "late", "yes")
    run = client.get_run(run_id)
    assert (run.info.status, run.data.metrics["late"], run.data.params["late"]) == ("FINISHED", 1.0, "yes")

    client.delete_run(run_id)
    for log in (
        lambda: client.log_metric(run_id, "after", 2.0),
        lambda: client.log_param(run_id, "after", "no"),
        lambda: client.set_tag(run_id, "after", "no"),
    ):
        with pytest.raises(MlflowException) as err:
            log()
        assert error_code(err) == "INVALID_PARAMETER_VALUE"
    assert "after" not in client.get_run(run_id).data.metrics


# Shipyard's view of what MLflow logged -----------------------------------------------------------
@shipyard_only
def test_runs_logged_through_mlflow_are_shipyard_runs(
    server_url: str, client: MlflowClient, experiment_id: str
) -> None:
    import mlflow

    import shipyard

    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    with mlflow.start_run(experiment_id=experiment_id, run_name="seen-by-shipyard") as run:
        mlflow.log_param("model", "rf")
        for step, value in enumerate([0.5, 0.7, 0.9]):
            mlflow.log_metric("acc", value, step=step)
        mlflow.set_tag("team", "vision")
        mlflow.log_input(mlflow.data.from_pandas(df, name="toy"), context="training")
    with shipyard.Client(server_url) as sy:
        got = sy.get_run(run.info.run_id)
        assert (got.name, got.experiment_id, got.status.value) == ("seen-by-shipyard", experiment_id, "FINISHED")
        assert got.params["model"] == "rf"
        assert got.metrics["acc"].value == 0.9
        assert got.tags["team"] == "vision"
        assert sy.get_metric_history(run.info.run_id, "acc").values == [0.5, 0.7, 0.9]
        page = sy.search_runs(experiment_ids=[experiment_id], filter="metrics.acc > 0.8")
        assert [r.id for r in page.items] == [run.info.run_id]
        assert [d.name for d in sy.get_run_datasets(run.info.run_id)] == ["toy"]


# the wire itself (Shipyard's hub only: paging sizes and endpoint errors are server choices) -------
@shipyard_only
def test_history_pages_and_wire_errors(server_url: str, client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    for step in range(10):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    http = urllib3.PoolManager(retries=False)
    api = f"{server_url}/ajax-api/2.0/mlflow"  # the UI's prefix answers the same API
    steps, token = [], ""
    while True:
        fields = {"run_id": run_id, "metric_key": "loss", "max_results": "3"} | ({"page_token": token} if token else {})
        page = http.request("GET", f"{api}/metrics/get-history", fields=fields).json()
        steps += [m["step"] for m in page["metrics"]]
        token = page.get("next_page_token", "")
        if not token:
            break
    assert steps == list(range(10))

    missing = http.request("GET", f"{api}/no/such/endpoint")
    assert (missing.status, missing.json()["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
    bad = http.request("POST", f"{api}/runs/log-batch", body=b"{oops", headers={"content-type": "application/json"})
    assert bad.status == 400 and bad.json()["error_code"] == "MALFORMED_REQUEST"
    wrong = http.request("POST", f"{api}/runs/log-batch", json={"run_id": run_id, "metrics": [{"key": "m"}]})
    assert wrong.status == 400 and "value" in wrong.json()["message"]
    assert "loss" in client.get_run(run_id).data.metrics and "m" not in client.get_run(run_id).data.metrics
