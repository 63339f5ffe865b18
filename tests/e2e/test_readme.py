"""The README's journeys, run for real: its commands and its example."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

import shipyard
from shipyard.testing import HubProcess, free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _command(marker: str) -> str:
    block = re.search(rf"<!-- readme:{marker} -->\s*```bash\n(.+?)\n```", README, re.S)
    assert block is not None, f"README lacks the {marker} block"
    return block.group(1).strip()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _command("test-command") in ci_lines


def test_start_command_brings_up_a_hub_showing_the_example(tmp_path: Path) -> None:
    start = _command("start-command")
    assert start.endswith(".venv/bin/shipyard quickstart")
    port = free_port()
    env = {**os.environ, "SHIPYARD_HOME": str(tmp_path / "home")}
    env.pop("SHIPYARD_TRACKING_URI", None)
    # the installing part ran already (this suite runs inside that venv); run the rest as written
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard.cli", "quickstart", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health", timeout=60, proc=proc)
        page = httpx.get(base + "/").text
        assert page.count("logreg-lr") == 3
        assert "FINISHED" in page
        assert "accuracy=" in page
        runs = httpx.post(f"{base}/api/v1/runs/search", json={"filter": 'tags.example = "quickstart"'}).json()["runs"]
        assert len(runs) == 3
        assert all(r["status"] == "FINISHED" and r["metrics"]["accuracy"]["step"] == 29 for r in runs)
        arts = httpx.get(f"{base}/api/v1/runs/{runs[0]['id']}/artifacts").json()["artifacts"]
        assert [a["path"] for a in arts if not a["path"].startswith("_shipyard/")] == ["summary.json"]
        (dataset,) = httpx.get(f"{base}/api/v1/datasets").json()["datasets"]
        assert (dataset["name"], dataset["versions"], dataset["runs"]) == ("two-blobs", 1, 3)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _run_example(tmp_path: Path, tracking_uri: str | None) -> str:
    env = {**os.environ}
    env.pop("SHIPYARD_HOME", None)
    env.pop("SHIPYARD_TRACKING_URI", None)
    if tracking_uri:
        env["SHIPYARD_TRACKING_URI"] = tracking_uri
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    match = re.search(r"run ([0-9a-f]{32}): mse=([0-9.]+)", out.stdout)
    assert match is not None, out.stdout
    assert float(match.group(2)) < 0.15  # the fit works: noise variance is 0.09
    return match.group(1)


def test_example_in_local_mode_writes_into_the_working_directory(tmp_path: Path) -> None:
    run_id = _run_example(tmp_path, None)
    client = shipyard.Client(str(tmp_path / ".shipyard"))
    run = client.get_run(run_id)
    assert run.params["model"] == "linear_regression"
    assert len(client.get_metric_history(run_id, "mse")) == 100
    assert [a.path for a in client.list_artifacts(run_id) if not a.path.startswith("_shipyard/")] == [
        "model/model.json"
    ]


def test_example_in_remote_mode_logs_to_the_hub(tmp_path: Path) -> None:
    with HubProcess(tmp_path / "hub") as hub:
        run_id = _run_example(tmp_path, hub.url)
        client = shipyard.Client(hub.url)
        assert client.get_run(run_id).status.value == "FINISHED"
        assert client.get_metric_history(run_id, "mse").steps == list(range(100))
    assert not (tmp_path / ".shipyard").exists()  # nothing was written locally
