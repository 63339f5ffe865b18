"""The model server in a real process: Open Inference Protocol through tritonclient, plain JSON,
signature errors, a model that raises, overload, API keys and Prometheus metrics."""

from __future__ import annotations

import concurrent.futures
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import urllib3
from prometheus_client.parser import text_string_to_metric_families
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

from shipyard.domain.signature import ColumnSpec, Signature
from shipyard.flavors.bundle import save_bundle
from shipyard.testing import ModelServerProcess

http = urllib3.PoolManager(retries=False, timeout=30)


def _python_bundle(tmp: Path, module: str, source: str) -> Path:
    """A bundle of a plain Python function defined in its own module file (copied into the bundle)."""
    import importlib
    import sys

    (tmp / f"{module}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(tmp))
    try:
        fn = importlib.import_module(module).predict
    finally:
        sys.path.remove(str(tmp))
    root = tmp / f"bundle-{module}"
    save_bundle(fn, root, signature=Signature((ColumnSpec("x", "float64"),)))  # no example: it may raise
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModelServerProcess, RandomForestClassifier]]:
    tmp = tmp_path_factory.mktemp("serve")
    X, y = load_iris(return_X_y=True, as_frame=True)
    rf = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    save_bundle(rf, tmp / "iris", input_example=X.head(5))
    boom = _python_bundle(tmp, "boom_model", "def predict(df):\n    raise RuntimeError('boom')\n")
    slow = _python_bundle(tmp, "slow_model", "import time\ndef predict(df):\n    time.sleep(0.3)\n    return df['x']\n")
    sources = [f"iris={tmp / 'iris'}", f"boom={boom}", f"slow={slow}"]
    with ModelServerProcess(tmp, sources, args=["--max-queue", "4", "--threads", "2"]) as proc:
        yield proc, rf


