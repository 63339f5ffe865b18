"""The registry and bundles end to end: every flavor registered, loaded in a fresh process and
compared with the original; aliases under concurrent readers; tampered bundles; bad inputs."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard
from shipyard.errors import IntegrityError, InvalidArgument, NotFound, PermissionDenied
from shipyard.flavors.bundle import load_bundle, pack_bundle, unpack_bundle
from shipyard.testing import HubProcess

LOADER = """
import sys, numpy as np, pandas as pd, shipyard
ref, data, out = sys.argv[1], sys.argv[2], sys.argv[3]
model = shipyard.load_model(ref)
np.save(out, np.asarray(model(pd.read_parquet(data))), allow_pickle=False)
print(model.flavor)
"""


@pytest.fixture(params=["local", "remote"])
def client(request: pytest.FixtureRequest, hub: HubProcess, tmp_path: Path) -> Iterator[shipyard.Client]:
    c = shipyard.Client(hub.url if request.param == "remote" else str(tmp_path / "local-home"))
    yield c
    c.close()


def _in_fresh_process(client: shipyard.Client, ref: str, X: pd.DataFrame, tmp_path: Path) -> np.ndarray:
    data, out = tmp_path / "X.parquet", tmp_path / "pred.npy"
    X.to_parquet(data)
    env = {"PATH": "/usr/bin:/bin", "SHIPYARD_CACHE_DIR": str(tmp_path / "fresh-cache")}
    if client.is_remote:
        env["SHIPYARD_TRACKING_URI"] = client.settings.tracking_uri or ""
    else:
        env["SHIPYARD_HOME"] = str(client.settings.home)
    done = subprocess.run(
        [sys.executable, "-c", LOADER, ref, str(data), str(out)],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: np.ndarray = np.load(out, allow_pickle=False)
    return result


def _iris() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def _sklearn_pipeline() -> tuple[Any, pd.DataFrame]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), GradientBoostingClassifier(n_estimators=30, random_state=0))
    return model.fit(X, y), X


def _sklearn_regressor() -> tuple[Any, pd.DataFrame]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return RandomForestRegressor(n_estimators=20, random_state=0).fit(X, y), X


def _xgboost() -> tuple[Any, pd.DataFrame]:
    import xgboost as xgb

    X, y = _iris()
    return xgb.XGBClassifier(n_estimators=20, max_depth=3, random_state=0).fit(X, y), X


def _lightgbm() -> tuple[Any, pd.DataFrame]:
    import lightgbm as lgb

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return lgb.LGBMClassifier(n_estimators=30, verbose=-1, random_state=0).fit(X, y), X


def _onnx() -> tuple[Any, pd.DataFrame]:
    from skl2onnx import to_onnx

    X, y = _iris()
    rf = RandomForestRegressor(n_estimators=10, random_state=0).fit(X.to_numpy(np.float32), y)
    return to_onnx(rf, X.to_numpy(np.float32)[:1], target_opset=17), X.astype(np.float32)


def _pytorch() -> tuple[Any, pd.DataFrame]:
    import torch

    X, y = _iris()
    X = X.astype(np.float32)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3), torch.nn.Softmax(dim=1))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    inputs, target = torch.from_numpy(X.to_numpy()), torch.from_numpy(y.to_numpy())
    for _ in range(30):
        optimizer.zero_grad()
        torch.nn.functional.nll_loss(torch.log(net(inputs)), target).backward()
        optimizer.step()
    return net, X


FLAVORS: dict[str, Callable[[], tuple[Any, pd.DataFrame]]] = {
    "sklearn": _sklearn_pipeline,
    "sklearn-regressor": _sklearn_regressor,
    "xgboost": _xgboost,
    "lightgbm": _lightgbm,
    "onnx": _onnx,
    "pytorch": _pytorch,
}


@pytest.mark.parametrize("kind", FLAVORS)
def test_every_flavor_round_trips_through_a_fresh_process(
    kind: str, client: shipyard.Client, tmp_path: Path
) -> None:
    model, X = FLAVORS[kind]()
    example = X.head(5).to_numpy() if kind == "pytorch" else X.head(5)  # tensors for tensors
    with shipyard.start_run("models-roundtrip", client=client, capture=False) as run:
        logged = run.log_model(model, input_example=example, registered_model_name=f"rt-{kind}")
    assert logged.version is not None
    expected: Any = model.predict(X) if kind not in ("onnx", "pytorch") else None
    got = _in_fresh_process(client, f"models:/rt-{kind}/{logged.version.version}", X, tmp_path)
    if kind == "pytorch":
        import torch

        with torch.no_grad():
            expected = model(torch.from_numpy(X.to_numpy())).numpy()
    if kind == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        expected = session.run(None, {session.get_inputs()[0].name: X.to_numpy(np.float32)})[0]
    np.testing.assert_array_equal(got.ravel(), np.asarray(expected).ravel())
    assert logged.flavor == kind.split("-")[0]


def test_python_function_flavor_round_trips(client: shipyard.Client, tmp_path: Path) -> None:
    module = tmp_path / "pricing.py"
    module.write_text("def price(df):\n    return df['sepal length (cm)'] * 2 + df['petal width (cm)']\n")
    sys.path.insert(0, str(tmp_path))
    sys.modules.pop("pricing", None)
    try:
        import pricing  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    X, _ = _iris()
    version = shipyard.register_model(pricing.price, "rt-python", input_example=X.head(3), client=client)
    module.unlink()  # the bundle carries its own copy of the code
    got = _in_fresh_process(client, "models:/rt-python/latest", X, tmp_path)
    np.testing.assert_allclose(got, X["sepal length (cm)"] * 2 + X["petal width (cm)"])
    assert version.flavor == "python"


def test_alias_moves_atomically_under_concurrent_readers(client: shipyard.Client) -> None:
    model, X = _sklearn_regressor()
    with shipyard.start_run("models-alias", client=client, capture=False) as run:
        run.log_model(model, input_example=X.head(2), registered_model_name="alias-race")
        run.log_model(model, artifact_path="model-b", input_example=X.head(3), registered_model_name="alias-race")
    client.set_model_alias("alias-race", "production", 1)
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                seen.append(client.get_model_version("models:/alias-race@production").version)
        except BaseException as exc:  # any error fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(60):
        client.set_model_alias("alias-race", "production", 2 if i % 2 == 0 else 1)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert len(seen) > 60 and set(seen) == {1, 2}
    assert client.get_model("alias-race").aliases == {"production": 1}


def test_a_bundle_with_one_changed_byte_is_refused_naming_the_file(client: shipyard.Client, tmp_path: Path) -> None:
    model, X = _sklearn_regressor()
    with shipyard.start_run("models-tamper", client=client, capture=False) as run:
        run.log_model(model, input_example=X.head(2), registered_model_name="tamper")
    bundle = client.download_bundle("models:/tamper/1", tmp_path / "bundle")
    assert load_bundle(bundle).predict(X.head(3)).shape == (3,)
    archive = pack_bundle(bundle, tmp_path / "tamper.tar.gz")
    target = bundle / "model" / "model.skops"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    target.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match=r"model/model\.skops"):
        load_bundle(bundle)
    # the single-file archive round-trips and is verified on the way in
    assert unpack_bundle(archive, tmp_path / "unpacked").digest == client.get_model_version("tamper/1").bundle_digest
    # a tampered cache entry is refused too, not silently used
    cached = next((client.settings.resolved_cache_dir() / "bundles").iterdir())
    (cached / "MODEL_CARD.md").write_text("changed")
    with pytest.raises(IntegrityError, match=r"MODEL_CARD\.md"):
        client.load_model("models:/tamper/1")


def test_bad_inputs_name_the_column(client: shipyard.Client) -> None:
    model, X = _sklearn_pipeline()
    with shipyard.start_run("models-inputs", client=client, capture=False) as run:
        run.log_model(model, input_example=X.head(5), registered_model_name="inputs")
    loaded = client.load_model("models:/inputs/latest")
    with pytest.raises(InvalidArgument) as err:
        loaded(X.drop(columns=["mean radius"]))
    assert err.value.field == "mean radius" and "missing column" in str(err.value)
    with pytest.raises(InvalidArgument) as err:
        loaded(X.astype({"worst area": str}))
    assert err.value.field == "worst area" and "string" in str(err.value)
    with pytest.raises(InvalidArgument) as err:
        loaded(X.astype({"mean smoothness": "complex128"}))
    assert err.value.field == "mean smoothness"
    # a widening cast that keeps the meaning is accepted
    ints = X.assign(**{"mean area": X["mean area"].round().astype("int32")})
    assert len(loaded(ints)) == len(X)
    records = X.head(2).to_dict(orient="records")
    np.testing.assert_array_equal(loaded(records), model.predict(X.head(2)))


class _PickledModel:
    def predict(self, df: Any) -> Any:
        return df.iloc[:, 0] * 3


def test_pickles_need_trust(client: shipyard.Client) -> None:
    X, _ = _iris()

    class Local:
        def predict(self, df: Any) -> Any:
            return df.iloc[:, 0] * 2

    with shipyard.start_run("models-trust", client=client, capture=False) as run:
        with pytest.raises(InvalidArgument):  # a local class cannot even be pickled
            run.log_model(Local(), input_example=X.head(2))
        logged = run.log_model(_PickledModel(), input_example=X.head(2), registered_model_name="pickled")
    assert logged.flavor == "python"
    with pytest.raises(PermissionDenied, match="trust=True"):
        client.load_model("models:/pickled/latest")
    trusted = client.load_model("models:/pickled/latest", trust=True)
    np.testing.assert_allclose(trusted(X.head(4)), X.iloc[:4, 0] * 3)


def test_registry_errors(client: shipyard.Client) -> None:
    with pytest.raises(NotFound):
        client.get_model_version("models:/never-registered@production")
    with pytest.raises(InvalidArgument):
        client.get_model_version("models:/bad name/1")
    with pytest.raises(InvalidArgument):
        client.set_model_alias("x", "latest", 1)
    with shipyard.start_run("models-errors", client=client, capture=False) as run:
        pass
    with pytest.raises(InvalidArgument) as err:
        client.register_model(f"runs:/{run.id}/model", "no-bundle")
    assert err.value.field == "artifact_path"
