"""The inference log: requests and responses land as Parquet, partitioned by model, version and
date, flushed on shutdown; a failing store or a full buffer costs observations, never requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.dataset as ds
import urllib3
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

from shipyard.flavors.bundle import save_bundle
from shipyard.inference.request_log import RequestLog
from shipyard.stores.local import LocalArtifactStore
from shipyard.testing import ModelServerProcess


def test_requests_are_logged_as_partitioned_parquet(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    rf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    save_bundle(rf, tmp_path / "iris", input_example=X.head(3))
    log_dir = tmp_path / "log"
    http = urllib3.PoolManager(retries=False, timeout=30)
    proc = ModelServerProcess(tmp_path, [f"iris={tmp_path / 'iris'}"], args=["--log-uri", str(log_dir)])
    with proc:
        for start in range(0, 30, 3):
            rows = X.iloc[start : start + 3].to_dict(orient="records")
            assert http.request("POST", f"{proc.url}/predict/iris", json={"records": rows}).status == 200
        oip = {
            "id": "req-42",
            "inputs": [
                {"name": "input", "shape": [2, 4], "datatype": "FP64", "data": X.head(2).to_numpy().ravel().tolist()}
            ],
        }
        assert http.request("POST", f"{proc.url}/v2/models/iris/infer", json=oip).status == 200
        metrics = http.request("GET", f"{proc.url}/metrics").data.decode()
        assert "shipyard_inference_log_dropped_rows 0.0" in metrics
    # the server stopped gracefully: everything buffered was written
    table = ds.dataset(log_dir, format="parquet", partitioning="hive").to_table().to_pandas()
    assert len(table) == 32
    assert (
        set(table["model"]) == {"iris"} and set(table["version"].astype(str)) == {"1"} and table["date"].nunique() == 1
    )
    by_json = table[table["_request_id"] != "req-42"].sort_values(["_at_ms", "_row"])
    np.testing.assert_allclose(by_json["sepal length (cm)"].to_numpy(), X["sepal length (cm)"].head(30).to_numpy())
    np.testing.assert_array_equal(by_json["prediction"].to_numpy(), rf.predict(X.head(30)))
    tagged = table[table["_request_id"] == "req-42"]
    assert len(tagged) == 2 and (tagged["_latency_ms"] > 0).all()


class _BrokenStore(LocalArtifactStore):
    def put_file(self, key: str, path: Path) -> None:
        raise OSError("disk full")


def test_a_full_buffer_or_a_failing_store_drops_observations_only(tmp_path: Path) -> None:
    inputs: dict[str, Any] = {"x": np.arange(10, dtype=np.float64)}
    small = RequestLog(LocalArtifactStore(tmp_path / "ok"), max_rows=25, flush_interval=3600)
    for _ in range(5):
        small.record("m", "1", None, 0.001, inputs, np.zeros(10), 10)
    assert small.dropped_rows == 30  # two fit, three were dropped: memory stays bounded
    small.close()
    assert small.written_rows == 20 and small.files == 1
    broken = RequestLog(_BrokenStore(tmp_path / "broken"), flush_interval=3600)
    broken.record("m", "1", None, 0.001, inputs, np.zeros(10), 10)
    broken.close()  # no exception: the failure is counted and logged
    assert broken.dropped_rows == 10 and broken.written_rows == 0
    sampled = RequestLog(LocalArtifactStore(tmp_path / "sampled"), sample=0.0, flush_interval=3600)
    sampled.record("m", "1", None, 0.001, inputs, np.zeros(10), 10)
    sampled.close()
    assert sampled.written_rows == 0 and sampled.dropped_rows == 0
