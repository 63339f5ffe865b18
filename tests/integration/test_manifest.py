"""Run manifests, captured for real: a training script in a real git repository, run as a process."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard
from shipyard.sdk.manifests import load_manifest

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
GIT_TOKEN = "ghp_0123456789abcdefghijABCDEFGHIJ"
ARG_TOKEN = "tok-9f8e7d6c5b4a"

SCRIPT = """
import sys
import shipyard

shipyard.seed_everything(int(sys.argv[1]))
with shipyard.start_run("repro") as run:
    run.log_metric("loss", 0.5)
print(run.id)
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "CI")
    (repo / "train.py").write_text(SCRIPT)
    (repo / "requirements.txt").write_text("scikit-learn>=1.4\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "train")
    _git(repo, "remote", "add", "origin", f"https://ci:{GIT_TOKEN}@github.com/acme/churn.git")
    return repo


def _train(repo: Path, home: Path, seed: int = 7) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_HOME=str(home), AWS_SECRET_ACCESS_KEY=SECRET_KEY, OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "train.py", str(seed), f"--api-token={ARG_TOKEN}"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_same_commit_gives_the_same_digest_and_changes_show(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    first, second = _train(repo, home), _train(repo, home)
    client = shipyard.Client(str(home))
    a, b = load_manifest(client, first), load_manifest(client, second)
    assert a["digest"] == b["digest"]
    assert a["captured_at"] <= b["captured_at"]
    git = a["reproducible"]["git"]
    assert git["commit"] == _git(repo, "rev-parse", "HEAD").strip()
    assert git["remote"] == "https://github.com/acme/churn.git"
    assert git["dirty"] is False and git["diff_sha256"] is None
    seeds = a["reproducible"]["seeds"]["seeds"]
    assert seeds["python"] == 7 and set(seeds.values()) == {7}  # numpy/torch too when installed
    assert ("numpy" in seeds) == (importlib.util.find_spec("numpy") is not None)
    assert a["reproducible"]["packages"]["lock_files"].keys() == {"requirements.txt"}
    assert a["reproducible"]["env"]["variables"]["OMP_NUM_THREADS"] == "1"
    assert a["reproducible"]["command"] == {"entry_point": "train.py", "args": ["7", "--api-token=<redacted>"]}
    assert all(c["status"] == "ok" for c in a["collectors"].values())
    run = client.get_run(first)
    assert run.tags["shipyard.manifest.sha256"] == a["digest"]
    assert run.tags["shipyard.git.commit"] == git["commit"]

    assert load_manifest(client, _train(repo, home, seed=8))["digest"] != a["digest"]  # a seed moved

    changed = SCRIPT.replace("0.5", "0.25")
    (repo / "train.py").write_text(changed)
    (repo / "helper.py").write_text("X = 1\n")  # a small untracked source file
    dirty_id = _train(repo, home)
    dirty = load_manifest(client, dirty_id)
    assert dirty["digest"] != a["digest"]
    assert dirty["reproducible"]["git"]["dirty"] is True
    assert dirty["reproducible"]["git"]["untracked_sources"] == ["helper.py"]

    # the stored patch rebuilds the working tree from the recorded commit
    patch = client.download_artifact(dirty_id, "_shipyard/git/code.diff", tmp_path / "code.diff")
    _git(repo, "checkout", "-q", "--", ".")
    (repo / "helper.py").unlink()
    _git(repo, "apply", str(patch))
    assert (repo / "train.py").read_text() == changed
    assert (repo / "helper.py").read_text() == "X = 1\n"


def test_secrets_never_reach_the_store(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_id = _train(repo, home)
    stored = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.startswith("shipyard.db") for p in stored)
    for path in stored:  # the database (and its WAL) and every artifact blob, byte for byte
        data = path.read_bytes()
        for secret in (SECRET_KEY, GIT_TOKEN, ARG_TOKEN):
            assert secret.encode() not in data, (secret, path)
    doc = load_manifest(shipyard.Client(str(home)), run_id)
    assert "AWS_SECRET_ACCESS_KEY" not in doc["reproducible"]["env"]["variables"]


def test_cli_prints_the_manifest(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_id = _train(repo, home)
    out = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "runs", "manifest", run_id, "--tracking-uri", str(home)],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "160"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    digest = load_manifest(shipyard.Client(str(home)), run_id)["digest"]
    assert f"sha256:{digest}" in out.stdout
    assert "train.py" in out.stdout and "'python': 7" in out.stdout


def test_runs_diff_shows_the_seed_the_code_and_the_metric_that_moved(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    before = _train(repo, home, seed=7)
    (repo / "train.py").write_text(SCRIPT.replace("0.5", "0.25"))
    after = _train(repo, home, seed=8)
    out = subprocess.run(
        [sys.executable, "-m", "shipyard.cli", "runs", "diff", before, after, "-t", str(home), "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    diff = json.loads(out.stdout)
    sections = diff["sections"]
    assert diff["same"] is False
    assert {c["key"] for c in sections["seeds"]} >= {"python"}
    assert all((c["a"], c["b"]) == (7, 8) for c in sections["seeds"])
    assert sections["metrics"] == [{"key": "loss", "a": 0.5, "b": 0.25}]
    assert {c["key"] for c in sections["code"]} >= {"dirty", "diff_sha256"}
    assert sections["dependencies"] == [] and sections["python"] == [] and sections["hardware"] == []
    assert [c["key"] for c in sections["environment"]] == ["args", "PYTHONHASHSEED"]  # both carry the seed
