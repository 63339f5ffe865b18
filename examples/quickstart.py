"""Track a small training job with Shipyard.

Runs as is in local mode (SQLite + a folder under ./.shipyard). To log to a hub instead:

    shipyard server &                                   # in another terminal
    SHIPYARD_TRACKING_URI=http://127.0.0.1:8420 python examples/quickstart.py

The model is a one-feature linear regression fitted by gradient descent on generated data, so the
example needs nothing beyond Shipyard.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import shipyard


def make_data(n: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(x, 3.0 * x + 0.5 + rng.gauss(0, 0.3)) for x in (rng.uniform(-2, 2) for _ in range(n))]


def main() -> str:
    data = make_data(500, seed=42)
    with shipyard.start_run(experiment="examples", name="linreg-gd", tags={"kind": "example"}) as run:
        lr, epochs = 0.05, 100
        run.log_params({"model": "linear_regression", "lr": lr, "epochs": epochs, "seed": 42, "rows": len(data)})
        w = b = 0.0
        for epoch in range(epochs):
            gw = sum((w * x + b - y) * x for x, y in data) / len(data)
            gb = sum(w * x + b - y for x, y in data) / len(data)
            w, b = w - lr * 2 * gw, b - lr * 2 * gb
            mse = sum((w * x + b - y) ** 2 for x, y in data) / len(data)
            run.log_metrics({"mse": mse, "w": w, "b": b}, step=epoch)
        with tempfile.TemporaryDirectory() as tmp:
            model = Path(tmp) / "model.json"
            model.write_text(json.dumps({"w": w, "b": b}))
            run.log_artifact(model, "model/model.json")
    print(f"run {run.id}: mse={mse:.4f} w={w:.3f} b={b:.3f}")
    print("see it with: shipyard runs show", run.id)
    return run.id


if __name__ == "__main__":
    main()
