"""The monitoring journey, end to end on real processes: a hub, a model server writing its
inference log, traffic whose distribution shifts halfway, delayed labels for part of it, a monitor
run from the SDK and from the CLI, alerts posted to a real webhook listener on 127.0.0.1, and the
HTML report."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import urllib3
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

import shipyard
from shipyard.testing import HubProcess, ModelServerProcess

SHIFTED = {"a", "c", "plan"}  # mean shift, variance change, category mix


def _data(n: int, seed: int, shifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "a": rng.normal(2.0 if shifted else 0.0, 1.0, n),
        "b": rng.normal(0.0, 1.0, n),
        "c": rng.normal(0.0, 3.0 if shifted else 1.0, n),
        "d": rng.uniform(0.0, 1.0, n),
        "plan": rng.choice(["basic", "pro", "team"], n, p=[0.1, 0.3, 0.6] if shifted else [0.6, 0.3, 0.1]),
    })  # fmt: skip
    signal = df["a"] + df["b"] + (df["plan"] == "pro") * 1.0
    y = (signal > 0.5).astype(int)
    df["y"] = 1 - y if shifted else y  # after the shift the old rule no longer holds: accuracy falls
    return df


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()


def _send(url: str, frame: pd.DataFrame, http: urllib3.PoolManager) -> list[tuple[str, int, int]]:
    """Send ``frame`` in requests of 20 rows; (request id, row, true label) of every row sent."""
    sent = []
    for start in range(0, len(frame), 20):
        part = frame.iloc[start : start + 20]
        body = {"records": part.drop(columns="y").to_dict(orient="records")}
        r = http.request("POST", f"{url}/predict/churn", json=body)
        assert r.status == 200, r.data
        rid = r.headers["x-request-id"]
        sent += [(rid, i, int(y)) for i, y in enumerate(part["y"])]
    return sent


def test_shift_is_detected_labels_show_the_drop_and_alerts_fire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook: tuple[str, list[dict[str, object]]]
) -> None:
    hook_url, received = webhook
    train = _data(2400, seed=1, shifted=False)
    X = train.drop(columns="y")
    encode = ColumnTransformer([("plan", OneHotEncoder(), ["plan"])], remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression(max_iter=500)).fit(X, train["y"])

    home = tmp_path / "hub"
    with HubProcess(home) as hub:
        monkeypatch.setenv("SHIPYARD_TRACKING_URI", hub.url)
        client = shipyard.Client(hub.url)
        with shipyard.start_run(experiment="churn") as run:
            run.log_dataset(train, name="churn-train", role="train")
            run.log_model(model, input_example=X.head(5))
        version = shipyard.register_model(f"runs:/{run.id}/model", "churn", client=client)
        assert version.version == 1

        env = {"SHIPYARD_TRACKING_URI": hub.url}
        log_uri = str(home / "inference-log")  # where the hub's monitors read (its default)
        http = urllib3.PoolManager(retries=False, timeout=30)
        with ModelServerProcess(tmp_path, ["models:/churn/1"], args=["--log-uri", log_uri], env=env) as server:
            before = _send(server.url, _data(1000, seed=2, shifted=False), http)
            time.sleep(0.3)  # the halves land in different time slices of the window
            after = _send(server.url, _data(1000, seed=3, shifted=True), http)
        # the server flushed its log when it stopped; label 60% of the rows of each half
        labelled = before[::5] + before[1::5] + before[2::5] + after[::5] + after[1::5] + after[2::5]
        assert client.monitors.log_labels("churn", labelled) == len(labelled)

        client.monitors.create("churn-drift", model="churn", window="all")
        client.monitors.add_alert_rule("churn-drift", "drift", webhook=hook_url)
        client.monitors.add_alert_rule(
            "churn-drift", "metric_below", metric="accuracy", threshold=0.8, webhook=hook_url
        )

        result = client.monitors.run("churn-drift")
        body = client.monitors.result(result.id)
        assert result.rows == 2000 and body["window"]["reference_rows"] == 2400
        inputs_drifted = {f for f in result.drifted if f != "prediction"}
        assert inputs_drifted == SHIFTED, body["features"]
        perf = body["performance"]
        assert perf["labelled_rows"] == len(labelled)
        assert perf["first"]["metrics"]["accuracy"] > 0.85  # before the shift
        assert perf["latest"]["metrics"]["accuracy"] < 0.5  # after it

        texts = [str(r["text"]) for r in received]
        assert any("drift in" in t and "plan" in t for t in texts), texts
        assert any("accuracy" in t and "below" in t for t in texts), texts
        assert len(client.monitors.alerts("churn-drift")) == 2
        # a second run inside the cool-down fires nothing new
        client.monitors.run("churn-drift")
        assert len(received) == 2

        html = client.monitors.report(result.id)
        assert html.count("<svg") >= 6 and "churn-drift" in html
        assert "http://" not in html and "https://" not in html  # opens without internet

        out = tmp_path / "report.html"
        cli = [sys.executable, "-m", "shipyard.cli", "monitors"]
        done = subprocess.run(
            [*cli, "run", "churn-drift", "--report", str(out), "--tracking-uri", hub.url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "DRIFT" in done.stdout and out.read_text().startswith("<!DOCTYPE html>")
        listing = subprocess.run([*cli, "list", "--tracking-uri", hub.url, "--json"], capture_output=True, text=True)
        assert [m["name"] for m in json.loads(listing.stdout)["monitors"]] == ["churn-drift"]
