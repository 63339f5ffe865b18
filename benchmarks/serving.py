"""Shipyard's model server vs `mlflow models serve`, BentoML and a bare FastAPI + onnxruntime endpoint.

One model (scikit-learn RandomForestClassifier, 100 trees, depth 8, 20 float32 features, trained
here once with a fixed seed) is served by each side in turn on 127.0.0.1 and loaded with the same
single-row request by ``wrk`` (one thread) at 1, 8 and 64 concurrent connections:

* Shipyard: the model registered in a fresh ``SHIPYARD_HOME`` with an input example, exported with
  ``client.export_onnx`` (parity-checked), served by ``shipyard serve models:/rf/1`` (it serves the
  ONNX export), again with ``--no-onnx`` (the scikit-learn flavor itself), and, for information,
  with ``--log-sample 0`` (inference log off). Open Inference Protocol JSON; request validation
  against the signature, Prometheus metrics and the inference log (100% sampled) are on by default;
  the rows the log wrote are counted against the answers.
* MLflow: ``mlflow.sklearn.save_model`` in MLflow's own venv (``.bench/mlflow-venv``, as for
  ``tracking.py``), ``mlflow models serve --env-manager local --workers 1``.
* BentoML: ``bentoml.sklearn.save_model`` in BentoML's own venv (``.bench/bentoml-venv``, created on
  first use; override with ``SHIPYARD_BENCH_BENTOML_VENV``), a service with adaptive batching on,
  ``bentoml serve`` with one worker.
* Bare: FastAPI + onnxruntime (``_serving_peers/bare_onnx.py``) on the skl2onnx conversion of the
  model, uvicorn with httptools and uvloop: the ceiling to approach. Run twice, with onnxruntime's
  default threads (as Shipyard's ONNX flavor) and with one intra-op thread; the better is the ceiling.

Usage::

    .venv/bin/python benchmarks/serving.py                  # 10 s per point, every side twice (~10 minutes)
    .venv/bin/python benchmarks/serving.py --quick          # 5 s per point, once (~3 minutes)
    .venv/bin/python benchmarks/serving.py --json out.json --rounds 1 --sides shipyard,bare

Each point shows the best of its rounds (most requests/s): this VM's CPU speed drifts for seconds at a
time (the same predict call takes 3.5 or 6.5 ms), which only ever slows a side down.

Ratios read "Shipyard vs peer": above 1 means Shipyard is better (more requests/s, lower latency).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import onnxruntime as ort
import orjson
import sklearn
import urllib3
from rich.table import Table
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

import shipyard
import tracking
from shipyard.testing import free_port, wait_http
from tracking import X, console

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = HERE / "_serving_peers"
BENTOML_VERSION = "1.4.39"
BENTOML_VENV_ENV = "SHIPYARD_BENCH_BENTOML_VENV"
CONNECTIONS = (1, 8, 64)
SEED = 0
PREDICT_CALLS = 500
QUIET_BUSY = 0.15  # before each side: wait for the machine's CPU use to fall below this ...
QUIET_WAIT = 90.0  # ... for at most this many seconds
PAIRS = 6  # paired (rf.predict in-process, then the --no-onnx server at 1 connection) measurements
PAIR_SECONDS = 2
# the "Done when"
MIN_VS_PEERS = 20.0  # Shipyard req/s at 64 connections over MLflow's and BentoML's
MIN_VS_BARE = 0.70  # Shipyard req/s over the bare endpoint's
MAX_P50_VS_BARE = 2.0  # Shipyard p50 at 1 connection over the bare endpoint's
MAX_ADDED_MS = 1.0  # Shipyard --no-onnx p50 at 1 connection minus the model's own predict call
Row = tuple[str, ...]


@dataclass(frozen=True)
class Durations:
    point: int  # seconds of load per connection count
    warmup: int  # seconds of load before the first point (not recorded)
    settle: float  # seconds of quiet between points


FULL = Durations(point=10, warmup=2, settle=1.0)
QUICK = Durations(point=5, warmup=1, settle=0.5)


# Venvs -------------------------------------------------------------------------------------------
def bentoml_python() -> Path:
    """The python of BentoML's venv, created (or repaired) like MLflow's in ``tracking.py``, with
    the scikit-learn and NumPy of this process (so the model file loads as it was written)."""
    venv = Path(os.environ.get(BENTOML_VENV_ENV) or ROOT / ".bench" / "bentoml-venv")
    python = venv / "bin" / "python"
    want = {"bentoml": BENTOML_VERSION, "scikit-learn": sklearn.__version__, "numpy": np.__version__}
    probe = [str(python), "-c", f"import importlib.metadata as m; print([m.version(d) for d in {list(want)!r}])"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True).stdout.strip()
        if found == repr(list(want.values())):
            return python
    console.print(f"[bold]Setting up BentoML {BENTOML_VERSION} in {venv}[/bold] (one time; takes a minute)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pins = [f"{name}=={v}" for name, v in want.items()]
    subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], check=True)
    return python


def source_state() -> dict[str, str]:
    """The commit Shipyard runs from, whether src/ has uncommitted changes (the working tree is shared),
    and a digest of every file under src/ (compared at the start and the end of the run)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "log", "-1", "--format=%h %ad %s", "--date=iso"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True).stdout
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    state = " (+ uncommitted changes in src/)" if dirty.strip() else " (src/ clean)"
    return {"commit": head.stdout.strip()[:100] + state, "src_sha256": digest.hexdigest()}


