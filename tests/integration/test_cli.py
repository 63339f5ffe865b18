"""The CLI against a real local home (and a real hub for remote mode)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import shipyard
from shipyard.cli.main import app
from shipyard.testing import HubProcess

runner = CliRunner()

COMMANDS = [
    [],
    ["server"],
    ["quickstart"],
    ["db"],
    ["db", "upgrade"],
    ["experiments"],
    ["experiments", "list"],
    ["runs"],
    ["runs", "list"],
    ["runs", "show"],
    ["runs", "compare"],
    ["runs", "manifest"],
    ["runs", "diff"],
    ["reproduce"],
    ["datasets"],
    ["datasets", "list"],
    ["datasets", "show"],
    ["lineage"],
    ["models"],
    ["models", "list"],
    ["models", "show"],
    ["models", "register"],
    ["models", "alias"],
    ["models", "build"],
    ["models", "import"],
    ["models", "export"],
    ["models", "card"],
    ["serve"],
    ["deploy"],
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "shipyard")
def test_every_command_has_help(cmd: list[str]) -> None:
    result = runner.invoke(app, [*cmd, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    if len(cmd) == 2 or cmd in (["server"], ["quickstart"], ["reproduce"], ["lineage"], ["serve"], ["deploy"]):
        assert "Example" in result.output


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "cli-home"
    client = shipyard.Client(str(home))
    for lr in (0.1, 0.5):
        with shipyard.start_run("cli", name=f"lr-{lr}", client=client) as run:
            run.log_params({"lr": lr, "model": "rf"})
            run.log_metric("auc", 0.8 + lr / 10)
    client.close()
    return home


def _json(args: list[str], home: Path) -> object:
    result = runner.invoke(app, [*args, "--tracking-uri", str(home), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_listing_showing_and_comparing(home: Path) -> None:
    exps = _json(["experiments", "list"], home)
    assert [e["name"] for e in exps] == ["Default", "cli"]  # type: ignore[union-attr]
    runs = _json(["runs", "list", "-e", "cli", "-o", "metrics.auc DESC"], home)["runs"]  # type: ignore[index]
    assert [r["name"] for r in runs] == ["lr-0.5", "lr-0.1"]
    filtered = _json(["runs", "list", "-f", 'params.lr = "0.1"'], home)["runs"]  # type: ignore[index]
    assert [r["name"] for r in filtered] == ["lr-0.1"]
    shown = _json(["runs", "show", runs[0]["id"]], home)
    assert shown["run"]["params"]["lr"] == "0.5"  # type: ignore[index]
    compared = _json(["runs", "compare", runs[0]["id"], runs[1]["id"]], home)
    assert compared["rows"]["params.lr"] == ["0.5", "0.1"]  # type: ignore[index]


def test_tables_for_people(home: Path) -> None:
    result = runner.invoke(app, ["runs", "list", "--tracking-uri", str(home)], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "lr-0.1" in result.output
    assert "FINISHED" in result.output
    assert "auc" in result.output
    ids = [r["id"] for r in _json(["runs", "list"], home)["runs"]]  # type: ignore[index]
    result = runner.invoke(app, ["runs", "compare", *ids, "--tracking-uri", str(home)], env={"COLUMNS": "200"})
    assert "params.lr" in result.output
    assert "params.model" not in result.output


def test_errors_are_one_clear_line_with_a_nonzero_exit(home: Path) -> None:
    result = runner.invoke(app, ["runs", "show", "nope", "--tracking-uri", str(home)])
    assert result.exit_code == 1
    assert "NOT_FOUND" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["runs", "list", "-f", "metrics.auc >", "--tracking-uri", str(home)])
    assert result.exit_code == 2
    assert "INVALID_ARGUMENT" in result.output


def test_remote_mode_reads_the_hub(hub: HubProcess) -> None:
    c = shipyard.Client(hub.url)
    with shipyard.start_run("cli-remote", client=c) as run:
        run.log_metric("m", 1.0)
    data = json.loads(runner.invoke(app, ["runs", "list", "-e", "cli-remote", "-t", hub.url, "--json"]).output)
    assert [r["id"] for r in data["runs"]] == [run.id]


def test_db_upgrade_creates_and_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "db", "upgrade", "--metadata-uri", url],
        capture_output=True,
        text=True,
    )
    assert first.returncode == 0, first.stderr
    assert "Upgraded" in first.stdout
    again = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "db", "upgrade", "--metadata-uri", url],
        capture_output=True,
        text=True,
    )
    assert "up to date" in again.stdout
