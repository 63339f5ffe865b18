"""Datasets through the SDK in local mode and against a real hub, and the hub's API errors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from sklearn.datasets import load_iris, load_wine

import shipyard
from shipyard.domain.datasets import DatasetKind
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.testing import HubProcess


@pytest.fixture(params=["local", "remote"])
def client(request: pytest.FixtureRequest, hub: HubProcess, tmp_path: Path) -> Iterator[shipyard.Client]:
    c = shipyard.Client(hub.url if request.param == "remote" else str(tmp_path / "local-home"))
    yield c
    c.close()


def _blobs(client: shipyard.Client, hub: HubProcess, tmp_path: Path) -> set[str]:
    home = hub.home if client.is_remote else tmp_path / "local-home"
    return {p.name for p in home.rglob("blobs/sha256/*/*")}


def _iris() -> pd.DataFrame:
    frame: pd.DataFrame = load_iris(as_frame=True).frame
    return frame


def test_same_content_is_one_version_stored_once(client: shipyard.Client, hub: HubProcess, tmp_path: Path) -> None:
    df = _iris()
    with shipyard.start_run("datasets-dedup", client=client, capture=False) as run:
        first = run.log_dataset(df, name="iris")
        before = _blobs(client, hub, tmp_path)
        second = run.log_dataset(pl.from_pandas(df), name="iris", role="test")
        third = run.log_dataset(pa.Table.from_pandas(df), name="flowers", role="validation")
        assert _blobs(client, hub, tmp_path) == before  # nothing stored again
    assert first.digest == second.digest == third.digest
    v = first.version
    assert v is not None and v.kind is DatasetKind.TABLE and v.format == "parquet"
    assert v.rows == 150 and v.columns == list(df.columns)
    assert v.profile["target"]["distinct"] == 3
    assert v.profile["petal length (cm)"]["min"] == df["petal length (cm)"].min()
    table = client.load_dataset(first.digest[:10])
    assert table.to_pandas().equals(df)


def test_a_changed_value_is_a_new_version(client: shipyard.Client) -> None:
    df = _iris()
    changed = df.copy()
    changed.loc[149, "sepal width (cm)"] = 9.9
    with shipyard.start_run("datasets-versions", client=client, capture=False) as run:
        a = run.log_dataset(df, name="iris-versions")
    with shipyard.start_run("datasets-versions", client=client, capture=False) as run2:
        b = run2.log_dataset(changed, name="iris-versions")
    assert a.digest != b.digest
    history = client.get_dataset_history("iris-versions")
    assert [i.digest for i in history] == [a.digest, b.digest]
    assert [i.run_id for i in history] == [run.id, run2.id]


def test_files_are_hashed_while_stored_and_profiled(client: shipyard.Client, tmp_path: Path) -> None:
    wine: pd.DataFrame = load_wine(as_frame=True).frame
    csv = tmp_path / "wine.csv"
    wine.to_csv(csv, index=False)
    parquet = tmp_path / "wine.parquet"
    wine.to_parquet(parquet, index=False)
    raw = tmp_path / "weights.bin"
    raw.write_bytes(np.random.default_rng(3).bytes(3 << 20))
    with shipyard.start_run("datasets-files", client=client, capture=False) as run:
        c = run.log_dataset(csv, name="wine-csv")
        p = run.log_dataset(parquet, name="wine-parquet", role="validation")
        b = run.log_dataset(str(raw), name="blob", role="other")
    assert c.digest == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert b.digest == hashlib.sha256(raw.read_bytes()).hexdigest()
    assert c.version is not None and c.version.rows == len(wine) and c.version.format == "csv"
    assert c.version.profile["alcohol"]["max"] == pytest.approx(wine["alcohol"].max())
    # Parquet: schema, rows and min/max from the footer alone
    assert p.version is not None and p.version.rows == len(wine)
    assert p.version.profile["alcohol"]["min"] == pytest.approx(wine["alcohol"].min())
    assert b.version is not None and b.version.kind is DatasetKind.FILE and b.version.rows is None
    out = client.download_dataset(b.digest, tmp_path / "back.bin")
    assert out.read_bytes() == raw.read_bytes()
    assert client.load_dataset(c.digest).num_rows == len(wine)


def test_folders_and_nd_arrays(client: shipyard.Client, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    (folder / "cats").mkdir(parents=True)
    (folder / "cats" / "a.txt").write_text("meow")
    (folder / "dogs.txt").write_text("woof")
    with shipyard.start_run("datasets-folder", client=client, capture=False) as run:
        f1 = run.log_dataset(folder, name="pets")
        (folder / "dogs.txt").write_text("woof!")
        f2 = run.log_dataset(folder, name="pets", role="test")
        cube = run.log_dataset(np.arange(24, dtype=np.float32).reshape(2, 3, 4), name="cube", role="other")
    assert f1.digest != f2.digest
    assert f1.version is not None and f1.version.kind is DatasetKind.FOLDER
    assert f1.version.profile["_table"]["files"] == 2 and f1.version.size == 8
    assert cube.version is not None and cube.version.kind is DatasetKind.ARRAY and cube.version.rows == 2
    assert cube.version.profile["array"]["max"] == 23.0


def test_lineage_both_ways(client: shipyard.Client) -> None:
    df = _iris().assign(source="lineage-test")  # content no other test logs to the shared hub
    with shipyard.start_run("datasets-lineage", client=client, capture=False) as r1:
        r1.log_dataset(df, name="iris-lineage")
    with shipyard.start_run("datasets-lineage", client=client, capture=False) as r2:
        shipyard.log_dataset(df, name="iris-lineage", role="validation")
    used = client.get_run_datasets(r2.id)
    assert [(i.name, i.role) for i in used] == [("iris-lineage", "validation")]
    version, runs = client.get_dataset_runs(used[0].digest)
    assert {i.run_id for i in runs} == {r1.id, r2.id}
    assert version.rows == 150
    summary = next(s for s in client.list_datasets() if s.name == "iris-lineage")
    assert (summary.versions, summary.runs) == (1, 2)


def test_sdk_errors(client: shipyard.Client, tmp_path: Path) -> None:
    with shipyard.start_run("datasets-errors", client=client, capture=False) as run:
        with pytest.raises(InvalidArgument) as err:
            run.log_dataset(_iris(), name="iris", role="training")
        assert err.value.field == "role"
        with pytest.raises(InvalidArgument) as err:
            run.log_dataset({"a": 1}, name="dict")
        assert err.value.field == "data"
        with pytest.raises(InvalidArgument):
            run.log_dataset(tmp_path / "missing.csv", name="missing")
        link = tmp_path / "link.csv"
        link.symlink_to(tmp_path)
        with pytest.raises(InvalidArgument):
            run.log_dataset(link, name="link")
    with pytest.raises(Conflict):
        client.log_dataset(run.id, _iris(), name="late")
    with pytest.raises(NotFound):
        client.get_dataset_version("0123456789")
    with pytest.raises(NotFound):
        client.get_run_datasets("f" * 32)


# the hub's API -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(hub: HubProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{hub.url}/api/v1", timeout=30) as c:
        yield c


def _run_id(api: httpx.Client) -> str:
    resp = api.post("/runs", json={"experiment_name": "datasets-api"})
    assert resp.status_code == 201
    rid: str = resp.json()["id"]
    return rid


def _body(blob: str, **dataset: Any) -> dict[str, Any]:
    d = {"digest": blob, "kind": "file", "format": "bin", "size": 3, "blob": blob} | dataset
    return {"name": "raw", "role": "train", "dataset": d}


def test_api_stores_blobs_and_validates_versions(api: httpx.Client) -> None:
    run_id = _run_id(api)
    up = api.post("/blobs", content=b"abc", headers={"content-type": "application/octet-stream"})
    assert up.status_code == 201
    blob = up.json()["digest"]
    assert blob == hashlib.sha256(b"abc").hexdigest() and up.json()["size"] == 3
    got = api.get(f"/blobs/{blob}")
    assert got.content == b"abc" and got.headers["x-shipyard-digest"] == blob

    cases: list[tuple[dict[str, Any], int, str]] = [
        (_body(blob, digest="nothex"), 400, "dataset.digest"),
        (_body(blob, kind="video"), 400, "dataset.kind"),
        (_body("0" * 64), 400, "dataset.blob"),
        (_body(blob, rows=-5), 400, "dataset.rows"),
        (_body(blob, schema=[{"name": "a", "type": "int64"}] * 2), 400, "dataset.schema[1]"),
        ({**_body(blob), "role": "training"}, 400, "role"),
        ({**_body(blob), "name": "../x"}, 400, "name"),
    ]
    for body, status, field in cases:
        resp = api.post(f"/runs/{run_id}/datasets", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["error"]["field"] == field, resp.text
    assert api.get(f"/runs/{run_id}/datasets").json() == {"datasets": []}  # nothing half-stored

    ok = api.post(f"/runs/{run_id}/datasets", json=_body(blob))
    assert ok.status_code == 201 and ok.json()["dataset"]["created_by"]
    assert api.post("/runs/" + "0" * 32 + "/datasets", json=_body(blob)).status_code == 404
    assert api.get("/dataset-versions/zz").status_code == 400
    assert api.get("/dataset-versions/" + "e" * 64).status_code == 404
    assert api.get("/blobs/not-a-digest").json()["error"]["field"] == "digest"
    assert api.get("/blobs/" + "e" * 64).status_code == 404
    listed = api.get(f"/dataset-versions/{blob[:8]}").json()
    assert [r["run_id"] for r in listed["runs"]] == [run_id]
