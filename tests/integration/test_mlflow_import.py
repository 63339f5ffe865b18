"""MLflow model folders written by the real mlflow package, imported, registered and loaded in a
fresh process without MLflow's help where the format allows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import shipyard
from shipyard.cli.main import app
from shipyard.errors import PermissionDenied

LOADER = """
import sys, numpy as np, pandas as pd, shipyard
model = shipyard.load_model(sys.argv[1], trust=sys.argv[4] == "trust")
np.save(sys.argv[3], np.asarray(model(pd.read_parquet(sys.argv[2]))), allow_pickle=False)
"""


def _fresh(home: Path, ref: str, X: pd.DataFrame, tmp_path: Path, *, trust: bool = False) -> np.ndarray:
    X.to_parquet(tmp_path / "X.parquet")
    env = {"PATH": "/usr/bin:/bin", "SHIPYARD_HOME": str(home), "SHIPYARD_CACHE_DIR": str(tmp_path / "cache")}
    args = [ref, str(tmp_path / "X.parquet"), str(tmp_path / "out.npy"), "trust" if trust else "no"]
    done = subprocess.run([sys.executable, "-c", LOADER, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out: np.ndarray = np.load(tmp_path / "out.npy")
    return out


@pytest.fixture
def iris() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def test_sklearn_saved_with_skops_imports_and_loads_safely(
    iris: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    X, y = iris
    clf = LogisticRegression(max_iter=500).fit(X, y)
    folder = tmp_path / "mlflow-model"
    mlflow.sklearn.save_model(clf, folder, signature=infer_signature(X, clf.predict(X)), input_example=X.head(3))
    home = tmp_path / "home"
    result = CliRunner().invoke(app, ["models", "import", str(folder), "iris-mlflow", "-t", str(home)])
    assert result.exit_code == 0, result.output
    client = shipyard.Client(str(home))
    version = client.get_model_version("models:/iris-mlflow/1")
    assert version.flavor == "mlflow"
    assert [c["name"] for c in version.signature["inputs"]["columns"]] == list(X.columns)  # MLflow's signature
    np.testing.assert_array_equal(_fresh(home, "models:/iris-mlflow/1", X, tmp_path), clf.predict(X))
    with pytest.raises(shipyard.InvalidArgument) as err:  # and it is enforced
        client.load_model("models:/iris-mlflow/1")(X.drop(columns=["petal width (cm)"]))
    assert err.value.field == "petal width (cm)"


def test_xgboost_and_pickled_models(tmp_path: Path) -> None:
    import mlflow.sklearn
    import mlflow.xgboost
    import xgboost as xgb

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    booster = xgb.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
    mlflow.xgboost.save_model(booster, tmp_path / "xgb", input_example=X.head(2))
    pickled = LogisticRegression(max_iter=3000).fit(X, y)
    mlflow.sklearn.save_model(
        pickled, tmp_path / "pickled", serialization_format="cloudpickle", input_example=X.head(2)
    )
    home = tmp_path / "home"
    client = shipyard.Client(str(home))
    shipyard.register_model(tmp_path / "xgb", "bc-xgb", client=client)
    shipyard.register_model(str(tmp_path / "pickled"), "bc-pickled", client=client)
    np.testing.assert_array_equal(_fresh(home, "models:/bc-xgb/1", X, tmp_path), booster.predict(X))
    with pytest.raises(PermissionDenied, match="trust=True"):
        client.load_model("models:/bc-pickled/1")
    np.testing.assert_array_equal(_fresh(home, "models:/bc-pickled/1", X, tmp_path, trust=True), pickled.predict(X))


def test_a_pyfunc_model_needs_trust_and_mlflow(tmp_path: Path) -> None:
    import mlflow.pyfunc

    class AddOne(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context: object, model_input: pd.DataFrame) -> pd.Series:
            return model_input["x"] + 1

    mlflow.pyfunc.save_model(tmp_path / "pyfunc", python_model=AddOne(), input_example=pd.DataFrame({"x": [1.0, 2.0]}))
    client = shipyard.Client(str(tmp_path / "home"))
    shipyard.register_model(tmp_path / "pyfunc", "add-one", client=client)
    with pytest.raises(PermissionDenied):
        client.load_model("models:/add-one/latest")
    model = client.load_model("models:/add-one/latest", trust=True)
    assert list(model(pd.DataFrame({"x": [1.0, 5.0]}))) == [2.0, 6.0]
