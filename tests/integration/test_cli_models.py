"""shipyard models list|show|register|alias|build on a real home."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import shipyard
from shipyard.cli.main import app
from shipyard.flavors.bundle import load_bundle, unpack_bundle

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path) -> dict[str, Any]:
    home = tmp_path / "cli-home"
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    client = shipyard.Client(str(home))
    with shipyard.start_run("cli-models", client=client, capture=False) as run:
        run.log_dataset(X.assign(target=y), name="iris")
        run.log_model(clf, input_example=X.head(3))
    client.close()
    return {"home": str(home), "run": run.id, "X": X, "clf": clf}


def _ok(args: list[str], env: dict[str, Any]) -> str:
    result = runner.invoke(app, [*args, "--tracking-uri", env["home"]], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_register_alias_show_and_build(home: dict[str, Any], tmp_path: Path) -> None:
    out = _ok(["models", "register", f"runs:/{home['run']}/model", "iris-clf", "-d", "baseline"], home)
    assert "models:/iris-clf/1" in out and "shipyard models alias iris-clf production 1" in out
    assert "→ v1" in _ok(["models", "alias", "iris-clf", "production", "1"], home)
    listed = json.loads(_ok(["models", "list", "--json"], home))["models"]
    assert [(m["name"], m["latest_version"], m["aliases"]) for m in listed] == [("iris-clf", 1, {"production": 1})]
    shown = json.loads(_ok(["models", "show", "models:/iris-clf@production", "--json"], home))
    assert shown["version"]["description"] == "baseline" and shown["version"]["run_id"] == home["run"]
    assert len(shown["datasets"]) == 1  # lineage: the data the run used
    text = _ok(["models", "show", "models:/iris-clf@production"], home)
    assert "petal width (cm)" in text and "trained on: iris (train)" in text

    build = tmp_path / "build"
    _ok(["models", "build", "models:/iris-clf@production", "-o", str(build), "--archive"], home)
    assert "FROM python:3.11-slim" in (build / "Dockerfile").read_text()
    requirements = (build / "requirements.txt").read_text().splitlines()
    assert any(r.startswith("scikit-learn==") for r in requirements)
    model = load_bundle(build / "bundle")
    assert (model(home["X"]) == home["clf"].predict(home["X"])).all()
    archive = build / "iris-clf-1.tar.gz"
    with tarfile.open(archive) as tar:
        assert "manifest.json" in tar.getnames()
    assert unpack_bundle(archive, tmp_path / "from-archive").digest == model.digest

    lineage = json.loads(_ok(["lineage", home["run"], "--json"], home))
    assert lineage["model_versions"] == ["models:/iris-clf/1"]
    assert "Deleted alias production" in _ok(["models", "alias", "iris-clf", "production", "--delete"], home)
    assert json.loads(_ok(["models", "list", "--json"], home))["models"][0]["aliases"] == {}


def test_models_errors_are_clear(home: dict[str, Any]) -> None:
    result = runner.invoke(app, ["models", "show", "models:/nope@production", "--tracking-uri", home["home"]])
    assert result.exit_code == 1 and "NOT_FOUND" in result.output
    result = runner.invoke(app, ["models", "register", "not-a-run-uri", "m", "--tracking-uri", home["home"]])
    assert result.exit_code == 2 and "runs:/RUN_ID" in result.output
    result = runner.invoke(app, ["models", "alias", "m", "latest", "1", "--tracking-uri", home["home"]])
    assert result.exit_code != 0 and "Traceback" not in result.output
    empty = runner.invoke(app, ["models", "list", "--tracking-uri", str(Path(home["home"]).parent / "none")])
    assert "No models yet" in empty.output


def test_model_card_from_what_is_known_plus_what_people_write(home: dict[str, Any], tmp_path: Path) -> None:
    _ok(["models", "register", f"runs:/{home['run']}/model", "carded"], home)
    md = _ok(["models", "card", "models:/carded/1"], home)
    assert "## Intended use" in md and "Not written yet" in md
    assert "| iris (train) |" in md and "| petal width (cm) | double |" in md  # training data and its profile
    assert f"{home['run']}" in md  # lineage
    html_file = tmp_path / "card.html"
    edits = ["--intended-use", "Sort <iris> flowers", "--limitations", "150 rows only"]
    _ok(["models", "card", "models:/carded/1", *edits, "--html", str(html_file), "-o", str(tmp_path / "card.md")], home)
    page = html_file.read_text()
    assert "Sort &lt;iris&gt; flowers" in page and "<table>" in page and "150 rows only" in page
    assert "Sort <iris> flowers" in (tmp_path / "card.md").read_text()
    build = tmp_path / "build"
    _ok(["models", "build", "models:/carded/1", "-o", str(build)], home)
    assert "Sort <iris> flowers" in (build / "MODEL_CARD.md").read_text()


def test_deploy_writes_kubernetes_manifests(home: dict[str, Any], tmp_path: Path) -> None:
    import yaml

    _ok(["models", "register", f"runs:/{home['run']}/model", "Iris_Clf"], home)
    out = tmp_path / "k8s.yaml"
    _ok(["deploy", "models:/Iris_Clf/1", "--target", "k8s", "-o", str(out), "--image", "reg.local/iris:1"], home)
    deployment, service, hpa = yaml.safe_load_all(out.read_text())
    assert [d["kind"] for d in (deployment, service, hpa)] == ["Deployment", "Service", "HorizontalPodAutoscaler"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "reg.local/iris:1" and deployment["metadata"]["name"] == "iris-clf"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert "Iris_Clf/1=bundle" in container["args"]
    assert container["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "model-api-keys"
    assert service["spec"]["ports"][0]["targetPort"] == 8080
    assert hpa["spec"]["scaleTargetRef"]["name"] == "iris-clf" and hpa["spec"]["minReplicas"] == 2
