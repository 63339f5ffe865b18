"""One contract for the metadata store, run against SQLite and PostgreSQL (``metadata_url``)."""

from __future__ import annotations

import dataclasses
import math
import threading

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shipyard.domain.datasets import DatasetKind, DatasetVersion
from shipyard.domain.principals import Principal
from shipyard.domain.tracking import Metric, MetricBatch, RunStatus
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, PayloadTooLarge
from shipyard.services import Services
from shipyard.stores.sql.schema import metadata

ME = Principal("alice")


def _run(services: Services, experiment: str = "exp", **kw: object) -> str:
    exp = services.tracking.get_or_create_experiment(ME, experiment)
    return services.tracking.create_run(ME, exp.id, **kw).id  # type: ignore[arg-type]


def test_migrated_schema_matches_the_table_definitions(metadata_url: str, services: Services) -> None:
    engine = sa.create_engine(metadata_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_experiments_are_unique_by_name(services: Services) -> None:
    t = services.tracking
    exp = t.create_experiment(ME, "churn", description="d", tags={"team": "growth"})
    assert t.get_experiment(ME, exp.id) == exp
    assert t.get_experiment_by_name(ME, "churn").tags == {"team": "growth"}
    with pytest.raises(AlreadyExists) as info:
        t.create_experiment(ME, "churn")
    assert info.value.field == "name"
    with pytest.raises(NotFound):
        t.get_experiment(ME, "999")
    with pytest.raises(NotFound):
        t.get_experiment(ME, "not-a-number")
    # the Default experiment (id 0) exists from the first migration on, for clients that name none
    assert [(e.id, e.name) for e in t.list_experiments(ME)] == [("0", "Default"), (exp.id, "churn")]


def test_run_lifecycle_and_nesting(services: Services) -> None:
    t = services.tracking
    parent = _run(services, name="parent")
    child = _run(services, name="child", parent_run_id=parent)
    run = t.get_run(ME, child)
    assert (run.status, run.parent_run_id, run.created_by, run.end_time) == (
        RunStatus.RUNNING,
        parent,
        "alice",
        None,
    )
    ended = t.update_run(ME, child, status=RunStatus.FAILED)
    assert ended.status is RunStatus.FAILED
    assert ended.end_time is not None
    with pytest.raises(Conflict):
        t.update_run(ME, child, status=RunStatus.RUNNING)
    with pytest.raises(NotFound) as info:
        _run(services, parent_run_id="0" * 32)
    assert info.value.field == "parent_run_id"
    with pytest.raises(NotFound):
        t.get_run(ME, "nope")


def test_params_are_immutable_but_idempotent(services: Services) -> None:
    t = services.tracking
    run_id = _run(services)
    t.log_batch(ME, run_id, params={"lr": 0.1, "model": "rf"})
    t.log_batch(ME, run_id, params={"lr": "0.1"})  # the same value again is fine
    with pytest.raises(Conflict) as info:
        t.log_batch(ME, run_id, params={"lr": 0.2})
    assert info.value.field == "params.lr"
    assert t.get_run(ME, run_id).params == {"lr": "0.1", "model": "rf"}


def test_a_failed_batch_stores_nothing(services: Services) -> None:
    t = services.tracking
    run_id = _run(services)
    t.log_batch(ME, run_id, params={"lr": "0.1"})
    with pytest.raises(Conflict):
        t.log_batch(
            ME, run_id, metrics=[Metric("loss", 1.0, step=0, timestamp=1)], params={"lr": "0.5"}, tags={"t": "x"}
        )
    run = t.get_run(ME, run_id)
    assert run.metrics == {}
    assert run.tags == {}
    assert len(t.metric_history(ME, run_id, "loss")) == 0


def test_metrics_keep_nan_and_infinities_and_track_the_latest(services: Services) -> None:
    t = services.tracking
    run_id = _run(services)
    t.log_batch(
        ME,
        run_id,
        metrics=[
            Metric("a", 1.0, step=0, timestamp=100),
            Metric("a", math.inf, step=2, timestamp=50),
            Metric("a", 3.0, step=1, timestamp=200),
        ],
    )
    t.log_batch(
        ME, run_id, metrics=[Metric("a", math.nan, step=2, timestamp=60), Metric("b", -math.inf, step=0, timestamp=1)]
    )
    run = t.get_run(ME, run_id)
    assert run.metrics["a"].step == 2
    assert math.isnan(run.metrics["a"].value)
    assert run.metrics["b"].value == -math.inf
    t.log_batch(ME, run_id, metrics=[Metric("a", 7.0, step=1, timestamp=999)])  # an older step never becomes latest
    assert math.isnan(t.get_run(ME, run_id).metrics["a"].value)
    hist = t.metric_history(ME, run_id, "a")
    assert hist.steps == [0, 1, 1, 2, 2]
    assert hist.values[0] == 1.0
    assert hist.values[3] == math.inf
    assert math.isnan(hist.values[4])


def test_metric_validation_names_the_point(services: Services) -> None:
    t = services.tracking
    run_id = _run(services)
    bad = MetricBatch(["a", "a", "a"], [1.0, "x", 2.0], [0, 1, 2], [1, 1, 1])  # type: ignore[list-item]
    with pytest.raises(InvalidArgument) as info:
        t.log_batch(ME, run_id, metrics=bad)
    assert info.value.field == "metrics[1].value"
    with pytest.raises(InvalidArgument) as info:
        t.log_batch(
            ME, run_id, metrics=[Metric("ok", 1.0, step=0, timestamp=1), Metric("bad key!", 1.0, step=0, timestamp=1)]
        )
    assert info.value.field == "metrics[1].key"
    with pytest.raises(InvalidArgument) as info:
        t.log_batch(ME, run_id, metrics=MetricBatch(["a", "a"], [1.0, 2.0], [0, 1.5], [1, 1]))  # type: ignore[list-item]
    assert info.value.field == "metrics[1].step"
    small = type(t)(t.store, max_batch_points=10)
    with pytest.raises(PayloadTooLarge):
        small.log_batch(ME, run_id, metrics=[Metric("a", 1.0, step=i, timestamp=1) for i in range(11)])


def test_finished_runs_accept_tags_but_not_metrics_or_params(services: Services) -> None:
    t = services.tracking
    run_id = _run(services)
    t.update_run(ME, run_id, status=RunStatus.FINISHED)
    t.log_batch(ME, run_id, tags={"reviewed": "yes"})
    assert t.get_run(ME, run_id).tags == {"reviewed": "yes"}
    with pytest.raises(Conflict):
        t.log_batch(ME, run_id, metrics=[Metric("a", 1.0, step=0, timestamp=1)])
    with pytest.raises(Conflict):
        t.log_batch(ME, run_id, params={"p": "1"})


def _populate(services: Services) -> dict[str, str]:
    t = services.tracking
    ids = {}
    rows = [
        ("r1", "rf", 0.95, "a"),
        ("r2", "rf", 0.80, "b"),
        ("r3", "gbm", 0.97, "a"),
        ("r4", "rf", math.nan, None),
    ]
    for i, (name, model, auc, team) in enumerate(rows):
        run_id = _run(services, "search", name=name, start_time=1_000 + i)
        tags = {"team": team} if team else {}
        t.log_batch(ME, run_id, metrics=[Metric("auc", auc, step=0, timestamp=1)], params={"model": model}, tags=tags)
        ids[name] = run_id
    t.update_run(ME, ids["r2"], status=RunStatus.FINISHED)
    return ids


@pytest.mark.parametrize(
    ("filter", "order_by", "expected"),
    [
        ('metrics.auc > 0.9 and params.model = "rf" and tags.team = "a"', [], ["r1"]),
        ("metrics.auc > 0.5", ["metrics.auc DESC"], ["r3", "r1", "r2"]),
        (None, ["metrics.auc ASC"], ["r2", "r1", "r3", "r4"]),  # NaN (no value) sorts last
        ('params.model != "rf"', [], ["r3"]),
        ('params.model in ("gbm", "xgb") or tags.team = "b"', ["start_time"], ["r2", "r3"]),
        ("tags.team is null", [], ["r4"]),
        ('status = "finished"', [], ["r2"]),
        ('name like "r%" and start_time >= 1002', ["start_time DESC"], ["r4", "r3"]),
        ('name ilike "R1"', [], ["r1"]),
        ('name like "R1"', [], []),  # LIKE is case-sensitive on both databases
        ("metrics.missing > 0", [], []),
    ],
)
def test_search_filters_and_ordering(
    services: Services, filter: str | None, order_by: list[str], expected: list[str]
) -> None:
    ids = _populate(services)
    names = {v: k for k, v in ids.items()}
    exp = services.tracking.get_experiment_by_name(ME, "search")
    page = services.tracking.search_runs(ME, experiment_ids=[exp.id], filter=filter, order_by=order_by)
    got = [names[r.id] for r in page.items]
    assert got == expected if order_by else sorted(got) == sorted(expected)
    for r in page.items:  # results carry their data
        assert "model" in r.params
        assert "auc" in r.metrics


def test_search_pages_cover_every_run_exactly_once(services: Services) -> None:
    t = services.tracking
    exp = t.create_experiment(ME, "paged")
    made = set()
    for i in range(23):
        run = t.create_run(ME, exp.id, start_time=10_000 + i)
        t.log_batch(ME, run.id, metrics=[Metric("m", float(i % 5), step=0, timestamp=1)])
        made.add(run.id)
    seen: list[str] = []
    token = None
    while True:
        page = t.search_runs(ME, experiment_ids=[exp.id], order_by=["metrics.m DESC"], max_results=5, page_token=token)
        seen += [r.id for r in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert len(seen) == 23
    assert set(seen) == made
    with pytest.raises(InvalidArgument):
        t.search_runs(ME, experiment_ids=[exp.id], max_results=5, page_token="not-a-token")
    with pytest.raises(NotFound):
        t.search_runs(ME, experiment_ids=["4242"])
    with pytest.raises(InvalidArgument):
        t.search_runs(ME, max_results=0)


def test_every_mutation_is_audited_with_its_principal(services: Services) -> None:
    t = services.tracking
    run_id = _run(services)
    t.log_batch(ME, run_id, metrics=[Metric("a", 1.0, step=0, timestamp=1)], params={"p": "1"})
    t.update_run(ME, run_id, status=RunStatus.FINISHED)
    events = t.audit_trail(ME, "run", run_id)
    assert [e.action for e in events] == ["run.update", "run.log", "run.create"]
    assert {e.principal for e in events} == {"alice"}
    assert events[1].details == {"metrics": 1, "params": ["p"]}
    assert [e.action for e in t.audit_trail(ME, "experiment")] == ["experiment.create"]


def test_concurrent_writers_lose_nothing(services: Services) -> None:
    t = services.tracking
    run_id = _run(services)
    errors: list[BaseException] = []

    def writer(key: str) -> None:
        try:
            for step in range(50):
                t.log_batch(ME, run_id, metrics=[Metric(key, float(step), step=step, timestamp=1)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"k{i}",)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    for i in range(4):
        assert t.metric_history(ME, run_id, f"k{i}").steps == list(range(50))
    assert {k: m.value for k, m in t.get_run(ME, run_id).metrics.items()} == {f"k{i}": 49.0 for i in range(4)}


def test_artifact_entries_point_at_shared_blobs(services: Services) -> None:
    a = services.artifacts
    r1, r2 = _run(services), _run(services)
    e1 = a.upload(ME, r1, "model/weights.bin", [b"abc", b"def"])
    e2 = a.upload(ME, r2, "copy.bin", [b"abcdef"])
    assert e1.digest == e2.digest
    assert e1.size == 6
    a.upload(ME, r1, "model/config.json", [b"{}"])
    assert [e.path for e in a.list(ME, r1)] == ["model/config.json", "model/weights.bin"]
    assert [e.path for e in a.list(ME, r1, "model")] == ["model/config.json", "model/weights.bin"]
    assert a.list(ME, r1, "mod") == []  # a prefix is a folder, not a string prefix
    _entry, chunks = a.read(ME, r2, "copy.bin")
    assert b"".join(chunks) == b"abcdef"
    with pytest.raises(NotFound):
        a.read(ME, r2, "missing.bin")
    with pytest.raises(InvalidArgument):
        a.upload(ME, r1, "../escape", [b"x"])
    services.tracking.update_run(ME, r1, status=RunStatus.FINISHED)
    with pytest.raises(Conflict):
        a.upload(ME, r1, "late.txt", [b"x"])


def _dataset_version(services: Services, content: bytes, **kw: object) -> DatasetVersion:
    blob, size = services.datasets.put_blob(ME, [content])
    base = DatasetVersion(
        digest=blob,
        kind=DatasetKind.TABLE,
        format="csv",
        rows=2,
        size=size,
        schema=({"name": "x", "type": "int64"},),
        profile={"x": {"type": "int64", "missing": 0.0, "min": 1, "max": 2}},
        blob=blob,
        source="data.csv",
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_datasets_are_stored_once_and_traced_both_ways(services: Services) -> None:
    d = services.datasets
    r1, r2 = _run(services, "ds"), _run(services, "ds")
    v1 = _dataset_version(services, b"x\n1\n2\n")
    v2 = _dataset_version(services, b"x\n1\n3\n")
    first = d.log_input(ME, r1, "numbers", "train", v1)
    assert first.version is not None and first.version.created_by == "alice" and first.version.rows == 2
    # the same content again, with other claimed facts: the stored facts stay (same content, same facts)
    again = d.log_input(ME, r2, "numbers", "train", dataclasses.replace(v1, rows=99, source="elsewhere"))
    assert again.version is not None and again.version.rows == 2 and again.version.source == "data.csv"
    d.log_input(ME, r2, "numbers", "test", v2)
    d.log_input(ME, r2, "numbers", "test", v2)  # idempotent per (run, name, role)

    assert [(i.name, i.role, i.digest) for i in d.run_inputs(ME, r2)] == [
        ("numbers", "train", v1.digest),
        ("numbers", "test", v2.digest),
    ]
    version, users = d.consumers(ME, v1.digest[:8])
    assert version.digest == v1.digest
    assert sorted(u.run_id for u in users) == sorted([r1, r2])
    (summary,) = d.list_datasets(ME)
    assert (summary.name, summary.versions, summary.runs) == ("numbers", 2, 2)
    assert [i.digest for i in d.history(ME, "numbers")] == [v1.digest, v1.digest, v2.digest]
    actions = [e.action for e in services.tracking.audit_trail(ME, "run", r2)]
    assert actions.count("dataset.log") == 3


def test_dataset_errors_name_the_field(services: Services) -> None:
    d = services.datasets
    run = _run(services, "ds-errors")
    v = _dataset_version(services, b"payload")
    with pytest.raises(InvalidArgument) as err:
        d.log_input(ME, run, "numbers", "training", v)
    assert err.value.field == "role"
    with pytest.raises(InvalidArgument) as err:
        d.log_input(ME, run, "", "train", v)
    assert err.value.field == "name"
    with pytest.raises(InvalidArgument) as err:  # facts about bytes the hub does not have
        d.log_input(ME, run, "numbers", "train", dataclasses.replace(v, blob="0" * 64))
    assert err.value.field == "dataset.blob"
    with pytest.raises(NotFound):
        d.log_input(ME, "0" * 32, "numbers", "train", v)
    with pytest.raises(NotFound):
        d.get_version(ME, "abcdef")
    with pytest.raises(NotFound):
        d.history(ME, "never-logged")
    with pytest.raises(InvalidArgument):
        d.get_version(ME, "abc")  # too short to name a version
    services.tracking.update_run(ME, run, status=RunStatus.FINISHED)
    with pytest.raises(Conflict):
        d.log_input(ME, run, "numbers", "train", v)
    assert d.run_inputs(ME, run) == []


def test_an_ambiguous_digest_prefix_is_refused(services: Services) -> None:
    blob = _dataset_version(services, b"shared bytes").blob
    twins = ["abcdef12" + "0" * 56, "abcdef12" + "0" * 55 + "1", "abcdef34" + "0" * 56]
    with services.store.transaction(write=True) as tx:
        for digest in twins:
            tx.insert_dataset_version(_dataset_version(services, b"shared bytes", digest=digest, blob=blob))
    with pytest.raises(InvalidArgument) as err:
        services.datasets.get_version(ME, "abcdef")
    assert "more than one" in str(err.value)
    assert services.datasets.get_version(ME, "abcdef3").digest == twins[2]
    assert services.datasets.get_version(ME, twins[1]).digest == twins[1]
    with pytest.raises(NotFound):
        services.datasets.get_version(ME, "abcdef5")


def _bundle_run(services: Services) -> str:
    """A run holding a real bundle at ``model/`` (a plain Python function)."""
    import tempfile
    from pathlib import Path

    from shipyard.flavors.bundle import bundle_files, save_bundle

    run = _run(services, "registry")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "b"
        save_bundle(len, root, flavor="python")  # pickled; the registry reads manifests, never loads models
        for rel, path in bundle_files(root):
            services.artifacts.upload(ME, run, f"model/{rel}", [path.read_bytes()])
    return run


def test_registry_versions_aliases_and_refs(services: Services) -> None:
    r = services.registry
    run = _bundle_run(services)
    v1 = r.create_version(ME, "churn", run, "model", tags={"stage": "candidate"})
    v2 = r.create_version(ME, "churn", run, "model/")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.flavor == "python" and v1.bundle_digest == v2.bundle_digest and v1.tags == {"stage": "candidate"}
    r.set_alias(ME, "churn", "production", 1)
    r.set_alias(ME, "churn", "staging", 2)
    assert r.resolve(ME, "models:/churn@production").version == 1
    assert r.resolve(ME, "churn@staging").version == 2
    assert r.resolve(ME, "models:/churn/latest").version == 2
    assert r.resolve(ME, "models:/churn/1").aliases == ("production",)
    moved = r.set_alias(ME, "churn", "production", 2)
    assert moved.aliases == ("production", "staging")
    assert r.get_model(ME, "churn").aliases == {"production": 2, "staging": 2}
    r.delete_alias(ME, "churn", "staging")
    with pytest.raises(NotFound):
        r.resolve(ME, "models:/churn@staging")
    assert [v.version for v in r.versions_of_run(ME, run)] == [1, 2]
    updated = r.update_model(ME, "churn", description="Who leaves next month", tags={"team": "growth"})
    assert updated.description == "Who leaves next month" and updated.tags == {"team": "growth"}
    trail = [e.action for e in services.tracking.audit_trail(ME, "model", "churn")]
    assert trail.count("model.alias.set") == 3 and "model.version.create" in trail


def test_registry_errors_name_the_field(services: Services) -> None:
    r = services.registry
    run = _bundle_run(services)
    with pytest.raises(InvalidArgument) as err:
        r.create_version(ME, "bad name", run, "model")
    assert err.value.field == "name"
    with pytest.raises(InvalidArgument) as err:
        r.create_version(ME, "m", run, "elsewhere")
    assert err.value.field == "artifact_path"
    with pytest.raises(NotFound):
        r.create_version(ME, "m", run, "model", create_model=False)
    r.create_version(ME, "m", run, "model")
    with pytest.raises(NotFound):
        r.set_alias(ME, "m", "production", 7)
    with pytest.raises(InvalidArgument) as err:
        r.set_alias(ME, "m", "latest", 1)
    assert err.value.field == "alias"
    with pytest.raises(AlreadyExists):
        r.create_model(ME, "m")
    with pytest.raises(NotFound):
        r.resolve(ME, "models:/nope/latest")


def test_a_bundle_that_does_not_match_its_manifest_is_not_registered(services: Services) -> None:
    from shipyard.errors import IntegrityError

    run = _bundle_run(services)
    services.artifacts.upload(ME, run, "model/MODEL_CARD.md", [b"edited after the manifest was written"])
    with pytest.raises(IntegrityError, match=r"MODEL_CARD\.md"):
        services.registry.create_version(ME, "tampered", run, "model")


def test_concurrent_registrations_get_distinct_versions(services: Services) -> None:
    run = _bundle_run(services)
    services.registry.create_model(ME, "busy")
    got: list[int] = []
    lock = threading.Lock()

    def register() -> None:
        for _ in range(5):
            v = services.registry.create_version(ME, "busy", run, "model")
            with lock:
                got.append(v.version)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 21))
