"""The workload of ``benchmarks/tracking.py``, shared by both sides so they do the same work.

Standard library only: it is imported by the Shipyard process and by the MLflow driver, which
runs in MLflow's own virtual environment.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

SEED = 20_241_122
MODELS = ("rf", "xgb", "lr", "mlp")
TEAMS = ("search", "ads", "risk")
SEARCH_FILTER = 'metrics.auc > 0.5 and params.model = "rf"'
SEARCH_ORDER = ["metrics.auc DESC"]
PAGE_SIZE = 1_000
MLFLOW_BATCH = 1_000  # MLflow's limit of metrics per log_batch call
SHIPYARD_BATCH = 10_000
REPEATS = 3  # timed repetitions of the artifact figures (median reported)
READ_REPEATS = 5  # timed repetitions of the search and history figures (median reported)
SETTLE_SECONDS = 2.0  # pause after an (unmeasured) setup, same for both sides: servers finish background work


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does."""

    warmup: int
    latency_calls: int
    batch_points: int
    search_runs: int
    history_steps: int
    artifact_mb: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


FULL = Sizes(
    warmup=100, latency_calls=2_000, batch_points=200_000, search_runs=5_000, history_steps=100_000, artifact_mb=200
)
QUICK = Sizes(
    warmup=50, latency_calls=500, batch_points=50_000, search_runs=1_000, history_steps=100_000, artifact_mb=50
)


@dataclass(frozen=True)
class ClientSizes:
    """How much work each figure of the MLflow-client mode does (the same MLflow client on both sides)."""

    ingest_runs: int  # runs that receive log_batch calls
    ingest_points: int  # metric points per run, sent MLFLOW_BATCH at a time
    search_runs: int  # runs in the searched experiment
    search_repeats: int  # timed searches (p50 reported)
    history_steps: int  # points of the one long metric
    history_repeats: int  # timed get_metric_history calls (p50 reported)
    populate_threads: int  # client threads that create the search runs (setup only, never timed)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


CLIENT_FULL = ClientSizes(
    ingest_runs=20,
    ingest_points=10_000,
    search_runs=5_000,
    search_repeats=20,
    history_steps=100_000,
    history_repeats=5,
    populate_threads=4,
)
CLIENT_QUICK = ClientSizes(
    ingest_runs=5,
    ingest_points=10_000,
    search_runs=1_000,
    search_repeats=10,
    history_steps=20_000,
    history_repeats=5,
    populate_threads=4,
)
CLIENT_PAGE_SIZE = 100  # max_results of each search_runs call in the MLflow-client mode


def search_dataset(n: int) -> list[dict]:
    """``n`` runs: a name, param ``model``, metrics ``auc`` and ``loss``, tag ``team``. Seeded."""
    rng = random.Random(SEED)
    return [
        {
            "name": f"run-{i:05d}",
            "model": rng.choice(MODELS),
            "auc": rng.random(),
            "loss": rng.random(),
            "team": rng.choice(TEAMS),
        }
        for i in range(n)
    ]


def batch_columns(total: int) -> tuple[list[str], list[float], list[int]]:
    """``total`` points over 10 metric keys: keys, values, steps (parallel lists). Seeded."""
    rng = random.Random(SEED)
    keys = [f"m{i % 10}" for i in range(total)]
    values = [rng.random() for _ in range(total)]
    steps = [i // 10 for i in range(total)]
    return keys, values, steps


def history_values(steps: int) -> list[float]:
    rng = random.Random(SEED)
    return [rng.random() for _ in range(steps)]


def latency_summary(samples_ns: list[int]) -> dict[str, float]:
    """p50, p99 and mean of per-call latencies, in seconds."""
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50": statistics.median(ordered) / 1e9,
        "p99": p99 / 1e9,
        "mean": statistics.fmean(ordered) / 1e9,
        "calls": len(ordered),
    }


def names_digest(names: list[str]) -> str:
    """A short digest of an ordered list of run names (to compare result order across sides)."""
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]


def points_digest(points: list[tuple[int, float]]) -> str:
    """A short digest of (step, value) points in step order (to compare a history across sides)."""
    text = "\n".join(f"{step}:{value!r}" for step, value in sorted(points))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def percentile(samples: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples``, nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def write_random_file(path: Path, mb: int) -> Path:
    with open(path, "wb") as fh:
        for _ in range(mb):
            fh.write(os.urandom(1 << 20))
    return path


def settle() -> None:
    """Let the server finish background work the setup caused (SQLite checkpoints, queues) so the
    timed reads measure reads; the same pause for both sides."""
    time.sleep(SETTLE_SECONDS)


def plain_copy_seconds(src: Path, work: Path) -> float:
    """Median of 3 ``shutil.copyfile`` of the artifact file: the floor for upload and download
    (on Linux an in-kernel copy: no bytes pass through Python)."""
    return _median_of(lambda dest: shutil.copyfile(src, dest), work)


def streamed_copy_seconds(src: Path, work: Path) -> float:
    """Median of 3 copies through user space in 4 MiB reads and writes."""

    def copy(dest: Path) -> None:
        with open(src, "rb", buffering=0) as a, open(dest, "wb", buffering=0) as b:
            while chunk := a.read(4 << 20):
                b.write(chunk)

    return _median_of(copy, work)


def sha256_seconds(src: Path) -> float:
    """Median of 3 sha256 passes over the file: what content addressing costs at least."""
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        h = hashlib.sha256()
        with open(src, "rb", buffering=0) as fh:
            while chunk := fh.read(4 << 20):
                h.update(chunk)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _median_of(copy: Callable[[Path], object], work: Path) -> float:
    """Copies are kept until every round is done, as stored artifacts are: on VMs that return free
    memory to the host, writing into fresh pages costs far more than reusing just-freed ones."""
    times, made = [], []
    for i in range(REPEATS):
        dest = work / f"plain-copy-{i}.bin"
        os.sync()
        t0 = time.perf_counter()
        copy(dest)
        times.append(time.perf_counter() - t0)
        made.append(dest)
    for dest in made:
        dest.unlink()
    return statistics.median(times)


def freshen(path: Path, round_no: int) -> None:
    """Make the file's content new for this round (its first bytes change), so no side can reuse an
    earlier upload: content-addressed stores would otherwise skip storing a repeat."""
    with open(path, "r+b") as fh:
        fh.write(f"round-{round_no:04d}-{time.time_ns()}".encode())


def artifact_rounds(upload: Callable[[str], object], download: Callable[[str], Path], src: Path) -> dict:
    """Median of 3 upload + download rounds, each with fresh content; sizes checked."""
    ups, downs, size_ok = [], [], True
    for i in range(REPEATS):
        freshen(src, i)
        os.sync()  # unmeasured: no side pays for the other's (or its own earlier) disk write-back
        t0 = time.perf_counter()
        upload(f"round{i}")
        ups.append(time.perf_counter() - t0)
        os.sync()
        t0 = time.perf_counter()
        local = download(f"round{i}")
        downs.append(time.perf_counter() - t0)
        size_ok = size_ok and local.stat().st_size == src.stat().st_size
        local.unlink()
    return {
        "upload_seconds": statistics.median(ups),
        "download_seconds": statistics.median(downs),
        "upload_times": ups,
        "download_times": downs,
        "size_ok": size_ok,
    }