def wait_quiet(limit: float = QUIET_WAIT) -> tuple[float, float]:
    """Wait (up to ``limit`` seconds) until the machine's CPU use over 1 s is below QUIET_BUSY, nothing
    of this benchmark running: (the last busy fraction, seconds waited)."""
    t0 = time.monotonic()
    busy = cpu_busy()
    while busy > QUIET_BUSY and time.monotonic() - t0 < limit:
        busy = cpu_busy()
    return busy, time.monotonic() - t0


def venv_versions(python: Path, names: list[str]) -> dict[str, str]:
    code = f"import importlib.metadata as m, json; print(json.dumps({{d: m.version(d) for d in {names!r}}}))"
    return json.loads(subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout)


# The model and its copies ------------------------------------------------------------------------
@dataclass
class Model:
    rf: RandomForestClassifier
    example: np.ndarray  # 5 float32 rows: the input example every side records
    row: np.ndarray  # the one row every request carries, shape [1, 20]
    label: int  # rf.predict(row)
    joblib_file: Path
    example_file: Path
    onnx_file: Path
    fit_seconds: float


def build_model(tmp: Path) -> Model:
    features, labels = make_classification(n_samples=5000, n_features=20, random_state=SEED)
    features = features.astype(np.float32)
    t0 = time.perf_counter()
    rf = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=SEED).fit(features, labels)
    fit = time.perf_counter() - t0
    joblib.dump(rf, tmp / "rf.joblib")
    np.save(tmp / "example.npy", features[:5])
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    graph = to_onnx(rf, initial_types=[("input", FloatTensorType([None, 20]))], options={id(rf): {"zipmap": False}})
    (tmp / "rf.onnx").write_bytes(graph.SerializeToString())
    row = features[:1]
    return Model(
        rf, features[:5], row, int(rf.predict(row)[0]), tmp / "rf.joblib", tmp / "example.npy", tmp / "rf.onnx", fit
    )


def timed_calls(call: Callable[[], Any], calls: int) -> list[int]:
    """Nanoseconds of each of ``calls`` calls, after 20 untimed ones."""
    for _ in range(20):
        call()
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - t0)
    return samples


def summary(samples: list[int]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered) / 1e9, "p99": ordered[int(0.99 * (len(ordered) - 1))] / 1e9}


def median_call(call: Callable[[], Any], calls: int) -> dict[str, float]:
    return summary(timed_calls(call, calls))


def model_calls(model: Model) -> dict[str, Any]:
    """The model's own cost for one row, in this process: sklearn predict, and the ONNX graph."""
    session = ort.InferenceSession(str(model.onnx_file), providers=["CPUExecutionProvider"])
    one = ort.SessionOptions()
    one.intra_op_num_threads, one.inter_op_num_threads = 1, 1
    single = ort.InferenceSession(str(model.onnx_file), one, providers=["CPUExecutionProvider"])
    return {
        "sklearn_predict_setup": median_call(lambda: model.rf.predict(model.row), PREDICT_CALLS),
        "onnx_run": median_call(lambda: session.run(None, {"input": model.row}), PREDICT_CALLS * 4),
        "onnx_run_1_thread": median_call(lambda: single.run(None, {"input": model.row}), PREDICT_CALLS * 4),
        "calls": PREDICT_CALLS,
    }


