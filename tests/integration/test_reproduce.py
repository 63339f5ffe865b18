"""`shipyard reproduce` for real: a training script in a git repository, re-run from its manifest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard

SCRIPT = """
import os
import random
import sys

import shipyard

seed = int(os.environ.get("TRAIN_SEED", sys.argv[1]))
shipyard.seed_everything(seed)
values = [float(x) for x in open(sys.argv[2]).read().split()]
with shipyard.start_run("repro") as run:
    run.log_params({"seed": seed})
    rng = random.Random(seed)
    sample = [v * rng.random() for v in values]
    run.log_metric("mean", sum(sample) / len(sample))
    run.log_metric("rows", len(values))
print(run.id)
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path, Path]:
    repo, home, data = tmp_path / "project", tmp_path / "home", tmp_path / "data.txt"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "CI")
    (repo / "train.py").write_text(SCRIPT)
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "train")
    data.write_text(" ".join(str(i) for i in range(1, 101)))
    return repo, home, data


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_") and k != "TRAIN_SEED"}
    return {**env, "SHIPYARD_HOME": str(home), **extra}


def _train(repo: Path, home: Path, data: Path) -> str:
    out = subprocess.run(
        [sys.executable, "train.py", "7", str(data)], cwd=repo, env=_env(home), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()[-1]


def _reproduce(home: Path, run_id: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "reproduce", run_id, "--reuse-env", "-t", str(home), *args],
        env={**_env(home, **env), "COLUMNS": "200"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_run_reproduces_and_the_runs_are_linked(project: tuple[Path, Path, Path]) -> None:
    repo, home, data = project
    run_id = _train(repo, home, data)
    out = _reproduce(home, run_id)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "reproduced" in out.stdout and "differs" not in out.stdout
    client = shipyard.Client(str(home))
    original = client.get_run(run_id)
    new = client.get_run(original.tags["shipyard.reproduced_by"])
    assert new.id != run_id
    assert new.tags["shipyard.reproduces"] == run_id
    assert new.tags["shipyard.reproduce.verdict"] == original.tags["shipyard.reproduce.verdict"] == "reproduced"
    assert new.metrics["mean"].value == original.metrics["mean"].value
    diff = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "runs", "diff", run_id, new.id, "-t", str(home), "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert new.tags["shipyard.manifest.sha256"] == original.tags["shipyard.manifest.sha256"], diff.stdout
    assert subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout.count("\n") == 1


def test_changed_data_differs_and_names_the_metric_that_moved(project: tuple[Path, Path, Path]) -> None:
    repo, home, data = project
    run_id = _train(repo, home, data)
    data.write_text(" ".join(str(i * 2) for i in range(1, 101)))  # same rows, other values
    out = _reproduce(home, run_id, "--rtol", "1e-6")
    assert out.returncode == 3, out.stdout + out.stderr
    assert "differs: mean." in out.stdout  # rows still reproduce; only the mean moved
    verdict = shipyard.Client(str(home)).get_run(run_id).tags["shipyard.reproduce.verdict"]
    assert verdict == "differs"


def test_a_changed_seed_differs(project: tuple[Path, Path, Path]) -> None:
    repo, home, data = project
    run_id = _train(repo, home, data)
    out = _reproduce(home, run_id, TRAIN_SEED="8")
    assert out.returncode == 3, out.stdout + out.stderr
    assert "differs: mean, params" not in out.stdout and "mean" in out.stdout.split("differs:")[-1]


def test_uncommitted_changes_are_reproduced_from_the_recorded_patch(project: tuple[Path, Path, Path]) -> None:
    repo, home, data = project
    (repo / "train.py").write_text(SCRIPT.replace("v * rng.random()", "v * rng.random() + 1.0"))
    run_id = _train(repo, home, data)
    _git(repo, "checkout", "--", ".")  # the working tree no longer has the change
    out = _reproduce(home, run_id)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "git apply" in out.stdout


def test_dry_run_prints_the_plan_and_changes_nothing(project: tuple[Path, Path, Path]) -> None:
    repo, home, data = project
    run_id = _train(repo, home, data)
    out = _reproduce(home, run_id, "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "git worktree add" in out.stdout and "train.py 7" in out.stdout
    assert len(shipyard.Client(str(home)).search_runs().items) == 1


def test_reproduce_against_a_hub(project: tuple[Path, Path, Path], tmp_path: Path) -> None:
    from shipyard.testing import HubProcess

    repo, _, data = project
    with HubProcess(tmp_path / "hub") as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        env["SHIPYARD_TRACKING_URI"] = hub.url
        trained = subprocess.run(
            [sys.executable, "train.py", "7", str(data)], cwd=repo, env=env, capture_output=True, text=True
        )
        assert trained.returncode == 0, trained.stderr
        run_id = trained.stdout.split()[-1]
        out = subprocess.run(
            [sys.executable, "-m", "shipyard.cli", "reproduce", run_id, "--reuse-env", "-t", hub.url],
            env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr
        client = shipyard.Client(hub.url)
        new_id = client.get_run(run_id).tags["shipyard.reproduced_by"]
        assert client.get_run(new_id).metrics["mean"].value == client.get_run(run_id).metrics["mean"].value


def test_a_fresh_environment_plan_pins_versions_and_installs_local_packages_from_their_folder(
    project: tuple[Path, Path, Path],
) -> None:
    repo, home, data = project
    run_id = _train(repo, home, data)
    out = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "reproduce", run_id, "--dry-run", "-t", str(home)],
        env={**_env(home), "COLUMNS": "200"}, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "python -m venv" in out.stdout and "pinned distributions" in out.stdout
    assert "from local folders (shipyard)" in out.stdout  # this checkout is installed in editable mode
