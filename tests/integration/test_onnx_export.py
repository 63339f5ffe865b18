"""ONNX export parity: scikit-learn (scaler + gradient boosting), XGBoost and LightGBM within 1e-5."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

import shipyard
from shipyard.cli.main import app
from shipyard.errors import InvalidArgument
from shipyard.flavors.bundle import MAX_EXAMPLE_ROWS


def _models() -> dict[str, tuple[Any, pd.DataFrame, pd.Series]]:
    import lightgbm as lgb
    import xgboost as xgb

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    Xr, yr = load_diabetes(return_X_y=True, as_frame=True)
    return {
        "sklearn-pipeline": (make_pipeline(StandardScaler(), GradientBoostingClassifier(random_state=0)), X, y),
        "sklearn-regressor": (make_pipeline(StandardScaler(), GradientBoostingRegressor(random_state=0)), Xr, yr),
        "xgboost": (xgb.XGBClassifier(n_estimators=60, max_depth=4, random_state=0), X, y),
        "lightgbm": (lgb.LGBMClassifier(n_estimators=60, verbose=-1, random_state=0), X, y),
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> shipyard.Client:
    return shipyard.Client(str(tmp_path_factory.mktemp("onnx") / "home"))


@pytest.mark.parametrize("kind", ["sklearn-pipeline", "sklearn-regressor", "xgboost", "lightgbm"])
def test_export_is_within_1e5_and_recorded_as_a_variant(kind: str, client: shipyard.Client) -> None:
    model, X, y = _models()[kind]
    model.fit(X, y)
    version = shipyard.register_model(model, f"onnx-{kind}", input_example=X.head(25), client=client)
    result = client.export_onnx(version.ref)
    p = result.parity
    assert p.passed and result.recorded
    assert p.max_rel_err < 1e-5 and p.rows == MAX_EXAMPLE_ROWS + 256  # the stored example + generated rows
    if hasattr(model, "predict_proba"):
        assert p.labels_agree == 1.0
    stored = client.get_model_version(version.ref).variants["onnx"]
    assert stored["parity"]["max_rel_err"] == p.max_rel_err and stored["flavor"] == "onnx"
    onnx = client.load_model(version.ref, variant="onnx")
    assert onnx.flavor == "onnx"
    original = np.asarray(model.predict(X), dtype=np.float64)
    np.testing.assert_allclose(np.asarray(onnx(X), dtype=np.float64), original, rtol=1e-5, atol=1e-6)


def test_a_mismatch_is_reported_and_not_recorded(client: shipyard.Client, tmp_path: Path) -> None:
    model, X, y = _models()["sklearn-regressor"]
    model.fit(X, y)
    version = shipyard.register_model(model, "onnx-strict", input_example=X.head(10), client=client)
    strict = client.export_onnx(version.ref, rtol=0.0, atol=0.0)  # float32 cannot match float64 exactly
    assert not strict.parity.passed and not strict.recorded and strict.parity.max_abs_err > 0
    assert "onnx" not in client.get_model_version(version.ref).variants
    runner = CliRunner()
    args = ["models", "export", version.ref, "--rtol", "0", "--atol", "0", "-t", str(client.settings.home), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 3 and json.loads(result.output)["recorded"] is False
    ok = runner.invoke(app, ["models", "export", version.ref, "-t", str(client.settings.home)])
    assert ok.exit_code == 0, ok.output
    assert "parity" in ok.output and "Recorded as the onnx variant" in ok.output


def test_only_numeric_table_models_of_known_flavors_export(client: shipyard.Client) -> None:
    X = pd.DataFrame({"city": ["oslo", "lima"], "n": [1, 2]})
    version = shipyard.register_model(_echo, "onnx-python", input_example=X, client=client)
    with pytest.raises(InvalidArgument, match="ONNX export supports"):
        client.export_onnx(version.ref)


def _echo(df: Any) -> Any:
    return df["n"]


def test_pytorch_exports_with_parity(client: shipyard.Client) -> None:
    import torch

    X, y = load_breast_cancer(return_X_y=True)
    features = torch.from_numpy(StandardScaler().fit_transform(X).astype(np.float32))
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(30, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2), torch.nn.Softmax(dim=1))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(20):
        optimizer.zero_grad()
        torch.nn.functional.nll_loss(torch.log(net(features)), torch.from_numpy(y)).backward()
        optimizer.step()
    example = features[:10].numpy()
    version = shipyard.register_model(net, "onnx-torch", input_example=example, client=client)
    result = client.export_onnx(version.ref)
    assert result.recorded and result.parity.passed and result.parity.max_rel_err < 1e-5
    onnx = client.load_model(version.ref, variant="onnx")
    with torch.no_grad():
        expected = net(features).numpy()
    np.testing.assert_allclose(onnx(features.numpy()), expected, rtol=1e-5, atol=1e-6)