def prepare_shipyard(model: Model, home: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    with shipyard.Client(str(home)) as client:
        version = shipyard.register_model(model.rf, "rf", input_example=model.example, client=client)
        export = client.export_onnx(f"models:/rf/{version.version}")
    return {
        "version": version.version,
        "signature": version.signature,
        "onnx_recorded": export.recorded,
        "parity": export.parity.to_dict(),
        "seconds": time.perf_counter() - t0,
    }


def prepare_mlflow(python: Path, model: Model, dest: Path) -> None:
    save = [str(python), str(PEERS / "mlflow_save.py"), str(model.joblib_file), str(model.example_file), str(dest)]
    subprocess.run(save, check=True, capture_output=True, env={**os.environ, "GIT_PYTHON_REFRESH": "quiet"})


def bentoml_env(python: Path, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "BENTOML_HOME": str(tmp / "bentoml-home"),
        "BENTOML_DO_NOT_TRACK": "true",
        "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def prepare_bentoml(python: Path, model: Model, tmp: Path) -> None:
    save = [str(python), str(PEERS / "bento_service.py"), "save", str(model.joblib_file)]
    subprocess.run(save, check=True, capture_output=True, env=bentoml_env(python, tmp))


# Sides -------------------------------------------------------------------------------------------
@dataclass
class Side:
    key: str
    label: str
    command: list[str]
    env: dict[str, str]
    path: str  # the endpoint wrk loads
    health: str
    body: bytes
    label_of: Callable[[Any], int]  # the predicted label, from the decoded JSON answer
    batch_metric: str | None = None  # a Prometheus histogram of rows per model call, if any
    expect_log: str | None = None  # a line the server must print at startup
    forbid_log: str | None = None
    note: str = ""
    cwd: Path | None = None
    log_folder: Path | None = None  # Shipyard's inference log (its default folder under SHIPYARD_HOME)


def _oip_label(doc: Any) -> int:
    return int(doc["outputs"][0]["data"][0])


def _rows(model: Model) -> list[list[float]]:
    return model.row.tolist()  # float32 -> the nearest Python float: the same digits on every side


def sides(model: Model, tmp: Path, ml_python: Path, bento_python: Path) -> list[Side]:
    shipyard_bin = Path(sys.executable).parent / "shipyard"
    sy_home = tmp / "shipyard-home"
    sy_env = {**os.environ, "SHIPYARD_HOME": str(sy_home), "COLUMNS": "200"}
    sy_log = sy_home / "inference-log"
    sy_env.pop("SHIPYARD_TRACKING_URI", None)
    oip = orjson.dumps({"inputs": [{"name": "input", "shape": [1, 20], "datatype": "FP32", "data": _rows(model)[0]}]})
    ml_env = {
        **os.environ,
        "GIT_PYTHON_REFRESH": "quiet",
        "PATH": f"{ml_python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "UVICORN_ACCESS_LOG": "false",  # uvicorn reads its options from UVICORN_*: no access log, as elsewhere
    }
    ml_cmd = [str(ml_python.parent / "mlflow"), "models", "serve", "-m", str(tmp / "mlflow-model")]
    ml_cmd += ["--env-manager", "local", "--host", "127.0.0.1", "--port", "{port}", "--workers", "1"]
    bento_cmd = [str(bento_python.parent / "bentoml"), "serve", "bento_service:RandomForest"]
    bento_cmd += ["--working-dir", str(PEERS), "--host", "127.0.0.1", "--port", "{port}"]
    bare = [sys.executable, str(PEERS / "bare_onnx.py"), str(model.onnx_file)]
    return [
        Side(
            "shipyard",
            "Shipyard (ONNX export)",
            [str(shipyard_bin), "serve", "models:/rf/1", "--port", "{port}"],
            sy_env,
            "/v2/models/rf/infer",
            "/v2/health/ready",
            oip,
            _oip_label,
            batch_metric="shipyard_inference_batch_rows",
            expect_log="(its onnx export)",
            note="`shipyard serve` defaults: validation, metrics and (if it exists) the inference log on",
            log_folder=sy_log,
        ),
        Side(
            "shipyard_sklearn",
            "Shipyard --no-onnx (sklearn)",
            [str(shipyard_bin), "serve", "models:/rf/1", "--port", "{port}", "--no-onnx"],
            sy_env,
            "/v2/models/rf/infer",
            "/v2/health/ready",
            oip,
            _oip_label,
            batch_metric="shipyard_inference_batch_rows",
            forbid_log="(its onnx export)",
            note="the scikit-learn flavor itself (skops file); otherwise as above",
            log_folder=sy_log,
        ),
        Side(
            "shipyard_nolog",
            "Shipyard, --log-sample 0",
            [str(shipyard_bin), "serve", "models:/rf/1", "--port", "{port}", "--log-sample", "0"],
            sy_env,
            "/v2/models/rf/infer",
            "/v2/health/ready",
            oip,
            _oip_label,
            batch_metric="shipyard_inference_batch_rows",
            expect_log="(its onnx export)",
            note="informative: the ONNX export with the inference log off (not a Done-when figure)",
            log_folder=sy_log,
        ),
        Side(
            "mlflow",
            "mlflow models serve",
            ml_cmd,
            ml_env,
            "/invocations",
            "/ping",
            orjson.dumps({"inputs": _rows(model)}),
            lambda doc: int(doc["predictions"][0]),
            note="--workers 1 (its default), tensor signature checked",
        ),
        Side(
            "bentoml",
            "BentoML (batching on)",
            bento_cmd,
            bentoml_env(bento_python, tmp),
            "/predict",
            "/readyz",
            orjson.dumps({"rows": _rows(model)}),
            lambda doc: int(doc[0]),
            batch_metric="bentoml_service_adaptive_batch_size",
            note="1 worker, batchable, max_batch_size 64",
            cwd=tmp,
        ),
        Side(
            "bare",
            "bare FastAPI + onnxruntime",
            [*bare, "{port}", "default"],
            dict(os.environ),
            "/predict",
            "/health",
            orjson.dumps({"inputs": _rows(model)}),
            lambda doc: int(doc["predictions"][0]),
            note="onnxruntime default threads (as Shipyard)",
        ),
        Side(
            "bare_1t",
            "bare, onnxruntime 1 thread",
            [*bare, "{port}", "1"],
            dict(os.environ),
            "/predict",
            "/health",
            orjson.dumps({"inputs": _rows(model)}),
            lambda doc: int(doc["predictions"][0]),
            note="intra-op threads 1",
        ),
    ]


@contextlib.contextmanager
def running(side: Side, log_path: Path) -> Iterator[str]:
    """The side's server in its own session (every worker it spawns is stopped with it)."""
    port = free_port()
    cmd = [part.replace("{port}", str(port)) for part in side.command]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=side.env, cwd=side.cwd, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(url + side.health, timeout=180, proc=proc)
        except (RuntimeError, TimeoutError):
            console.print(log_path.read_text(errors="replace")[-3000:], markup=False)
            raise
        yield url
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # a worker that outlived its parent
        os.killpg(proc.pid, signal.SIGKILL)


def check_answer(side: Side, url: str, expected: int) -> dict[str, Any]:
    http = urllib3.PoolManager(retries=False, timeout=30.0)
    response = http.request("POST", url + side.path, body=side.body, headers={"content-type": "application/json"})
    if response.status != 200:
        raise SystemExit(f"{side.label}: POST {side.path} answered {response.status}: {response.data[:500]!r}")
    label = side.label_of(orjson.loads(response.data))
    if label != expected:
        raise SystemExit(f"{side.label}: predicted {label}, the model itself {expected}")
    return {"status": response.status, "label": label, "response": response.data.decode()[:300]}


def metric_sum(text: str, name: str, having: str = "") -> float:
    """The sum of every series of the Prometheus metric ``name`` (whose labels contain ``having``)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " ") and having in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def batch_totals(side: Side, url: str) -> tuple[float, float] | None:
    """(sum, count) of the side's rows-per-model-call histogram, over every series."""
    if side.batch_metric is None:
        return None
    text = urllib3.request("GET", url + "/metrics", timeout=10.0).data.decode()
    return metric_sum(text, side.batch_metric + "_sum"), metric_sum(text, side.batch_metric + "_count")


def logged_rows(folder: Path | None) -> int:
    """Rows in the Parquet files of Shipyard's inference log (``model=NAME/version=V/date=D/``)."""
    if folder is None or not folder.is_dir():
        return 0
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(f).num_rows for f in folder.rglob("*.parquet") if "model=" in str(f))


# wrk ---------------------------------------------------------------------------------------------
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise ValueError(f"cannot read wrk's duration {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def parse_wrk(out: str) -> dict[str, Any]:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    if rate is None or total is None:
        raise ValueError(f"cannot read wrk's output:\n{out}")
    quantiles = {f"p{q}": _seconds(v) for q, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.MULTILINE)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(rate.group(1)),
        "requests": int(total.group(1)),
        "duration": _seconds(total.group(2)),
        **quantiles,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups()), strict=True))
        if sock
        else {},
    }


