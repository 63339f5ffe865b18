"""shipyard datasets list|show, shipyard lineage and the datasets part of runs diff, on a real home."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_iris
from typer.testing import CliRunner

import shipyard
from shipyard.cli.main import app

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path) -> dict[str, Any]:
    home = tmp_path / "cli-home"
    df: pd.DataFrame = load_iris(as_frame=True).frame
    changed = df.copy()
    changed.loc[0, "sepal length (cm)"] = 42.0
    csv = tmp_path / "holdout.csv"
    df.tail(30).to_csv(csv, index=False)
    client = shipyard.Client(str(home))
    with shipyard.start_run("cli-datasets", name="first", client=client, capture=False) as a:
        a.log_dataset(df, name="iris")
        a.log_dataset(csv, name="holdout", role="test")
    with shipyard.start_run("cli-datasets", name="second", client=client, capture=False) as b:
        b.log_dataset(changed, name="iris")
        b.log_dataset(csv, name="holdout", role="test")
    client.close()
    return {"home": str(home), "a": a.id, "b": b.id}


def _invoke(args: list[str], env: dict[str, Any]) -> str:
    result = runner.invoke(app, [*args, "--tracking-uri", env["home"]], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_list_and_show_by_name_and_digest(home: dict[str, Any]) -> None:
    listed = json.loads(_invoke(["datasets", "list", "--json"], home))["datasets"]
    assert {(d["name"], d["versions"], d["runs"]) for d in listed} == {("iris", 2, 2), ("holdout", 1, 2)}
    shown = json.loads(_invoke(["datasets", "show", "iris", "--json"], home))
    assert [i["run_id"] for i in shown["inputs"]] == [home["a"], home["b"]]
    first, second = (i["digest"] for i in shown["inputs"])
    assert first != second
    table = _invoke(["datasets", "show", "iris"], home)
    assert "v1" in table and "v2 *" in table  # the latest version is the one profiled
    row = next(line for line in table.split("Profile")[1].splitlines() if "sepal length (cm)" in line)
    assert "42" in row  # the changed value is the new max
    older = _invoke(["datasets", "show", "iris", "--version", first[:8]], home)
    row = next(line for line in older.split("Profile")[1].splitlines() if "sepal length (cm)" in line)
    assert "7.9" in row and "42" not in row  # the old version's max
    by_digest = json.loads(_invoke(["datasets", "show", first[:10], "--json"], home))
    assert by_digest["dataset"]["digest"] == first
    assert [r["run_id"] for r in by_digest["runs"]] == [home["a"]]


def test_lineage_and_diff(home: dict[str, Any]) -> None:
    lineage = json.loads(_invoke(["lineage", home["b"], "--json"], home))
    holdout = next(d for d in lineage["datasets"] if d["name"] == "holdout")
    assert holdout["also_used_by"] == [home["a"]]  # the other direction: who else used this data
    iris = next(d for d in lineage["datasets"] if d["name"] == "iris")
    assert iris["also_used_by"] == []
    tree = _invoke(["lineage", home["b"]], home)
    assert "holdout (test)" in tree and "also used by 1 run" in tree
    diff = json.loads(_invoke(["runs", "diff", home["a"], home["b"], "--json"], home))
    changes = diff["sections"]["datasets"]
    assert [c["key"] for c in changes] == ["iris (train)"]
    assert changes[0]["a"]["rows"] == changes[0]["b"]["rows"] == 150
    text = _invoke(["runs", "diff", home["a"], home["b"]], home)
    assert "iris (train)" in text


def test_unknown_dataset_is_a_clear_error(home: dict[str, Any]) -> None:
    result = runner.invoke(app, ["datasets", "show", "nope", "--tracking-uri", home["home"]])
    assert result.exit_code == 1
    assert "NOT_FOUND" in result.output and "Traceback" not in result.output
    empty = runner.invoke(app, ["datasets", "list", "--tracking-uri", str(Path(home["home"]).parent / "empty")])
    assert "No datasets yet" in empty.output
