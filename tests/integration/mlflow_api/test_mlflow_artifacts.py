"""The unmodified ``mlflow`` client against the hub's proxied artifact API (``mlflow-artifacts:/``)
and sklearn autologging. Oracle mode and helpers: see test_mlflow_compat.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

if TYPE_CHECKING:
    from mlflow import MlflowClient


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative POSIX path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with nested subfolders, text and binary files (one of 1 MiB)."""
    root = tmp_path / "folder"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "empty-sub").mkdir()  # empty folders are not artifacts
    (root / "top.csv").write_text("a,b\n1,2\n")
    (root / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 4096)
    (root / "sub" / "deeper" / "note.txt").write_text("déjà vu\n", encoding="utf-8")
    (root / "sub" / "deeper" / "with space.txt").write_text("spaced\n")
    return root


def test_artifact_locations_are_proxied(client: MlflowClient, experiment_id: str) -> None:
    assert client.get_experiment(experiment_id).artifact_location == f"mlflow-artifacts:/{experiment_id}"
    run = client.create_run(experiment_id)
    assert run.info.artifact_uri == f"mlflow-artifacts:/{experiment_id}/{run.info.run_id}/artifacts"
    assert client.list_artifacts(run.info.run_id) == []


def test_log_list_and_download_artifacts(
    client: MlflowClient, experiment_id: str, folder: Path, tmp_path: Path
) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    single = tmp_path / "report.txt"
    single.write_bytes(b"hello\n")
    client.log_artifact(run_id, str(single))
    client.log_artifact(run_id, str(single), artifact_path="copies/of")
    client.log_artifacts(run_id, str(folder), artifact_path="data")
    client.log_artifacts(run_id, str(folder / "sub" / "deeper"))  # at the root

    def listing(path: str | None = None) -> list[tuple[str, bool, int | None]]:
        return [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, path)]

    assert listing() == [
        ("copies", True, None),
        ("data", True, None),
        ("note.txt", False, len("déjà vu\n".encode())),
        ("report.txt", False, 6),
        ("with space.txt", False, 7),
    ]
    assert listing("data") == [("data/sub", True, None), ("data/top.csv", False, 8)]
    assert listing("data/sub") == [("data/sub/deeper", True, None), ("data/sub/weights.bin", False, 1 << 20)]
    assert [p for p, _, _ in listing("data/sub/deeper")] == [
        "data/sub/deeper/note.txt",
        "data/sub/deeper/with space.txt",
    ]
    assert listing("copies/of") == [("copies/of/report.txt", False, 6)]
    assert listing("data/top.csv") == []  # a file lists as nothing
    assert listing("no/such/folder") == []

    one = Path(client.download_artifacts(run_id, "data/sub/weights.bin", str(tmp_path / "dl-file")))
    assert one.name == "weights.bin" and one.read_bytes() == (folder / "sub" / "weights.bin").read_bytes()
    whole = Path(client.download_artifacts(run_id, "data", str(tmp_path / "dl-folder")))
    assert tree(whole) == tree(folder)
    everything = Path(client.download_artifacts(run_id, "", str(tmp_path / "dl-all")))
    assert set(tree(everything)) == {
        "copies/of/report.txt",
        *(f"data/{p}" for p in tree(folder)),
        "note.txt",
        "report.txt",
        "with space.txt",
    }


def test_fluent_artifacts_and_uris(client: MlflowClient, experiment_id: str, folder: Path, tmp_path: Path) -> None:
    import mlflow

    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_text("déjà vu ✓\n", "notes/readme.md")
        mlflow.log_dict({"depth": 4, "features": ["a", "b"]}, "config.json")
        mlflow.log_dict({"depth": 4}, "config.yaml")
        mlflow.log_artifacts(str(folder), "inputs")
        mlflow.log_artifact(str(folder / "top.csv"))
        artifact_uri = mlflow.get_artifact_uri()
    run_id = run.info.run_id
    assert artifact_uri == client.get_run(run_id).info.artifact_uri
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/readme.md") == "déjà vu ✓\n"
    assert mlflow.artifacts.load_text(f"{artifact_uri}/notes/readme.md") == "déjà vu ✓\n"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json") == {"depth": 4, "features": ["a", "b"]}
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/config.yaml") == "depth: 4\n"
    config = Path(mlflow.artifacts.download_artifacts(f"runs:/{run_id}/config.json", dst_path=str(tmp_path / "c")))
    assert json.loads(config.read_text()) == {"depth": 4, "features": ["a", "b"]}
    listed = mlflow.artifacts.list_artifacts(run_id=run_id, artifact_path="inputs/sub")
    assert [(f.path, f.is_dir) for f in listed] == [("inputs/sub/deeper", True), ("inputs/sub/weights.bin", False)]
    sub = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="inputs/sub", dst_path=str(tmp_path)))
    assert tree(sub) == tree(folder / "sub")
    by_uri = Path(mlflow.artifacts.download_artifacts(f"{artifact_uri}/top.csv", dst_path=str(tmp_path / "u")))
    assert by_uri.read_text() == "a,b\n1,2\n"


def test_sklearn_autolog(client: MlflowClient, experiment_id: str) -> None:
    import mlflow
    import mlflow.sklearn

    X, y = load_iris(return_X_y=True, as_frame=True)
    mlflow.set_experiment(experiment_id=experiment_id)
    mlflow.sklearn.autolog(silent=True)
    try:
        with mlflow.start_run() as run:
            clf = LogisticRegression(C=0.5, max_iter=300).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)

    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    params = got.data.params
    assert (params["C"], params["max_iter"], params["fit_intercept"], params["solver"]) == (
        "0.5",
        "300",
        "True",
        "lbfgs",
    )
    assert got.data.metrics["training_accuracy_score"] == pytest.approx(clf.score(X, y))
    assert {"training_f1_score", "training_log_loss", "training_roc_auc"} <= set(got.data.metrics)
    assert got.data.tags["estimator_name"] == "LogisticRegression"
    assert got.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert [i.tags[0].value for i in got.inputs.dataset_inputs if i.tags] == ["train"]

    models = mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
    assert [m.source_run_id for m in models] == [run.info.run_id]
    assert [o.model_id for o in got.outputs.model_outputs] == [models[0].model_id]
    loaded = mlflow.pyfunc.load_model(f"models:/{models[0].model_id}")
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
