"""Traffic split between versions, sticky routing by a header, and shadow traffic."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import urllib3
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression

from shipyard.flavors.bundle import save_bundle
from shipyard.testing import ModelServerProcess

http = urllib3.PoolManager(retries=False, timeout=30)


def _two_versions(tmp: Path) -> tuple[list[str], dict[str, object]]:
    X, _ = load_iris(return_X_y=True, as_frame=True)
    for value in (1, 2):  # version v answers v for every row
        save_bundle(
            LinearRegression().fit(X, np.full(len(X), float(value))), tmp / f"v{value}", input_example=X.head(2)
        )
    return [f"m/1={tmp / 'v1'}", f"m/2={tmp / 'v2'}"], {"records": X.head(1).to_dict(orient="records")}


def _answer(
    proc: ModelServerProcess, body: dict[str, object], headers: dict[str, str] | None = None
) -> tuple[str, int]:
    r = http.request("POST", f"{proc.url}/predict/m", json=body, headers=headers)
    assert r.status == 200
    return r.headers["x-model-version"], round(r.json()["predictions"][0])


def test_split_and_sticky_routing(tmp_path: Path) -> None:
    sources, body = _two_versions(tmp_path)
    args = ["--route", "m=1:50,2:50", "--sticky-header", "X-User"]
    with ModelServerProcess(tmp_path, sources, args=args) as proc:
        answers = [_answer(proc, body) for _ in range(200)]
        assert all(int(version) == value for version, value in answers)  # the header names who answered
        counts = Counter(version for version, _ in answers)
        assert 60 <= counts["1"] <= 140 and counts["1"] + counts["2"] == 200  # about half each
        for user in ("ada", "bob", "cy", "dee"):
            seen = {_answer(proc, body, {"X-User": user})[0] for _ in range(15)}
            assert len(seen) == 1  # the same user always lands on the same version
        explicit = http.request(
            "POST",
            f"{proc.url}/v2/models/m/versions/2/infer",
            json={"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]},
        )
        assert explicit.json()["model_version"] == "2"  # an explicit version bypasses the route


def test_shadow_traffic_is_logged_but_never_answers(tmp_path: Path) -> None:
    sources, body = _two_versions(tmp_path)
    args = ["--shadow", "m=2", "--log-uri", str(tmp_path / "log")]
    with ModelServerProcess(tmp_path, sources, args=args) as proc:
        answers = [_answer(proc, body) for _ in range(20)]
        assert set(answers) == {("1", 1)}
    logged = ds.dataset(tmp_path / "log", format="parquet", partitioning="hive").to_table().to_pandas()
    by_version = logged.groupby(logged["version"].astype(str))["prediction"].agg(["count", "mean"])
    assert by_version.loc["1", "count"] == 20 and by_version.loc["2", "count"] == 20
    assert round(by_version.loc["1", "mean"]) == 1 and round(by_version.loc["2", "mean"]) == 2
