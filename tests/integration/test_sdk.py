"""The same SDK code in local mode (in-process services) and remote mode (a real hub)."""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import shipyard
from shipyard.domain.tracking import RunStatus
from shipyard.errors import Conflict, FlushError, IntegrityError, InvalidArgument, NotFound
from shipyard.sdk.buffer import MetricBuffer
from shipyard.testing import HubProcess


@pytest.fixture(params=["local", "remote"])
def client(request: pytest.FixtureRequest, hub: HubProcess, tmp_path: Path) -> Iterator[shipyard.Client]:
    c = shipyard.Client(hub.url if request.param == "remote" else str(tmp_path / "local-home"))
    yield c
    c.close()


def test_fluent_run_logs_everything_and_finishes(client: shipyard.Client, tmp_path: Path) -> None:
    (tmp_path / "model.txt").write_text("weights")
    with shipyard.start_run("sdk-fluent", name="baseline", tags={"team": "ml"}, client=client) as run:
        assert shipyard.active_run() is run
        run.log_params({"model": "rf", "depth": 8})
        shipyard.log_param("seed", 7)
        for step in range(300):
            run.log_metrics({"loss": 1 / (step + 1), "acc": step / 300}, step=step)
        shipyard.log_metric("nan_metric", math.nan)
        shipyard.set_tag("stage", "dev")
        run.log_artifact(tmp_path / "model.txt", "model/weights.txt")
    assert shipyard.active_run() is None
    stored = client.get_run(run.id)
    assert stored.status is RunStatus.FINISHED
    assert stored.end_time is not None
    assert stored.params == {"model": "rf", "depth": "8", "seed": "7"}
    user_tags = {k: v for k, v in stored.tags.items() if not k.startswith("shipyard.")}
    assert user_tags == {"team": "ml", "stage": "dev"}
    assert stored.tags["shipyard.manifest.sha256"]  # system tags: the run manifest's digest
    assert stored.metrics["loss"].step == 299
    assert stored.metrics["loss"].value == 1 / 300
    assert math.isnan(stored.metrics["nan_metric"].value)
    assert client.get_metric_history(run.id, "acc").steps == list(range(300))
    paths = [a.path for a in client.list_artifacts(run.id)]
    assert [p for p in paths if not p.startswith("_shipyard/")] == ["model/weights.txt"]
    assert "_shipyard/manifest.json" in paths


def test_a_run_that_raises_ends_failed_and_nests_children(client: shipyard.Client) -> None:
    with pytest.raises(RuntimeError), shipyard.start_run("sdk-fail", client=client) as parent:
        with shipyard.start_run("sdk-fail", client=client) as child:
            child.log_metric("x", 1.0)
        raise RuntimeError("training diverged")
    assert client.get_run(parent.id).status is RunStatus.FAILED
    kid = client.get_run(child.id)
    assert kid.parent_run_id == parent.id
    assert kid.status is RunStatus.FINISHED


def test_errors_are_raised_at_the_call_site(client: shipyard.Client) -> None:
    with shipyard.start_run("sdk-errors", client=client) as run:
        run.log_param("lr", 0.1)
        with pytest.raises(Conflict):
            run.log_param("lr", 0.2)
        with pytest.raises(InvalidArgument):
            run.log_metric("bad key!", 1.0)
        with pytest.raises(InvalidArgument):
            run.log_metric("loss", "high")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        client.get_run("0" * 32)
    with pytest.raises(InvalidArgument):
        shipyard.log_metric("x", 1.0)  # no active run


def test_search_and_pagination_through_the_client(client: shipyard.Client) -> None:
    for i in range(12):
        with shipyard.start_run("sdk-search", client=client) as run:
            run.log_param("model", "rf" if i % 2 else "gbm")
            run.log_metric("auc", i / 12)
    page = client.search_runs(
        ["sdk-search"],
        filter='params.model = "rf" and metrics.auc > 0.5',
        order_by=["metrics.auc DESC"],
        max_results=2,
    )
    assert [round(r.metrics["auc"].value * 12) for r in page.items] == [11, 9]
    assert page.next_page_token is not None
    everything = list(client.iter_runs(["sdk-search"], order_by=["metrics.auc"], page_size=5))
    assert [round(r.metrics["auc"].value * 12) for r in everything] == list(range(12))


