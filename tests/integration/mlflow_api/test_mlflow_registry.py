"""The unmodified ``mlflow`` client against the hub: ``log_model`` (MLflow 3 LoggedModels), the
model registry, and loading registered models back. Oracle mode and helpers: see
test_mlflow_compat.py."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from mlflow_support import error_code, mlflow_pointed_at, shipyard_only, unique
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class Logged:
    """One sklearn model logged with ``mlflow.sklearn.log_model`` in run ``run_id``."""

    run_id: str
    experiment_id: str
    info: Any  # mlflow.models.model.ModelInfo
    model: LogisticRegression
    X: pd.DataFrame


@pytest.fixture(scope="module")
def logged(server_url: str) -> Logged:
    """Logged once per module: ``log_model`` validates its input example and infers requirements,
    which takes seconds."""
    import mlflow
    import mlflow.sklearn

    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    with pytest.MonkeyPatch.context() as monkeypatch, mlflow_pointed_at(server_url, monkeypatch):
        experiment_id = mlflow.create_experiment(unique("models"))
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_param("max_iter", 500)
            info = mlflow.sklearn.log_model(clf, name="model", input_example=X.head(3))
    return Logged(run.info.run_id, experiment_id, info, clf, X)


def register(source: str, name: str) -> Any:
    import mlflow

    return mlflow.register_model(source, name)


# logged models -----------------------------------------------------------------------------------
def test_log_model_creates_a_logged_model(client: MlflowClient, logged: Logged) -> None:
    import mlflow
    from mlflow.entities import LoggedModelStatus

    info = logged.info
    assert info.model_uri == f"models:/{info.model_id}"
    assert (info.run_id, info.name) == (logged.run_id, "model")
    model = client.get_logged_model(info.model_id)
    assert (model.model_id, model.name, model.experiment_id) == (info.model_id, "model", logged.experiment_id)
    assert (model.source_run_id, model.status) == (logged.run_id, LoggedModelStatus.READY)
    assert model.params == {"max_iter": "500"}  # the run's params are copied onto the model
    # MLflow puts it at EXPERIMENT/models/MODEL_ID/artifacts; the hub inside its run's artifacts
    assert model.artifact_location.startswith(f"mlflow-artifacts:/{logged.experiment_id}/")
    assert info.model_id in model.artifact_location
    files = {f.path for f in client.list_logged_model_artifacts(info.model_id)}
    assert {"MLmodel", "input_example.json", "requirements.txt"} <= files
    assert files & {"model.pkl", "model.skops"}
    run = client.get_run(logged.run_id)
    assert [o.model_id for o in run.outputs.model_outputs] == [info.model_id]
    # MLflow 3 keeps the model out of the run's tree; the hub keeps it in the run's models/ folder
    assert {f.path for f in client.list_artifacts(logged.run_id)} <= {"models"}
    found = mlflow.search_logged_models(experiment_ids=[logged.experiment_id], output_format="list")
    assert [m.model_id for m in found] == [info.model_id]


def test_load_logged_model(logged: Logged) -> None:
    import mlflow
    import mlflow.sklearn

    expected = logged.model.predict(logged.X)
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(logged.info.model_uri).predict(logged.X), expected)
    by_run = mlflow.sklearn.load_model(f"runs:/{logged.run_id}/model")
    np.testing.assert_array_equal(by_run.predict(logged.X), expected)


# registered models -------------------------------------------------------------------------------
def test_registered_model_lifecycle(client: MlflowClient) -> None:
    from mlflow.exceptions import MlflowException

    name = unique("churn")
    created = client.create_registered_model(name, tags={"team": "growth"}, description="first")
    assert (created.name, created.description, created.tags) == (name, "first", {"team": "growth"})
    with pytest.raises(MlflowException) as dup:
        client.create_registered_model(name)
    assert error_code(dup) == "RESOURCE_ALREADY_EXISTS"

    client.update_registered_model(name, description="second")
    client.set_registered_model_tag(name, "tier", "gold")
    client.delete_registered_model_tag(name, "team")
    got = client.get_registered_model(name)
    assert (got.description, got.tags, got.latest_versions) == ("second", {"tier": "gold"}, [])

    client.rename_registered_model(name, f"{name}-v2")  # returns None in mlflow 3.17 (the body has the model)
    renamed = client.get_registered_model(f"{name}-v2")
    assert (renamed.name, renamed.description, renamed.tags) == (f"{name}-v2", "second", {"tier": "gold"})
    with pytest.raises(MlflowException) as old:
        client.get_registered_model(name)
    assert error_code(old) == "RESOURCE_DOES_NOT_EXIST"

    client.delete_registered_model(f"{name}-v2")
    with pytest.raises(MlflowException) as gone:
        client.get_registered_model(f"{name}-v2")
    assert error_code(gone) == "RESOURCE_DOES_NOT_EXIST"


def test_search_registered_models(client: MlflowClient) -> None:
    prefix = unique("search")
    for suffix in ["b", "a", "c"]:
        client.create_registered_model(f"{prefix}-{suffix}", tags={"odd": str(suffix != "b")})
    found = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'")
    assert [m.name for m in found] == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]  # by name
    desc = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", order_by=["name DESC"])
    assert [m.name for m in desc] == [f"{prefix}-c", f"{prefix}-b", f"{prefix}-a"]
    tagged = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%' AND tags.odd = 'True'")
    assert [m.name for m in tagged] == [f"{prefix}-a", f"{prefix}-c"]
    page = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", max_results=2)
    rest = client.search_registered_models(filter_string=f"name LIKE '{prefix}-%'", page_token=page.token)
    assert [m.name for m in [*page, *rest]] == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    assert client.search_registered_models(filter_string=f"name = '{prefix}-a'")[0].tags == {"odd": "True"}


def test_register_model_versions(client: MlflowClient, logged: Logged) -> None:
    name = unique("iris")
    v1 = register(logged.info.model_uri, name)
    v2 = register(f"runs:/{logged.run_id}/model", name)
    assert (v1.name, v1.version, v2.version) == (name, "1", "2")
    for mv in (v1, v2):
        got = client.get_model_version(name, mv.version)
        # the server fills run_id in from the logged model (register_model sends only source and
        # model_id for models:/ URIs) and does not echo model_id back
        assert (got.run_id, got.status, got.current_stage) == (logged.run_id, "READY", "None")
        assert got.source == logged.info.model_uri  # runs:/RUN/model was resolved to models:/MODEL_ID
    assert client.get_registered_model(name).latest_versions[0].version == "2"
    versions = client.search_model_versions(f"name='{name}'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert {v.name for v in versions} == {name}
    by_run = client.search_model_versions(f"name='{name}' AND run_id='{logged.run_id}'")
    assert len(by_run) == 2


def test_model_version_updates_tags_and_delete(client: MlflowClient, logged: Logged) -> None:
    from mlflow.exceptions import MlflowException

    name = unique("versions")
    for _ in range(2):
        register(logged.info.model_uri, name)
    client.update_model_version(name, "1", description="baseline")
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.set_model_version_tag(name, "1", "temp", "x")
    client.delete_model_version_tag(name, "1", "temp")
    got = client.get_model_version(name, "1")
    assert (got.description, got.tags) == ("baseline", {"validated": "yes"})
    tagged = client.search_model_versions(f"name='{name}' AND tags.validated = 'yes'")
    assert [v.version for v in tagged] == ["1"]

    client.delete_model_version(name, "2")
    with pytest.raises(MlflowException) as gone:
        client.get_model_version(name, "2")
    assert error_code(gone) == "RESOURCE_DOES_NOT_EXIST"
    assert [v.version for v in client.search_model_versions(f"name='{name}'")] == ["1"]
    with pytest.raises(MlflowException) as missing:
        client.get_model_version(name, "7")
    assert error_code(missing) == "RESOURCE_DOES_NOT_EXIST"


def test_aliases_and_loading_by_alias(client: MlflowClient, logged: Logged) -> None:
    import mlflow
    from mlflow.exceptions import MlflowException

    name = unique("aliased")
    for _ in range(2):
        register(logged.info.model_uri, name)
    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "challenger", "2")
    client.set_registered_model_alias(name, "champion", "2")  # moves
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert client.get_registered_model(name).aliases == {"champion": "2", "challenger": "2"}
    assert sorted(client.get_model_version(name, "2").aliases) == ["challenger", "champion"]
    assert client.get_model_version(name, "1").aliases == []

    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(loaded.predict(logged.X), logged.model.predict(logged.X))
    by_version = mlflow.pyfunc.load_model(f"models:/{name}/1")
    np.testing.assert_array_equal(by_version.predict(logged.X), logged.model.predict(logged.X))

    client.delete_registered_model_alias(name, "challenger")
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    with pytest.raises(MlflowException) as err:
        client.get_model_version_by_alias(name, "challenger")
    assert error_code(err) == "INVALID_PARAMETER_VALUE"


def test_stages_and_latest_versions(client: MlflowClient, logged: Logged) -> None:
    name = unique("staged")
    for _ in range(3):
        register(logged.info.model_uri, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        moved = client.transition_model_version_stage(name, "1", "Production")
        client.transition_model_version_stage(name, "2", "Staging")
        latest = {v.current_stage: v.version for v in client.get_latest_versions(name)}
        production = client.get_latest_versions(name, stages=["Production"])
        client.transition_model_version_stage(name, "3", "Production", archive_existing_versions=True)
        after = {v.current_stage: v.version for v in client.get_latest_versions(name)}
    assert moved.current_stage == "Production"
    assert latest == {"Production": "1", "Staging": "2", "None": "3"}
    assert [v.version for v in production] == ["1"]
    assert after == {"Production": "3", "Staging": "2", "Archived": "1"}
    assert client.get_model_version(name, "1").current_stage == "Archived"


# Shipyard's view of what MLflow registered -------------------------------------------------------
@shipyard_only
def test_mlflow_registered_model_loads_in_shipyard(
    server_url: str,
    logged: Logged,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import shipyard

    name = unique("shared")
    register(logged.info.model_uri, name)
    with shipyard.Client(server_url) as sy:
        sy.set_model_alias(name, "production", 1)
        version = sy.get_model_version(f"models:/{name}@production")
        assert (version.name, version.version, version.run_id) == (name, 1, logged.run_id)
        assert sy.get_model(name).aliases == {"production": 1}
        assert (name, 1) in {(v.name, v.version) for v in sy.get_run_model_versions(logged.run_id)}
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", server_url)
    model = shipyard.load_model(f"models:/{name}@production", trust=True)
    np.testing.assert_array_equal(np.asarray(model(logged.X)), logged.model.predict(logged.X))
