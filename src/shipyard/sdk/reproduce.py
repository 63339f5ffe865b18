"""``shipyard reproduce``: rebuild a run from its manifest, run it again, compare the metrics.

The plan: check out the recorded commit into a scratch git worktree, apply the recorded patch
(tracked changes and small untracked sources), take the current interpreter (``reuse_env``) or build
a fresh venv with the recorded distributions, re-run the recorded command with the recorded
environment variables (the code re-seeds itself through ``seed_everything``), find the new run by a
one-off tag, compare its metrics with the original's within a tolerance, and link the two runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.domain.reproduction import DatasetVerdict, MetricVerdict, compare_datasets, compare_metrics
from shipyard.errors import InvalidArgument, NotFound
from shipyard.sdk.client import Client
from shipyard.sdk.manifests import PREFIX, load_manifest

__all__ = ["Plan", "Reproduction", "make_plan", "reproduce"]

TOKEN_ENV = "SHIPYARD_REPRODUCE_TOKEN"  # noqa: S105 - a variable name, not a secret
OF_ENV = "SHIPYARD_REPRODUCES"
TOKEN_TAG = "shipyard.reproduce.token"  # noqa: S105 - a tag name


@dataclass(frozen=True)
class Plan:
    """What :func:`reproduce` will do, step by step (``--dry-run`` prints it)."""

    run_id: str
    repo: Path
    commit: str
    patch: bool
    entry_point: str
    args: list[str]
    env: dict[str, str]
    reuse_env: bool
    distributions: list[str]
    local: dict[str, str] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reproduction:
    """The outcome: the new run, one verdict per metric and one per dataset."""

    original: str
    new: str
    verdicts: list[MetricVerdict]
    datasets: list[DatasetVerdict] = field(default_factory=list)

    @property
    def reproduced(self) -> bool:
        return all(v.reproduced for v in self.verdicts) and all(d.reproduced for d in self.datasets)

    @property
    def moved(self) -> list[str]:
        """What did not reproduce: metric keys, then datasets as ``dataset NAME (ROLE)``."""
        return [v.key for v in self.verdicts if not v.reproduced] + [
            f"dataset {d.key}" for d in self.datasets if not d.reproduced
        ]


def make_plan(client: Client, run_id: str, *, reuse_env: bool) -> Plan:
    """Read the run's manifest and decide every step, without changing anything."""
    doc = load_manifest(client, run_id)
    rep, host = doc["reproducible"], doc["host"]
    git = rep.get("git", {})
    if not git.get("commit"):
        raise InvalidArgument(
            f"run {run_id} was not started from a git repository; nothing to check out", field="run_id"
        )
    repo = Path(host.get("git", {}).get("root", ""))
    if not (repo / ".git").exists():
        raise NotFound(
            f"the run's repository {repo} is not on this machine; clone {git.get('remote') or 'it'} there first",
            field="run_id",
        )
    command = rep.get("command", {})
    entry, args = command.get("entry_point", ""), list(command.get("args", []))
    if not entry or entry == "-c":
        raise InvalidArgument(
            f"run {run_id} was started from `python -c`; there is no script to re-run", field="run_id"
        )
    if any("<redacted>" in a for a in args):
        raise InvalidArgument(
            "the recorded command has redacted (secret) arguments; it cannot be re-run as is", field="run_id"
        )
    env = dict(rep.get("env", {}).get("variables", {}))
    dists = list(rep.get("packages", {}).get("distributions", []))
    local = dict(host.get("packages", {}).get("local", {}))
    steps = [
        f"git worktree add --detach <scratch>/src {git['commit'][:12]}   (from {repo})",
        *(["git apply <recorded patch>   (tracked changes and untracked sources)"] if git.get("diff_sha256") else []),
        f"use {sys.executable}"
        if reuse_env
        else f"python -m venv <scratch>/venv; pip install {len(dists) - len(local)} pinned distributions"
        + (f" and {len(local)} from local folders ({', '.join(sorted(local))})" if local else ""),
        f"run: python {entry} {' '.join(args)}   with {_env_text(env)}",
        f"compare metrics with run {run_id}; tag both runs with the link",
    ]
    return Plan(
        run_id, repo, git["commit"], bool(git.get("diff_sha256")), entry, args, env, reuse_env, dists, local, steps
    )