def wrk(url: str, lua: Path, connections: int, seconds: int) -> str:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s", str(lua), url]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def write_lua(path: Path, body: bytes) -> Path:
    text = body.decode()
    assert "]==]" not in text
    path.write_text(
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[{text}]==]\n'
    )
    return path


def cpu_busy(seconds: float = 1.0) -> float:
    """The machine's CPU busy fraction over ``seconds`` (from /proc/stat): between sides nothing of
    this benchmark runs, so this is everybody else."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(1, total1 - total0)


def overhead_pairs(model: Model, endpoint: str, lua: Path, durations: Durations) -> list[dict[str, float]]:
    """What the server adds to the model's own call, measured in pairs close in time: ``rf.predict`` on
    the row in this process (median of 100 calls), then the server at one connection (wrk's p50 over
    a short run). The CPU speed of this VM drifts (the same predict call takes 3.5 to 6 ms from one
    minute to the next, invisible in /proc/stat), so each pair's difference is taken, then their median."""
    pairs = []
    for _ in range(PAIRS):
        own = median_call(lambda: model.rf.predict(model.row), 100)["p50"]
        served = parse_wrk(wrk(endpoint, lua, 1, PAIR_SECONDS))["p50"]
        pairs.append({"predict_p50": own, "served_p50": served, "added": served - own})
        time.sleep(durations.settle / 2)
    return pairs


def measure(side: Side, model: Model, tmp: Path, durations: Durations) -> dict[str, Any]:
    log_path = tmp / f"{side.key}.log"
    lua = write_lua(tmp / f"{side.key}.lua", side.body)
    busy, waited = wait_quiet()
    if busy > QUIET_BUSY:
        console.print(
            f"  [yellow]the machine is busy ({busy:.0%} CPU) after {waited:.0f} s of waiting; going on[/yellow]"
        )
    result: dict[str, Any] = {"label": side.label, "note": side.note, "busy_before": busy, "waited_quiet": waited}
    result["load_before"] = os.getloadavg()
    rows_before = logged_rows(side.log_folder)
    t0 = time.perf_counter()
    with running(side, log_path) as url:
        result["startup_seconds"] = time.perf_counter() - t0
        startup = log_path.read_text(errors="replace")
        if side.expect_log and side.expect_log not in startup:
            raise SystemExit(f"{side.label}: the startup output lacks {side.expect_log!r}:\n{startup}")
        if side.forbid_log and side.forbid_log in startup:
            raise SystemExit(f"{side.label}: the startup output says {side.forbid_log!r}:\n{startup}")
        result["startup_output"] = startup.strip()[:1000]
        found = [line.strip() for line in startup.splitlines() if line.startswith("inference log:")]
        result["inference_log"] = found[0] if found else None
        result["check"] = check_answer(side, url, model.label)
        endpoint = url + side.path
        wrk(endpoint, lua, 64, durations.warmup)  # warm-up, not recorded
        points = {}
        for n in CONNECTIONS:
            time.sleep(durations.settle)
            before = batch_totals(side, url)
            load0 = os.getloadavg()[0]
            out = wrk(endpoint, lua, n, durations.point)
            point = parse_wrk(out)
            point["load1"] = [load0, os.getloadavg()[0]]
            after = batch_totals(side, url)
            if before is not None and after is not None and after[1] > before[1]:
                point["rows_per_call"] = (after[0] - before[0]) / (after[1] - before[1])
            point["wrk_output"] = out
            points[str(n)] = point
            errs = point["non_2xx"] + sum(point["socket_errors"].values())
            console.print(
                f"  {side.label:<30} c={n:<3} {point['rps']:>9,.0f} req/s  p50 {fmt_ms(point['p50'])}  "
                f"p99 {fmt_ms(point['p99'])}  errors {errs}",
                highlight=False,
            )
        result["points"] = points
        if side.key == "shipyard_sklearn":
            result["overhead_pairs"] = overhead_pairs(model, endpoint, lua, durations)
        if side.log_folder is not None:
            time.sleep(durations.settle)  # requests still in the server when wrk stopped are answered (and logged)
            text = urllib3.request("GET", url + "/metrics", timeout=10.0).data.decode()
            result["answered_200"] = metric_sum(text, "shipyard_inference_requests_total", 'code="200"')
            result["log_dropped_rows"] = metric_sum(text, "shipyard_inference_log_dropped_rows")
    if side.log_folder is not None:  # the server flushes its inference log when it stops
        result["log_rows_on_disk"] = logged_rows(side.log_folder) - rows_before
    result["load_after"] = os.getloadavg()
    return result


