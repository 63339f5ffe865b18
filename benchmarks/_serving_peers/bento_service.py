"""BentoML 1.4 side: the model in BentoML's model store, served with adaptive batching on.

Run by BentoML's own venv (``.bench/bentoml-venv``) with ``BENTOML_HOME`` set to a temporary store:

    python bento_service.py save MODEL.joblib      # bentoml.sklearn.save_model("rf", model)
    bentoml serve bento_service:RandomForest --port P --working-dir <this folder>

One worker, access log off (as on every side). Requests to ``POST /predict`` with
``{"rows": [[...20 floats...]]}`` are merged by BentoML's dispatcher into batches of up to 64 rows
(batch dimension 0).
"""

from __future__ import annotations

import os
import sys

import bentoml
import numpy as np

MAX_BATCH = 64
MAX_LATENCY_MS = int(os.environ.get("SHIPYARD_BENCH_BENTO_MAX_LATENCY_MS", "1000"))


@bentoml.service(workers=1, traffic={"timeout": 60}, logging={"access": {"enabled": False}})
class RandomForest:
    def __init__(self) -> None:
        self.model = bentoml.sklearn.load_model("rf:latest")

    @bentoml.api(batchable=True, batch_dim=0, max_batch_size=MAX_BATCH, max_latency_ms=MAX_LATENCY_MS)
    def predict(self, rows: np.ndarray) -> np.ndarray:
        return self.model.predict(rows)


if __name__ == "__main__" and sys.argv[1:2] == ["save"]:
    import joblib

    saved = bentoml.sklearn.save_model("rf", joblib.load(sys.argv[2]))
    print(saved.tag)