def _env_text(env: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(env.items())) or "no extra environment"


@contextmanager
def _worktree(plan: Plan, client: Client, scratch: Path) -> Iterator[Path]:
    src = scratch / "src"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(src), plan.commit], cwd=plan.repo, check=True, capture_output=True
    )
    try:
        if plan.patch:
            patch = client.download_artifact(plan.run_id, f"{PREFIX}/git/code.diff", scratch / "code.diff")
            subprocess.run(["git", "apply", str(patch)], cwd=src, check=True, capture_output=True)
        yield src
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(src)], cwd=plan.repo, capture_output=True, check=False
        )


def _python(plan: Plan, scratch: Path) -> str:
    if plan.reuse_env:
        return sys.executable
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    local = {name.lower() for name in plan.local}
    pins = [
        d
        for d in plan.distributions
        if d.split("==")[0].lower() not in local and not d.lower().startswith(("pip==", "setuptools=="))
    ]
    missing = [name for name, path in plan.local.items() if not Path(path).exists()]
    if missing:
        raise NotFound(f"locally installed distributions are not on this machine: {', '.join(missing)}", field="run_id")
    subprocess.run([python, "-m", "pip", "install", "--quiet", *pins, *plan.local.values()], check=True)
    return python


def reproduce(client: Client, plan: Plan, *, rtol: float = 1e-9, atol: float = 0.0) -> Reproduction:
    """Carry out ``plan`` (from :func:`make_plan`) and compare; see the module docstring."""
    run_id = plan.run_id
    original = client.get_run(run_id)
    token = uuid.uuid4().hex
    scratch = Path(tempfile.mkdtemp(prefix="shipyard-reproduce-"))
    try:
        python = _python(plan, scratch)
        with _worktree(plan, client, scratch) as src:
            env = {**os.environ, **plan.env, TOKEN_ENV: token, OF_ENV: run_id}
            if client.is_remote:
                env["SHIPYARD_TRACKING_URI"] = client.settings.tracking_uri or ""
            else:
                env["SHIPYARD_HOME"] = str(client.settings.home)
                env.pop("SHIPYARD_TRACKING_URI", None)
            cmd = (
                [python, *plan.entry_point.split(" ", 1)]
                if plan.entry_point.startswith("-m ")
                else [python, plan.entry_point]
            )
            done = subprocess.run([*cmd, *plan.args], cwd=src, env=env, check=False)
            if done.returncode != 0:
                raise InvalidArgument(f"the re-run exited with code {done.returncode}", field="run_id")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    found = client.search_runs(filter=f'tags.{TOKEN_TAG} = "{token}"', max_results=2).items
    if not found:
        raise NotFound("the re-run finished but logged no run (does it call shipyard.start_run?)", field="run_id")
    new = found[0]
    verdicts = compare_metrics(
        {k: m.value for k, m in original.metrics.items()}, {k: m.value for k, m in new.metrics.items()}, rtol, atol
    )
    datasets = compare_datasets(client.get_run_datasets(run_id), client.get_run_datasets(new.id))
    result = Reproduction(run_id, new.id, verdicts, datasets)
    verdict = "reproduced" if result.reproduced else "differs"
    client.set_tags(new.id, {"shipyard.reproduce.verdict": verdict})  # shipyard.reproduces: set at start_run
    client.set_tags(run_id, {"shipyard.reproduced_by": new.id, "shipyard.reproduce.verdict": verdict})
    return result


def reproduction_tags() -> dict[str, Any]:
    """Tags a run started under ``shipyard reproduce`` carries (read from the environment)."""
    token, of = os.environ.get(TOKEN_ENV), os.environ.get(OF_ENV)
    return {TOKEN_TAG: token, "shipyard.reproduces": of} if token and of else {}
