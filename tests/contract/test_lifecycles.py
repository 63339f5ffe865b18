"""Renames, tag removal, delete and restore of experiments, runs and registered models, and logged
models: the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from shipyard.domain.logged_models import LoggedModelStatus
from shipyard.domain.principals import Principal
from shipyard.domain.tracking import Metric, RunStatus
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from shipyard.services import Services
from shipyard.services.logged_models import HOLDER_TAG

ME = Principal("alice")


def test_experiment_rename_tags_delete_and_restore(services: Services) -> None:
    t = services.tracking
    exp = t.create_experiment(ME, "a", tags={"team": "x"})
    t.create_experiment(ME, "taken")
    run = t.create_run(ME, exp.id)
    assert t.update_experiment(ME, exp.id, name="b").name == "b"
    with pytest.raises(AlreadyExists):
        t.update_experiment(ME, exp.id, name="taken")
    t.set_experiment_tags(ME, exp.id, {"team": "y", "k": "v"})
    t.delete_experiment_tag(ME, exp.id, "k")
    assert t.get_experiment(ME, exp.id).tags == {"team": "y"}
    with pytest.raises(NotFound):
        t.delete_experiment_tag(ME, exp.id, "k")

    assert t.set_experiment_lifecycle(ME, exp.id, "deleted").lifecycle == "deleted"
    assert t.get_run(ME, run.id).lifecycle == "deleted"  # its runs go with it
    assert t.search_runs(ME, experiment_ids=[exp.id]).items == []
    assert [r.id for r in t.search_runs(ME, experiment_ids=[exp.id], lifecycle="deleted").items] == [run.id]
    with pytest.raises(Conflict, match="deleted"):  # a deleted run takes no more logging
        t.log_batch(ME, run.id, metrics=[Metric("m", 1.0)])
    t.set_experiment_lifecycle(ME, exp.id, "active")
    assert t.get_run(ME, run.id).lifecycle == "active"
    t.log_batch(ME, run.id, metrics=[Metric("m", 1.0)])
    audit = [e.action for e in t.audit_trail(ME, "experiment", exp.id)]
    assert {"experiment.update", "experiment.delete", "experiment.restore", "experiment.tag"} <= set(audit)


def test_run_delete_restore_and_tag_removal(services: Services) -> None:
    t = services.tracking
    exp = t.create_experiment(ME, "e")
    keep, gone = t.create_run(ME, exp.id, tags={"a": "1", "b": "2"}), t.create_run(ME, exp.id)
    t.set_run_lifecycle(ME, gone.id, "deleted")
    assert [r.id for r in t.search_runs(ME, experiment_ids=[exp.id]).items] == [keep.id]
    assert {r.id for r in t.search_runs(ME, experiment_ids=[exp.id], lifecycle="all").items} == {keep.id, gone.id}
    t.set_run_lifecycle(ME, gone.id, "active")
    assert len(t.search_runs(ME, experiment_ids=[exp.id]).items) == 2
    t.delete_tag(ME, keep.id, "a")
    assert t.get_run(ME, keep.id).tags == {"b": "2"}
    with pytest.raises(NotFound):
        t.delete_tag(ME, keep.id, "a")


def test_finished_runs_change_only_when_allowed(services: Services) -> None:
    """MLflow clients may move a run between terminal states, set a new end time, and log late;
    Shipyard's own calls may not, and every change is audited either way."""
    t = services.tracking
    exp = t.create_experiment(ME, "late")
    run = t.update_run(ME, t.create_run(ME, exp.id).id, status=RunStatus.FINISHED, end_time=5_000)
    with pytest.raises(Conflict):
        t.update_run(ME, run.id, status=RunStatus.KILLED)
    with pytest.raises(Conflict):
        t.log_batch(ME, run.id, metrics=[Metric("m", 1.0)])
    again = t.update_run(ME, run.id, status=RunStatus.FINISHED, end_time=7_000, allow_finished=True)
    assert (again.status, again.end_time) == (RunStatus.FINISHED, 7_000)
    killed = t.update_run(ME, run.id, status=RunStatus.KILLED, allow_finished=True)
    assert killed.status is RunStatus.KILLED and killed.end_time is not None and killed.end_time > 7_000
    t.log_batch(ME, run.id, metrics=[Metric("m", 1.0)], allow_finished=True)
    assert t.get_run(ME, run.id).metrics["m"].value == 1.0
    late = [e for e in t.audit_trail(ME, "run", run.id) if e.action == "run.log"]
    assert late and late[0].details.get("late") is True


