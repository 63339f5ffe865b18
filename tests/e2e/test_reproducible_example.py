"""Issue 3's journey on the scikit-learn example: logged twice from one commit, the manifests share
a digest; `shipyard reproduce` says "reproduced"; a changed seed says "differs" and names metrics."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard
from shipyard.sdk.manifests import load_manifest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "reproducible_training.py"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    shutil.copy(EXAMPLE, repo / "train.py")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "CI")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "example")
    return repo


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    return {**env, "SHIPYARD_HOME": str(home), "COLUMNS": "200"}


def _train(repo: Path, home: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "train.py", *args], cwd=repo, env=_env(home), capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    match = re.search(r"run ([0-9a-f]{32}): roc_auc=([0-9.]+)", out.stdout)
    assert match is not None, out.stdout
    assert float(match.group(2)) > 0.95  # the model really learned something
    return match.group(1)


def test_same_commit_same_digest_then_reproduced(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    first, second = _train(repo, home), _train(repo, home)
    client = shipyard.Client(str(home))
    a, b = load_manifest(client, first), load_manifest(client, second)
    assert a["digest"] == b["digest"]
    seeds = a["reproducible"]["seeds"]["seeds"]
    assert seeds["python"] == seeds["numpy"] == 42
    assert seeds.get("torch") == (42 if importlib.util.find_spec("torch") else None)  # seeded when installed
    assert any(d.startswith("scikit-learn==") for d in a["reproducible"]["packages"]["distributions"])
    values = [{k: m.value for k, m in client.get_run(r).metrics.items()} for r in (first, second)]
    assert values[0] == values[1]  # seeded: identical numbers
    inputs = [client.get_run_datasets(r) for r in (first, second)]
    assert [(i.name, i.role) for i in inputs[0]] == [("breast-cancer", "train"), ("breast-cancer", "test")]
    assert [i.digest for i in inputs[0]] == [i.digest for i in inputs[1]]  # the same split: the same versions
    assert inputs[0][0].version is not None and inputs[0][0].version.rows == 426

    out = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "reproduce", first, "--reuse-env", "-t", str(home)],
        env=_env(home), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "reproduced" in out.stdout
    for metric in ("accuracy", "roc_auc", "log_loss"):
        assert metric in out.stdout
    assert out.stdout.count("same data") == 2  # both splits re-created with the same content


def test_a_changed_seed_differs(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_id = _train(repo, home)
    (repo / "train.py").write_text(EXAMPLE.read_text().replace("default=42", "default=43"))
    _git(repo, "commit", "-q", "-am", "other seed")  # the recorded run still points at the old commit
    client = shipyard.Client(str(home))
    other = _train(repo, home)
    assert load_manifest(client, other)["digest"] != load_manifest(client, run_id)["digest"]
    out = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "reproduce", other, "--reuse-env", "-t", str(home)],
        env=_env(home), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0  # the new run reproduces itself...
    diff = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "runs", "diff", run_id, other, "-t", str(home), "--json"],
        env=_env(home), capture_output=True, text=True,
    )  # fmt: skip
    assert '"key": "python"' in diff.stdout and '"a": 42' in diff.stdout  # ...and differs from the first by seed
    assert '"key": "breast-cancer (train)"' in diff.stdout  # another seed, another split: other data
