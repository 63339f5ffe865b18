"""MLflow's side of ``benchmarks/datasets.py``; runs inside MLflow's own virtual environment.

Usage: ``python _mlflow_datasets_driver.py FIGURE CONFIG_JSON``. Prints its results as one JSON line
on stdout (progress goes to stderr). FIGURE is ``file`` (``mlflow.log_artifact`` of one big file) or
``frame`` (``mlflow.log_input(mlflow.data.from_pandas(df))``).

Everything above the figures uses the standard library only, and MLflow is imported inside them:
``datasets.py`` imports :func:`timed` (with :func:`recycle_pages`) and :func:`summary` from here, so
both sides prepare memory and take time the same way.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PAD_BLOCK = 8 << 20
SETTLE_SECONDS = 12.0  # idle time after which the guest has reported its recently freed pages to the host


def recycle_pages(folder: Path, mb: int) -> None:
    """Write ``mb`` MiB to a scratch file in ``folder`` and delete it, just before a timed step.

    On this VM (Firecracker; virtio-balloon free page reporting, ``page_reporting_order=11``) free
    memory is reported to the host about 2 s after it is freed, and the page cache then allocates
    its large folios (what writes of 1 MiB and more get) from that memory at ~0.36 GiB/s, against
    ~5 GiB/s from pages the page cache freed moments before; small writes and anonymous memory are
    not affected. Measured here, writing 1 GiB: 8 MiB writes 2.8 s after 12 s idle vs 0.20 s right
    after deleting a file; 1 MiB 1.8 s vs 0.20 s; 64 KiB 0.85 s vs 0.21 s; 16 KiB 0.39 s vs 0.45 s.
    The pages freed here are reused by the step that follows at once, as on a machine without that
    effect; ``datasets.py`` also times steps without it ("first-touch pages")."""
    os.sync()  # the earlier steps' write-back is not the next step's cost
    if mb <= 0:
        return
    pad = folder / "page-recycling.pad"
    block = b"\xa5" * PAD_BLOCK
    with open(pad, "wb", buffering=0) as fh:
        for _ in range(max(1, (mb << 20) // PAD_BLOCK)):
            fh.write(block)
    pad.unlink()  # dirty pages of a deleted file are dropped, never written back


def timed(step: Callable[[], Any], pad_dir: Path, pad_mb: int) -> tuple[float, Any]:
    """``(seconds, result)`` of one call of ``step``, ``pad_mb`` MiB of pages recycled just before."""
    recycle_pages(pad_dir, pad_mb)
    t0 = time.perf_counter()
    result = step()
    return time.perf_counter() - t0, result


def summary(times: list[float]) -> dict[str, Any]:
    """The first time is the untimed warm-up; the median is over the others."""
    return {"seconds": statistics.median(times[1:]), "times": times[1:], "warmup_seconds": times[0]}


def label(i: int, reps: int) -> str:
    return "warm-up" if i == 0 else f"{i}/{reps}"


def progress(message: str) -> None:
    print(f"  mlflow: {message}", file=sys.stderr, flush=True)


# The figures (MLflow imported here) ---------------------------------------------------------------
def file(cfg: dict) -> dict:
    """``mlflow.log_artifact`` of the file, each repetition in a new run; the stored copy is
    deleted after each repetition (as Shipyard's side deletes its hub home)."""
    import mlflow

    src = Path(cfg["file"])
    stored_root = Path(cfg["artifacts_root"])
    pad_dir = Path(cfg["pad_dir"])
    times, size_ok = [], True

    def once(i: int, pad_mb: int) -> float:
        nonlocal size_ok
        mlflow.set_experiment(f"bench-file-{i}")
        with mlflow.start_run():
            seconds, _ = timed(lambda: mlflow.log_artifact(str(src)), pad_dir, pad_mb)
        stored = list(stored_root.rglob(src.name))
        size_ok = size_ok and len(stored) == 1 and stored[0].stat().st_size == src.stat().st_size
        for path in stored:
            path.unlink()
        return seconds

    for i in range(cfg["reps"] + 1):
        times.append(once(i, cfg["file_pad_mb"]))
        progress(f"log_artifact {label(i, cfg['reps'])}: {times[-1]:.2f} s")
    progress(f"first-touch pages: idle {SETTLE_SECONDS:g} s, then log_artifact without recycling")
    time.sleep(SETTLE_SECONDS)
    first_touch = once(cfg["reps"] + 1, 0)
    return {**summary(times), "first_touch_seconds": first_touch, "size_ok": size_ok}


def frame(cfg: dict) -> dict:
    """``mlflow.log_input(mlflow.data.from_pandas(df), context="training")``, each repetition in a
    new experiment and run (so the server stores the dataset anew)."""
    import mlflow
    import pandas as pd

    df = pd.read_parquet(cfg["frame_file"])
    times, dataset = [], None

    def log() -> Any:
        ds = mlflow.data.from_pandas(df, name="frame")
        mlflow.log_input(ds, context="training")
        return ds

    for i in range(cfg["reps"] + 1):
        mlflow.set_experiment(f"bench-frame-{i}")
        with mlflow.start_run():
            seconds, dataset = timed(log, Path(cfg["pad_dir"]), cfg["frame_pad_mb"])
        times.append(seconds)
        progress(f"log_input {label(i, cfg['reps'])}: {seconds:.2f} s")
    return {
        **summary(times),
        "rows": len(df),
        "dtypes": {k: str(v) for k, v in df.dtypes.items()},
        "digest": dataset.digest,
        "profile": dataset.profile,
    }


FIGURES = {"file": file, "frame": frame}


def main() -> None:
    figure, cfg = sys.argv[1], json.loads(sys.argv[2])
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]  # `datasets` is ours there, not a library
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(cfg["tracking_uri"])
    result = FIGURES[figure](cfg)
    result["mlflow_version"] = mlflow.__version__
    result["python"] = sys.version.split()[0]
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