def _version(services: Services, name: str) -> int:
    """A registered version over a two-file folder adopted as a bundle."""
    exp = services.tracking.get_or_create_experiment(ME, "models")
    run = services.tracking.create_run(ME, exp.id)
    for path, data in (("m/MLmodel", b"flavors: {}\n"), ("m/model.bin", b"weights")):
        services.artifacts.upload(ME, run.id, path, [data])
    services.tracking.update_run(ME, run.id, status=RunStatus.FINISHED)
    manifest = services.registry.adopt_folder(ME, run.id, "m", flavor="mlflow", flavor_config={"dir": "."})
    assert set(manifest.files) == {"MLmodel", "model.bin"}
    return services.registry.create_version(ME, name, run.id, "m").version


def test_model_rename_delete_and_tag_removal(services: Services) -> None:
    r = services.registry
    r.create_model(ME, "churn", tags={"t": "1", "u": "2"})
    one, two = _version(services, "churn"), _version(services, "churn")
    r.set_alias(ME, "churn", "prod", two)
    r.update_version(ME, "churn", one, tags={"k": "v"})
    r.create_model(ME, "taken")
    with pytest.raises(AlreadyExists):
        r.rename_model(ME, "churn", "taken")
    renamed = r.rename_model(ME, "churn", "attrition")
    assert renamed.tags == {"t": "1", "u": "2"} and renamed.aliases == {"prod": two}
    assert [v.version for v in r.list_versions(ME, "attrition")] == [one, two]
    assert r.get_version(ME, "attrition", one).tags == {"k": "v"}
    assert r.resolve(ME, "models:/attrition@prod").version == two
    with pytest.raises(NotFound):
        r.get_model(ME, "churn")
    r.delete_model_tag(ME, "attrition", "t")
    r.delete_version_tag(ME, "attrition", one, "k")
    assert r.get_model(ME, "attrition").tags == {"u": "2"}
    assert r.get_version(ME, "attrition", one).tags == {}
    r.delete_version(ME, "attrition", two)  # its alias goes with it
    assert r.get_model(ME, "attrition").aliases == {}
    assert _version(services, "attrition") == 3  # numbers are never reused
    r.delete_model(ME, "attrition")
    with pytest.raises(NotFound):
        r.get_model(ME, "attrition")


def test_logged_models_belong_to_a_run(services: Services) -> None:
    exp = services.tracking.create_experiment(ME, "lm")
    run = services.tracking.create_run(ME, exp.id)
    m = services.logged_models.create(ME, exp.id, "clf", run_id=run.id, tags={"a": "b"}, params={"alpha": 0.5})
    assert (m.status, m.run_id, m.params) == (LoggedModelStatus.PENDING, run.id, {"alpha": "0.5"})
    assert m.artifact_path == f"models/{m.id}"
    services.logged_models.set_tags(ME, m.id, {"c": "d"})
    ready = services.logged_models.finalize(ME, m.id, LoggedModelStatus.READY)
    assert ready.status is LoggedModelStatus.READY and ready.tags == {"a": "b", "c": "d"}
    assert [x.id for x in services.logged_models.search(ME, [exp.id], run_id=run.id)] == [m.id]

    # logged outside any run: a run is made to hold it, and finishes with it
    lone = services.logged_models.create(ME, exp.id, "lone")
    holder = services.tracking.get_run(ME, lone.run_id)
    assert holder.tags[HOLDER_TAG] == lone.id and holder.status is RunStatus.RUNNING
    services.logged_models.finalize(ME, lone.id, LoggedModelStatus.READY)
    assert services.tracking.get_run(ME, lone.run_id).status is RunStatus.FINISHED

    services.logged_models.delete(ME, m.id)
    assert [x.id for x in services.logged_models.search(ME, [exp.id])] == [lone.id]
    other = services.tracking.create_experiment(ME, "other")
    with pytest.raises(InvalidArgument, match="not in experiment"):
        services.logged_models.create(ME, other.id, "x", run_id=run.id)