def test_artifacts_round_trip_verified_and_deduplicated(client: shipyard.Client, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    payload = os.urandom(3 * 1024 * 1024 + 17)
    (src / "big.bin").write_bytes(payload)
    (src / "sub" / "same.bin").write_bytes(payload)
    (src / "sub" / "note.txt").write_text("hello")
    with shipyard.start_run("sdk-artifacts", client=client) as run:
        entries = run.log_artifacts(src, "data")
    assert sorted(e.path for e in entries) == ["data/big.bin", "data/sub/note.txt", "data/sub/same.bin"]
    digests = {e.path: e.digest for e in entries}
    assert digests["data/big.bin"] == digests["data/sub/same.bin"] == hashlib.sha256(payload).hexdigest()
    out = client.download_artifact(run.id, "data/sub/same.bin", tmp_path / "out.bin")
    assert out.read_bytes() == payload
    into_dir = client.download_artifact(run.id, "data/sub/note.txt", tmp_path)
    assert into_dir == tmp_path / "note.txt"
    assert into_dir.read_text() == "hello"
    assert [e.path for e in client.list_artifacts(run.id, "data/sub")] == [
        "data/sub/note.txt",
        "data/sub/same.bin",
    ]


def test_symlinks_are_refused_before_anything_is_uploaded(client: shipyard.Client, tmp_path: Path) -> None:
    src = tmp_path / "with-link"
    src.mkdir()
    (src / "a.txt").write_text("a")
    (src / "link").symlink_to("/etc/passwd")
    with shipyard.start_run("sdk-symlink", client=client) as run:
        with pytest.raises(InvalidArgument):
            run.log_artifacts(src)
        with pytest.raises(InvalidArgument):
            run.log_artifact(src / "link")
        with pytest.raises(InvalidArgument):
            run.log_artifact(src / "a.txt", "../outside.txt")
    assert [a.path for a in client.list_artifacts(run.id) if not a.path.startswith("_shipyard/")] == []


def test_runs_are_per_thread() -> None:
    seen: dict[str, object] = {}

    def worker() -> None:
        seen["active"] = shipyard.active_run()

    c = shipyard.Client()
    with shipyard.start_run("threads", client=c):
        th = threading.Thread(target=worker)
        th.start()
        th.join()
    assert seen["active"] is None  # a new thread does not inherit another thread's run


def test_a_corrupted_blob_is_detected_on_download(tmp_path: Path) -> None:
    client = shipyard.Client(str(tmp_path / "home"))
    (tmp_path / "f.bin").write_bytes(b"original bytes")
    with shipyard.start_run("corrupt", client=client) as run:
        entry = run.log_artifact(tmp_path / "f.bin")
    blob = next((tmp_path / "home" / "artifacts" / "blobs").rglob(entry.digest))
    blob.write_bytes(b"tampered bytes")
    with pytest.raises(IntegrityError):
        client.download_artifact(run.id, "f.bin", tmp_path / "back.bin")
    assert not (tmp_path / "back.bin").exists()


def test_buffer_keeps_points_when_the_hub_is_down_and_reports_it(tmp_path: Path) -> None:
    home = tmp_path / "hub"
    with HubProcess(home) as hub:
        client = shipyard.Client(hub.url)
        run = shipyard.start_run("outage", client=client)
        run.log_metric("before", 1.0)
        run.flush()
    for step in range(100):
        run.log_metric("during", float(step), step=step)
    buffer = run._buffer
    assert isinstance(buffer, MetricBuffer)
    with pytest.raises(FlushError) as info:
        run.flush()
    assert "100 metric points" in str(info.value)
    assert buffer.pending == 100  # nothing dropped
    with HubProcess(home, port=hub.port):  # the hub comes back on the same address
        run.flush()
        assert buffer.pending == 0
        run.end()
        assert client.get_metric_history(run.id, "during").steps == list(range(100))
        assert client.get_run(run.id).status is RunStatus.FINISHED


def test_an_active_run_of_another_backend_is_not_a_parent(hub: HubProcess, tmp_path: Path) -> None:
    local = shipyard.Client(str(tmp_path / "elsewhere"))
    remote = shipyard.Client(hub.url)
    with shipyard.start_run("outer", client=local), shipyard.start_run("inner", client=remote) as inner:
        pass
    assert remote.get_run(inner.id).parent_run_id is None
    with shipyard.start_run("outer", client=remote) as outer, shipyard.start_run("inner", client=remote) as child:
        pass
    assert remote.get_run(child.id).parent_run_id == outer.id


def test_experiment_names_are_never_mistaken_for_ids(client: shipyard.Client) -> None:
    first = client.create_run("first-experiment")  # gets some small numeric id
    numeric_name = first.experiment_id  # an experiment *named* like that id
    run = client.create_run(numeric_name)
    assert client.get_run(run.id).experiment_id != first.experiment_id
    assert client.get_experiment(client.get_run(run.id).experiment_id).name == numeric_name
    by_id = client.create_run(experiment_id=first.experiment_id)
    assert by_id.experiment_id == first.experiment_id
    names = [r.id for r in client.search_runs([numeric_name]).items]
    assert names == [run.id]
    with pytest.raises(InvalidArgument):
        client.create_run("x", experiment_id=first.experiment_id)
    with pytest.raises(NotFound):
        client.search_runs(["no-such-experiment"])


def test_metric_step_and_timestamp_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        shipyard.Metric("loss", 0.5, 1700000000000, 3)  # type: ignore[misc]  # MLflow's positional order
    assert shipyard.Metric("loss", 0.5, step=3, timestamp=1).step == 3