def merge_rounds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One side over its rounds: per connection count, the round with the most requests/s (noise on a
    shared machine only slows a side down; every side gets the same treatment); every round is kept."""
    out = dict(runs[0])
    out["points"] = {}
    for n in map(str, CONNECTIONS):
        points = [run["points"][n] for run in runs]
        best = max(points, key=lambda p: p["rps"])
        out["points"][n] = {
            **best,
            "round": points.index(best) + 1,
            "rps_rounds": [p["rps"] for p in points],
            "p50_rounds": [p["p50"] for p in points],
            "p99_rounds": [p["p99"] for p in points],
        }
    out["load_after"] = runs[-1]["load_after"]
    out["busy_before_rounds"] = [run["busy_before"] for run in runs]
    out["busy_before"] = max(out["busy_before_rounds"])
    out["waited_rounds"] = [run["waited_quiet"] for run in runs]
    for key in ("answered_200", "log_dropped_rows", "log_rows_on_disk"):
        if key in runs[0]:
            out[key] = sum(run[key] for run in runs)
    if "overhead_pairs" in runs[0]:
        out["overhead_pairs"] = [pair for run in runs for pair in run["overhead_pairs"]]
    return out


# The tables --------------------------------------------------------------------------------------
def fmt_ms(s: float) -> str:
    return f"{s * 1e3:.3f} ms" if s < 0.01 else f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def factor(x: float) -> str:
    """A Shipyard-vs-peer factor (>1: Shipyard better)."""
    if x >= 1:
        return f"{x:,.0f}{X} better" if x >= 100 else f"{x:.1f}{X} better"
    return f"{1 / x:.2f}{X} worse"


def ceiling(results: dict[str, Any], n: int) -> tuple[float, float] | None:
    """The bare endpoint at ``n`` connections: the higher req/s and the lower p50 of its runs."""
    runs = [results[k]["points"][str(n)] for k in ("bare", "bare_1t") if k in results]
    if not runs:
        return None
    return max(r["rps"] for r in runs), min(r["p50"] for r in runs)


def main_rows(results: dict[str, Any]) -> list[Row]:
    sy = results.get("shipyard")
    rows: list[Row] = []
    for key, side in results.items():
        for n in CONNECTIONS:
            p = side["points"][str(n)]
            errors = p["non_2xx"] + sum(p["socket_errors"].values())
            batch = f"{p['rows_per_call']:.1f}" if "rows_per_call" in p else "—"
            vs_rps = vs_p50 = "—"
            if sy is not None and not key.startswith("shipyard"):
                ref = sy["points"][str(n)]
                vs_rps, vs_p50 = factor(ref["rps"] / p["rps"]), factor(p["p50"] / ref["p50"])
            load = "/".join(f"{x:.2f}" for x in p["load1"])
            if len(p.get("rps_rounds", ())) > 1:  # with rounds: each round's req/s
                load = " / ".join(f"{x:,.0f}" for x in p["rps_rounds"])
            rows.append(
                (
                    side["label"],
                    str(n),
                    f"{p['rps']:,.0f}",
                    fmt_ms(p["p50"]),
                    fmt_ms(p["p99"]),
                    str(errors),
                    batch,
                    vs_rps,
                    vs_p50,
                    load,
                )
            )
    return rows


def verdict(ok: bool) -> str:
    return "PASS ✓" if ok else "FAIL ✗"


def done_when_rows(results: dict[str, Any], calls: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    sy = results.get("shipyard")
    if sy is None:
        return rows
    top = str(CONNECTIONS[-1])
    for key in ("mlflow", "bentoml"):
        if key in results:
            ratio = sy["points"][top]["rps"] / results[key]["points"][top]["rps"]
            rows.append(
                (
                    f"req/s at {top} conns vs {results[key]['label']}",
                    f"{ratio:.1f}{X}",
                    f">= {MIN_VS_PEERS:g}{X}",
                    verdict(ratio >= MIN_VS_PEERS),
                )
            )
    for n in CONNECTIONS:
        ceil = ceiling(results, n)
        if ceil is not None:
            ratio = sy["points"][str(n)]["rps"] / ceil[0]
            rows.append(
                (
                    f"req/s at {n} conns vs bare (best run)",
                    f"{ratio:.0%}",
                    f">= {MIN_VS_BARE:.0%}",
                    verdict(ratio >= MIN_VS_BARE),
                )
            )
    ceil = ceiling(results, CONNECTIONS[0])
    if ceil is not None:
        ratio = sy["points"][str(CONNECTIONS[0])]["p50"] / ceil[1]
        rows.append(
            (
                "p50 at 1 conn vs bare (best run)",
                f"{ratio:.2f}{X}",
                f"<= {MAX_P50_VS_BARE:g}{X}",
                verdict(ratio <= MAX_P50_VS_BARE),
            )
        )
    if "shipyard_sklearn" in results:
        side = results["shipyard_sklearn"]
        unpaired = side["points"][str(CONNECTIONS[0])]["p50"] - calls["sklearn_predict"]["p50"]
        pairs = side.get("overhead_pairs") or []
        added = statistics.median(p["added"] for p in pairs) if pairs else unpaired
        rows.append(
            (
                "--no-onnx: server p50 @1 conn minus rf.predict p50",
                f"{added * 1e3:+.3f} ms (median of {len(pairs)} pairs)" if pairs else f"{added * 1e3:+.3f} ms",
                f"< {MAX_ADDED_MS:g} ms",
                verdict(added * 1e3 < MAX_ADDED_MS),
            )
        )
        rows.append(
            (
                "  the same from the table's p50 and the pooled rf.predict",
                f"{unpaired * 1e3:+.3f} ms",
                "(informative)",
                "info",
            )
        )
    rows.append(inference_log_row(sy))
    off = results.get("shipyard_nolog")
    if off is not None:
        parts = []
        if "bentoml" in results:
            parts.append(
                f"{off['points'][top]['rps'] / results['bentoml']['points'][top]['rps']:.1f}{X} BentoML @{top}"
            )
        if ceiling(results, CONNECTIONS[0]) is not None:
            shares = "/".join(f"{off['points'][str(n)]['rps'] / ceiling(results, n)[0]:.0%}" for n in CONNECTIONS)
            p50 = off["points"][str(CONNECTIONS[0])]["p50"] / ceiling(results, CONNECTIONS[0])[1]
            parts.append(f"{shares} of bare @{'/'.join(map(str, CONNECTIONS))}; p50 @1 {p50:.2f}{X} bare")
        rows.append(("the same with --log-sample 0 (informative)", "; ".join(parts), "as above", "info"))
    return rows


def inference_log_state(side: dict[str, Any]) -> str:
    """What the server said about its inference log, and what it wrote."""
    if side.get("inference_log") is None:
        return "no inference log (the server prints none: not implemented, or off)"
    written, answered = side.get("log_rows_on_disk", 0), side.get("answered_200", 0)
    dropped = side.get("log_dropped_rows", 0)
    where = side["inference_log"].rsplit("(", 1)[-1].rstrip(")")  # "sampling 100%"
    return f"on ({where}): {written:,} rows written for {answered:,.0f} answers, {dropped:,.0f} dropped"


def inference_log_row(sy: dict[str, Any]) -> Row:
    if sy.get("inference_log") is None:
        return ("inference log on during the figures", "not implemented / off", "on", "NOT MET ✗")
    complete = sy.get("log_rows_on_disk", 0) >= sy.get("answered_200", 0) and not sy.get("log_dropped_rows")
    measured = f"on; {sy.get('log_rows_on_disk', 0):,} rows for {sy.get('answered_200', 0):,.0f} answers"
    return ("inference log on during the figures", measured, "on, every answer", verdict(complete))


NOTES = """\
Every side serves the same model and gets the same single row (20 float32 values as JSON numbers) in its
own request format; every answer was checked (HTTP 200, the label rf.predict gives) before loading.
wrk {wrk_version}: one thread, -c 1/8/64, {point} s per point after a {warmup} s warm-up at 64 connections,{rounds}
--timeout 10s; p50/p99 are wrk's (client-side, loopback; wrk shares the 2 CPUs with the server).
"errors" = non-2xx answers + socket errors. "rows/call" = mean rows per model call from the side's own
Prometheus histogram (its adaptive batching), where it has one. "load" = 1-minute load average at the start
and end of the point (it counts runnable threads: wrk plus a multi-threaded server alone make 2-3). "CPU busy
before" (below) = the whole machine's CPU use over 1 s just before the side starts, when nothing of this benchmark
runs: other people's work (before each side the benchmark waits up to {quiet_wait:g} s for it to fall below
{quiet:.0%}). Ratios: Shipyard (ONNX export) vs that side, at the same connection count: req/s ratio, and p50
ratio (theirs / Shipyard's); > 1 = Shipyard better.
The bare ceiling ("best run") is, per connection count, the higher req/s and the lower p50 of its two runs.
"Adds less than 1 ms" (--no-onnx): {pairs} pairs, each rf.predict on the row in this process (median of 100 calls)
then wrk -c1 for {pair_s} s on the --no-onnx server; the median of the pairs' differences (this VM's CPU speed drifts
from minute to minute, so unpaired figures taken minutes apart can differ by more than the overhead itself).
Shipyard: `shipyard serve models:/rf/1` (defaults: --threads 2, --max-batch 64, adaptive batching without
a wait): Open Inference Protocol JSON, the request checked against the signature, Prometheus metrics on;
inference log: {log_state}.
Shipyard, --log-sample 0: the same server with the inference log off, to show what the log costs (informative)."""


def render(results: dict[str, Any], calls: dict[str, Any], meta: dict[str, Any]) -> tuple[list[Row], list[Row]]:
    table = Table(title="Shipyard vs peers: serving one RandomForest, single-row requests (ratio > 1: Shipyard better)")
    for name, justify in (
        ("side", "left"),
        ("conns", "right"),
        ("req/s", "right"),
        ("p50", "right"),
        ("p99", "right"),
        ("errors", "right"),
        ("rows/call", "right"),
        ("Shipyard vs: req/s", "right"),
        ("vs: p50", "right"),
        ("req/s by round" if meta["rounds"] > 1 else "load", "right"),
    ):
        table.add_column(name, justify=justify)
    rows = main_rows(results)
    for i, row in enumerate(rows):
        first = i % len(CONNECTIONS) == 0
        table.add_row(row[0] if first else "", *row[1:], end_section=(i + 1) % len(CONNECTIONS) == 0)
    console.print(table)
    model_table = Table(title="The model alone, in-process, one row (median of many calls)")
    model_table.add_column("call")
    model_table.add_column("p50", justify="right")
    model_table.add_column("p99", justify="right")
    for label, key in (
        ("rf.predict (scikit-learn), at setup", "sklearn_predict_setup"),
        ("rf.predict, just before the --no-onnx side", "sklearn_predict_before"),
        ("rf.predict, just after the --no-onnx side", "sklearn_predict_after"),
        ("rf.predict, before + after pooled (the reference)", "sklearn_predict"),
        ("onnxruntime session.run, default threads", "onnx_run"),
        ("onnxruntime session.run, 1 thread", "onnx_run_1_thread"),
    ):
        if key in calls:
            model_table.add_row(label, fmt_ms(calls[key]["p50"]), fmt_ms(calls[key]["p99"]))
    console.print(model_table)
    checks = done_when_rows(results, calls)
    if checks:
        done = Table(title="The issue's Done-when (Shipyard = `shipyard serve`, its ONNX export)")
        for name in ("criterion", "measured", "target", "verdict"):
            done.add_column(name, justify="left" if name == "criterion" else "right")
        for row in checks:
            done.add_row(*row)
        console.print(done)
    notes = NOTES.format(
        wrk_version=meta["wrk"],
        point=meta["durations"]["point"],
        warmup=meta["durations"]["warmup"],
        log_state=meta["inference_log"],
        pairs=PAIRS,
        pair_s=PAIR_SECONDS,
        quiet_wait=QUIET_WAIT,
        quiet=QUIET_BUSY,
        rounds=(
            f"\nevery side run {meta['rounds']} times (every other round in reverse order); shown: each point's "
            "round with the most req/s (noise only slows a side)"
            if meta["rounds"] > 1
            else ""
        ),
    )
    console.print(notes, markup=False, highlight=False)
    for side in results.values():
        before = "/".join(f"{x:.2f}" for x in side["load_before"])
        after = "/".join(f"{x:.2f}" for x in side["load_after"])
        log = f"; inference log: {inference_log_state(side)}" if "log_rows_on_disk" in side else ""
        console.print(
            f"{side['label']}: {side['note']}{log}; started in {side['startup_seconds']:.1f} s; CPU busy before "
            f"{side['busy_before']:.0%} (rounds: {', '.join(f'{b:.0%}' for b in side['busy_before_rounds'])}; "
            f"waited {', '.join(f'{w:.0f}' for w in side['waited_rounds'])} s for quiet); "
            f"load (1/5/15) before {before}, after {after}",
            markup=False,
            highlight=False,
        )
    console.print(meta["machine"], markup=False, highlight=False)
    console.print(meta["versions_line"], markup=False, highlight=False)
    changed = (
        " — CHANGED DURING THE RUN (figures may mix versions)" if meta["shipyard_source_changed_during_run"] else ""
    )
    console.print(
        f"Shipyard source: {meta['shipyard_source']['commit']}; src/ sha256 "
        f"{meta['shipyard_source']['src_sha256'][:12]}{changed}",
        markup=False,
        highlight=False,
    )
    load = meta["load_average"]
    before, after = ("/".join(f"{x:.2f}" for x in load[k]) for k in ("before", "after"))
    console.print(
        f"load average (1/5/15 min): before {before}, after {after}; wall {meta['wall_seconds']:.0f} s",
        markup=False,
        highlight=False,
    )
    console.print(f"command: {meta['command']}", markup=False, highlight=False)
    return rows, checks


# Main --------------------------------------------------------------------------------------------
SIDE_KEYS = ("shipyard", "shipyard_sklearn", "shipyard_nolog", "mlflow", "bentoml", "bare", "bare_1t")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--quick", action="store_true", help="5 s per point instead of 10, one round")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--rounds",
        type=int,
        help="run every side this many times, in turn; each point's best round is shown (2; 1 with --quick)",
    )
    parser.add_argument("--sides", default=",".join(SIDE_KEYS), help=f"comma-separated subset of {','.join(SIDE_KEYS)}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    chosen = [s.strip() for s in args.sides.split(",") if s.strip()]
    unknown = set(chosen) - set(SIDE_KEYS)
    if unknown:
        raise SystemExit(f"unknown sides {sorted(unknown)}; choose from {list(SIDE_KEYS)}")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    durations = QUICK if args.quick else FULL
    args.rounds = max(1, args.rounds if args.rounds is not None else 1 if args.quick else 2)
    ml_python = tracking.mlflow_python()
    bento_python = bentoml_python()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    tmp = Path(tempfile.mkdtemp(prefix="shipyard-bench-serving-"))
    started, load_before, source_before = time.perf_counter(), os.getloadavg(), source_state()
    try:
        console.rule("setup")
        model = build_model(tmp)
        console.print(f"trained the forest in {model.fit_seconds:.2f} s; writing each side's copy …")
        calls = model_calls(model)
        setup: dict[str, Any] = {}
        if any(key.startswith("shipyard") for key in chosen):
            setup["shipyard"] = prepare_shipyard(model, tmp / "shipyard-home")
            if not setup["shipyard"]["onnx_recorded"]:
                raise SystemExit(f"Shipyard's ONNX export failed its parity check: {setup['shipyard']['parity']}")
        if "mlflow" in chosen:
            prepare_mlflow(ml_python, model, tmp / "mlflow-model")
        if "bentoml" in chosen:
            prepare_bentoml(bento_python, model, tmp)
        console.print(
            f"rf.predict on one row: p50 {fmt_ms(calls['sklearn_predict_setup']['p50'])}; "
            f"onnxruntime: {fmt_ms(calls['onnx_run']['p50'])}",
            highlight=False,
        )
        calls["sklearn_predict"] = calls["sklearn_predict_setup"]  # unless measured around the --no-onnx side
        runs: dict[str, list[dict[str, Any]]] = {}
        before: list[int] = []
        after: list[int] = []
        for r in range(args.rounds):
            order = sides(model, tmp, ml_python, bento_python)
            for side in order if r % 2 == 0 else order[::-1]:  # every other round backwards: less drift bias
                if side.key not in chosen:
                    continue
                console.rule(f"{side.label}, round {r + 1} of {args.rounds}" if args.rounds > 1 else side.label)
                if side.key != "shipyard_sklearn":
                    runs.setdefault(side.key, []).append(measure(side, model, tmp, durations))
                    continue
                # the reference for "adds less than 1 ms": rf.predict just before and just after this side,
                # pooled, so that a passing disturbance on this shared machine does not decide the figure
                predict = lambda: model.rf.predict(model.row)  # noqa: E731
                before += timed_calls(predict, PREDICT_CALLS)
                runs.setdefault(side.key, []).append(measure(side, model, tmp, durations))
                after += timed_calls(predict, PREDICT_CALLS)
        if before:
            calls["sklearn_predict_before"], calls["sklearn_predict_after"] = summary(before), summary(after)
            calls["sklearn_predict"] = summary(before + after)
        results = {key: merge_rounds(side_runs) for key, side_runs in runs.items()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ml = venv_versions(ml_python, ["mlflow", "scikit-learn", "numpy"])
    bento = venv_versions(bento_python, ["bentoml", "scikit-learn", "numpy"])
    versions = {
        "shipyard": shipyard.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "onnxruntime": ort.__version__,
        "skl2onnx": dist_version("skl2onnx"),
        "fastapi": dist_version("fastapi"),
        "uvicorn": dist_version("uvicorn"),
        "mlflow_venv": ml,
        "bentoml_venv": bento,
        "wrk": wrk_version,
    }
    meta = {
        "machine": (
            f"machine: {os.cpu_count()} CPUs, {platform.platform()}; Python {platform.python_version()} "
            "(Shipyard, bare endpoint, this script); MLflow and BentoML in their own venvs"
        ),
        "versions_line": (
            f"versions: Shipyard {shipyard.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
            f"onnxruntime {ort.__version__}, skl2onnx {versions['skl2onnx']}, FastAPI {versions['fastapi']}, "
            f"uvicorn {versions['uvicorn']}; MLflow {ml['mlflow']} (scikit-learn {ml['scikit-learn']}); "
            f"BentoML {bento['bentoml']} (scikit-learn {bento['scikit-learn']}); wrk {wrk_version}"
        ),
        "versions": versions,
        "wrk": wrk_version,
        "durations": {"point": durations.point, "warmup": durations.warmup, "settle": durations.settle},
        "connections": list(CONNECTIONS),
        "model": {
            "estimator": "RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0)",
            "data": "make_classification(n_samples=5000, n_features=20, random_state=0), float32",
            "fit_seconds": model.fit_seconds,
            "row": model.row.tolist()[0],
            "label": model.label,
        },
        "setup": setup,
        "command": shlex.join(sys.orig_argv),
        "rounds": args.rounds,
        "shipyard_source": source_before,
        "shipyard_source_changed_during_run": source_state()["src_sha256"] != source_before["src_sha256"],
        "wall_seconds": time.perf_counter() - started,
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "inference_log": inference_log_state(results["shipyard"]) if "shipyard" in results else "not measured",
    }
    rows, checks = render(results, calls, meta)
    if args.json:
        names = ("side", "conns", "rps", "p50", "p99", "errors", "rows_per_call", "vs_rps", "vs_p50", "load_or_rounds")
        out = {
            "meta": meta,
            "model_calls": calls,
            "results": results,
            "table": [dict(zip(names, row, strict=True)) for row in rows],
            "done_when": [dict(zip(("criterion", "measured", "target", "verdict"), r, strict=True)) for r in checks],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2))
        console.print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