def test_tritonclient_health_metadata_and_infer(server: tuple[ModelServerProcess, RandomForestClassifier]) -> None:
    import tritonclient.http as triton

    proc, rf = server
    X, _ = load_iris(return_X_y=True, as_frame=True)
    client = triton.InferenceServerClient(url=proc.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("iris")
    meta = client.get_model_metadata("iris")
    assert [i["name"] for i in meta["inputs"]] == list(X.columns)
    assert meta["platform"] == "shipyard_sklearn"
    for binary in (True, False):  # the binary tensor extension and plain JSON data
        inputs = []
        for column in X.columns:
            item = triton.InferInput(column, [len(X)], "FP64")
            item.set_data_from_numpy(X[column].to_numpy(), binary_data=binary)
            inputs.append(item)
        outputs = [triton.InferRequestedOutput("predict", binary_data=binary)]
        result = client.infer("iris", inputs, outputs=outputs, request_id="r-1")
        np.testing.assert_array_equal(result.as_numpy("predict"), rf.predict(X))
        assert result.get_response()["id"] == "r-1"
    # one [rows, columns] tensor in signature order is accepted too
    matrix = triton.InferInput("input", [3, 4], "FP64")
    matrix.set_data_from_numpy(X.head(3).to_numpy())
    np.testing.assert_array_equal(client.infer("iris", [matrix]).as_numpy("predict"), rf.predict(X.head(3)))


def test_plain_json_and_errors_name_the_column(server: tuple[ModelServerProcess, RandomForestClassifier]) -> None:
    proc, rf = server
    X, _ = load_iris(return_X_y=True, as_frame=True)
    records = X.head(4).to_dict(orient="records")
    resp = http.request("POST", f"{proc.url}/predict/iris", json={"records": records})
    assert resp.status == 200 and resp.json()["predictions"] == rf.predict(X.head(4)).tolist()
    columns = {c: X[c].head(2).tolist() for c in X.columns}
    assert (
        http.request("POST", f"{proc.url}/predict/iris", json={"columns": columns}).json()["predictions"]
        == rf.predict(X.head(2)).tolist()
    )
    missing = {k: v for k, v in records[0].items() if k != "petal width (cm)"}
    bad = http.request("POST", f"{proc.url}/predict/iris", json={"records": [missing]})
    assert bad.status == 400 and bad.json()["error"]["field"] == "petal width (cm)"
    typed = http.request(
        "POST", f"{proc.url}/predict/iris", json={"records": [{**records[0], "sepal width (cm)": "wide"}]}
    )
    assert typed.status == 400 and typed.json()["error"]["field"] == "sepal width (cm)"
    garbage = http.request("POST", f"{proc.url}/v2/models/iris/infer", body=b"{not json")
    assert garbage.status == 400 and "error" in garbage.json()
    unknown = http.request("POST", f"{proc.url}/v2/models/nope/infer", body=b"{}")
    assert unknown.status == 404


def test_a_model_that_raises_gets_500_and_the_server_stays_up(
    server: tuple[ModelServerProcess, RandomForestClassifier],
) -> None:
    proc, _ = server
    resp = http.request("POST", f"{proc.url}/predict/boom", json={"columns": {"x": [1.0]}})
    assert (
        resp.status == 500
        and resp.json()["error"]["code"] == "MODEL_ERROR"
        and "boom" in resp.json()["error"]["message"]
    )
    assert http.request("GET", f"{proc.url}/v2/health/live").status == 200
    assert (
        http.request(
            "POST",
            f"{proc.url}/predict/iris",
            json={
                "records": [
                    dict.fromkeys(
                        ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"], 1.0
                    )
                ]
            },
        ).status
        == 200
    )


def test_overload_answers_503_quickly_and_recovers(server: tuple[ModelServerProcess, RandomForestClassifier]) -> None:
    proc, _ = server
    pool = urllib3.PoolManager(maxsize=32, retries=False, timeout=30)

    def call() -> tuple[int, float, str | None]:
        t0 = time.perf_counter()
        r = pool.request("POST", f"{proc.url}/predict/slow", json={"columns": {"x": [1.0]}})
        return r.status, time.perf_counter() - t0, r.headers.get("retry-after")

    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as ex:
        results = list(ex.map(lambda _: call(), range(24)))
    refused = [r for r in results if r[0] == 503]
    served = [r for r in results if r[0] == 200]
    assert refused and served and len(refused) + len(served) == 24
    assert all(r[2] == "1" for r in refused)  # Retry-After
    assert max(r[1] for r in refused) < 1.0  # refused at once, not after waiting in line
    assert call()[0] == 200  # and it recovers


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kib / 1024


def test_overload_keeps_memory_bounded(server: tuple[ModelServerProcess, RandomForestClassifier]) -> None:
    """Waves of requests far past the queue bound, each with a 2,000-row body: refused requests
    hold nothing, so the server's memory after ten waves is what it was after the first."""
    proc, _ = server
    assert proc.proc is not None
    pool = urllib3.PoolManager(maxsize=64, retries=False, timeout=30)
    body = {"columns": {"x": [float(i) for i in range(2000)]}}

    def wave() -> list[int]:
        with concurrent.futures.ThreadPoolExecutor(max_workers=48) as ex:
            return list(ex.map(lambda _: pool.request("POST", f"{proc.url}/predict/slow", json=body).status, range(48)))

    statuses = wave()
    assert statuses.count(503) > 30 and set(statuses) <= {200, 503}
    after_first = _rss_mib(proc.proc.pid)
    for _ in range(9):
        statuses += wave()
    grown = _rss_mib(proc.proc.pid) - after_first
    assert statuses.count(503) > 300  # the bound held in every wave
    assert grown < 40, f"the server grew by {grown:.0f} MiB over nine more waves of overload"
    assert pool.request("POST", f"{proc.url}/predict/slow", json={"columns": {"x": [1.0]}}).status == 200


def test_metrics_parse_with_prometheus_client(server: tuple[ModelServerProcess, RandomForestClassifier]) -> None:
    proc, _ = server
    text = http.request("GET", f"{proc.url}/metrics").data.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = families["shipyard_inference_requests"]
    codes = {(s.labels["model"], s.labels["code"]) for s in requests.samples if s.name.endswith("_total")}
    assert ("iris", "200") in codes and ("iris", "400") in codes and ("boom", "500") in codes
    assert "shipyard_inference_request_seconds" in families and "shipyard_inference_batch_rows" in families


def test_api_keys(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    save_bundle(
        RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y), tmp_path / "m", input_example=X.head(2)
    )
    with ModelServerProcess(tmp_path, [f"m={tmp_path / 'm'}"], args=["--api-key", "s3cret"]) as proc:
        body = {"records": X.head(1).to_dict(orient="records")}
        assert http.request("POST", f"{proc.url}/predict/m", json=body).status == 401
        wrong = http.request("POST", f"{proc.url}/predict/m", json=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status == 401
        ok = http.request("POST", f"{proc.url}/predict/m", json=body, headers={"Authorization": "Bearer s3cret"})
        assert ok.status == 200
        assert http.request("GET", f"{proc.url}/v2/health/ready").status == 200  # probes need no key


def test_timeouts_answer_504_and_access_logs_are_json_lines(tmp_path: Path) -> None:
    import json

    slow = _python_bundle(
        tmp_path, "slow_model_2", "import time\ndef predict(df):\n    time.sleep(0.5)\n    return df['x']\n"
    )
    args = ["--timeout", "0.1", "--access-log", "--threads", "1"]
    with ModelServerProcess(tmp_path, [f"slow={slow}"], args=args) as proc:
        t0 = time.perf_counter()
        resp = http.request("POST", f"{proc.url}/predict/slow", json={"columns": {"x": [1.0]}})
        assert resp.status == 504 and resp.json()["error"]["code"] == "DEADLINE_EXCEEDED"
        assert time.perf_counter() - t0 < 0.45  # answered at the deadline, not when the model finished
        time.sleep(0.6)
        lines = [json.loads(line) for line in proc.log().splitlines() if line.startswith("{")]
    assert any(
        entry["status"] == 504 and entry["model"] == "slow" and entry["path"] == "/predict/slow" for entry in lines
    )
