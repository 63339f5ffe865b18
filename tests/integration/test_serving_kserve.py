"""KServe's own REST client (``kserve.InferenceRESTClient``, Open Inference Protocol v2) against
the model server.

kserve pins older pandas and protobuf than Shipyard's dev environment, so it lives in a venv of its
own: point ``SHIPYARD_KSERVE_PYTHON`` at that venv's python (``python -m venv /tmp/kserve-venv &&
/tmp/kserve-venv/bin/pip install kserve``) to run this test; without it the test is skipped. The
client script runs in that venv against a real ``shipyard serve`` process.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier

from shipyard.flavors.bundle import save_bundle
from shipyard.testing import ModelServerProcess

KSERVE_PYTHON = os.environ.get("SHIPYARD_KSERVE_PYTHON")

CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys
    from kserve import InferenceRESTClient, RESTConfig
    from kserve.protocol.infer_type import InferInput, InferRequest

    async def main(url, rows):
        client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0))
        try:
            out = {
                "live": await client.is_server_live(url),
                "ready": await client.is_server_ready(url),
                "model_ready": await client.is_model_ready(url, "iris"),
            }
            columns = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
            inputs = []
            for i, name in enumerate(columns):
                inp = InferInput(name=name, shape=[len(rows)], datatype="FP64")
                inp.set_data_from_numpy(__import__("numpy").asarray([r[i] for r in rows], dtype="float64"))
                inputs.append(inp)
            result = await client.infer(url, InferRequest(model_name="iris", infer_inputs=inputs), model_name="iris")
            out["model_name"] = result.model_name
            out["outputs"] = [o.as_numpy().tolist() for o in result.outputs]
            return out
        finally:
            await client.close()

    print(json.dumps(asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))))
    """
)


@pytest.mark.skipif(not KSERVE_PYTHON, reason="set SHIPYARD_KSERVE_PYTHON to a python with kserve installed")
def test_kserve_rest_client_health_and_infer(tmp_path: Path) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    rf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    save_bundle(rf, tmp_path / "iris", input_example=X.head(3))
    rows = X.iloc[[0, 60, 120]].to_numpy().tolist()
    with ModelServerProcess(tmp_path, [f"iris={tmp_path / 'iris'}"]) as proc:
        done = subprocess.run(
            [str(KSERVE_PYTHON), "-c", CLIENT, proc.url, json.dumps(rows)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert (out["live"], out["ready"], out["model_ready"], out["model_name"]) == (True, True, True, "iris")
    assert out["outputs"][0] == rf.predict(X.iloc[[0, 60, 120]]).tolist()
