"""Moving an alias while a load generator runs: zero failed requests, and answers switch."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import urllib3
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression

import shipyard
from shipyard.testing import ModelServerProcess


def test_alias_move_swaps_versions_without_failing_a_request(tmp_path: Path) -> None:
    home = tmp_path / "home"
    client = shipyard.Client(str(home))
    X, _ = load_iris(return_X_y=True, as_frame=True)
    # two versions that answer differently: y = 1 and y = 2 for every row
    ones = LinearRegression().fit(X, np.ones(len(X)))
    twos = LinearRegression().fit(X, np.full(len(X), 2.0))
    v1 = shipyard.register_model(ones, "swap", input_example=X.head(3), client=client)
    v2 = shipyard.register_model(twos, "swap", input_example=X.head(3), client=client)
    client.set_model_alias("swap", "production", v1.version)
    env = {"SHIPYARD_HOME": str(home)}
    body = {"records": X.head(1).to_dict(orient="records")}
    with ModelServerProcess(tmp_path, ["models:/swap@production"], args=["--poll-interval", "0.2"], env=env) as proc:
        http = urllib3.PoolManager(maxsize=8, retries=False, timeout=10)
        seen: list[tuple[float, int, float | None]] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                r = http.request("POST", f"{proc.url}/predict/swap", json=body)
                value = round(r.json()["predictions"][0]) if r.status == 200 else None
                seen.append((time.monotonic(), r.status, value))

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.8)
        moved_at = time.monotonic()
        client.set_model_alias("swap", "production", v2.version)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(v == 2 for _, _, v in seen[-20:]):
            time.sleep(0.1)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        meta = http.request("GET", f"{proc.url}/v2/models/swap").json()
        log = proc.log()

    assert len(seen) > 50
    assert [s for s in seen if s[1] != 200] == []  # zero failed requests
    values = [v for _, _, v in seen]
    assert values[0] == 1 and values[-1] == 2  # before the move v1 answered, after it v2
    first_two = next(t for t, _, v in seen if v == 2)
    assert first_two > moved_at
    assert all(v == 2 for t, _, v in seen if t > first_two + 0.5)  # switched for good, not flapping
    assert str(v2.version) in meta["versions"]
    assert "now serves swap v2" in log
