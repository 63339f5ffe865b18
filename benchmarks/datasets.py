"""Shipyard's dataset logging, measured on this machine, and side by side with MLflow, in one run.

1. The dataset issue's acceptance figure: "Logging a 1 GB dataset file adds less than 1.5x the time
   of hashing it once (streaming, no second pass)". One random 1 GiB file; per repetition (a) one
   streaming sha256 pass over it in Python, (b) ``run.log_dataset(path)`` in local mode (SQLite +
   folder) into a fresh home, so the content is new and is hashed while stored, (c) the same to a hub
   over HTTP (fresh hub home; informative). A plain copy of the file is the baseline.
2. The same file: Shipyard ``log_dataset`` to its hub vs ``mlflow.log_artifact`` to ``mlflow server``
   (proxied artifacts); MLflow has no content-addressed dataset storage for files.
3. A DataFrame of 1,000,000 rows x (10 float + 1 string) columns: Shipyard ``log_dataset(df)`` to
   its hub vs ``mlflow.log_input(mlflow.data.from_pandas(df))`` to ``mlflow server``.

Shipyard runs in this process; MLflow in a driver (``_mlflow_datasets_driver.py``) executed by
MLflow's own virtual environment (created at ``.bench/mlflow-venv`` on first use, as for
``tracking.py``; override the location with ``SHIPYARD_BENCH_MLFLOW_VENV``). Every step runs once
untimed (warm-up) before the timed repetitions; medians are reported with every sample. Needs about
four times the file size free in the temporary folder (``TMPDIR``); everything is deleted at the end.

Usage::

    .venv/bin/python benchmarks/datasets.py                # 1 GiB, 1,000,000 rows, 3 repetitions (~4 minutes)
    .venv/bin/python benchmarks/datasets.py --quick        # 256 MiB, 200,000 rows, 1 repetition (~2 minutes)
    .venv/bin/python benchmarks/datasets.py --json out.json --reps 5

Ratios read "Shipyard vs MLflow": above 1 means Shipyard is better (faster).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.table import Table

import shipyard
import tracking
from _mlflow_datasets_driver import SETTLE_SECONDS, summary, timed
from shipyard.domain.datasets import DatasetInput
from shipyard.testing import HubProcess
from tracking import X, better, console, fmt_s

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "_mlflow_datasets_driver.py"
SEED = 20_261_122
THRESHOLD = 1.5  # the acceptance figure: log_dataset(file) / one sha256 pass
BLOCK = 8 << 20  # the read/write size of the hash pass and of the plain copy
CATEGORIES = 24
FRAME_PAD_MB = 1024
Row = tuple[str, str, str, str]


@dataclass(frozen=True)
class Sizes:
    file_mb: int
    rows: int
    reps: int

    @property
    def file_label(self) -> str:
        return f"{self.file_mb / 1024:g} GiB" if self.file_mb >= 1024 else f"{self.file_mb} MiB"

    @property
    def file_pad_mb(self) -> int:
        """Pages recycled before each timed step that writes the file (see ``recycle_pages``): more
        than the step writes, with room for a reporting pass during a slow step."""
        return self.file_mb + 1024


FULL = Sizes(file_mb=1024, rows=1_000_000, reps=3)
QUICK = Sizes(file_mb=256, rows=200_000, reps=1)


# Inputs ------------------------------------------------------------------------------------------
def write_random_file(path: Path, mb: int) -> Path:
    rng = np.random.default_rng(SEED)
    with open(path, "wb", buffering=0) as fh:
        for _ in range(max(1, (mb << 20) // BLOCK)):
            fh.write(rng.bytes(BLOCK))
    return path


def write_frame(path: Path, rows: int) -> Path:
    """The DataFrame of figure 3, as Parquet: both sides read it into pandas from this file."""
    rng = np.random.default_rng(SEED)
    columns: dict[str, Any] = {f"x{i}": rng.standard_normal(rows) for i in range(10)}
    labels = np.array([f"category-{i:02d}" for i in range(CATEGORIES)])
    columns["category"] = labels[rng.integers(0, CATEGORIES, rows)]
    pq.write_table(pa.table(columns), path)
    return path


# Shipyard's side and the reference passes --------------------------------------------------------
def sha256_pass(path: Path) -> str:
    """One streaming sha256 pass: 8 MiB reads into one reused buffer."""
    buf = memoryview(bytearray(BLOCK))
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(buf[:n])
    return h.hexdigest()


def copy_pass(src: Path, dest: Path) -> None:
    """A plain copy through user space: 8 MiB reads into one reused buffer, each written out."""
    buf = memoryview(bytearray(BLOCK))
    with open(src, "rb", buffering=0) as a, open(dest, "wb", buffering=0) as b:
        while n := a.readinto(buf):
            view = buf[:n]
            while view:
                view = view[b.write(view) or 0 :]


def log_once(client: shipyard.Client, data: Any, name: str, tmp: Path, pad_mb: int) -> tuple[float, DatasetInput]:
    """``run.log_dataset(data)`` in a new run; only the call is timed."""
    with shipyard.start_run(experiment="bench-datasets", client=client, capture=False) as run:
        return timed(lambda: run.log_dataset(data, name=name), tmp, pad_mb)


def shipyard_rep(i: int, sizes: Sizes, tmp: Path, big: Path, df: pd.DataFrame) -> dict[str, Any]:
    """One repetition of every Shipyard step, each in fresh storage (a new local home, a new hub)."""
    pad = sizes.file_pad_mb
    out: dict[str, Any] = {}
    out["sha256"], digest = timed(lambda: sha256_pass(big), tmp, 0)  # reads only: nothing to recycle
    copy = tmp / "copy.bin"
    out["copy"], _ = timed(lambda: copy_pass(big, copy), tmp, pad)
    copy.unlink()
    home = tmp / f"local-home-{i}"
    with shipyard.Client(str(home)) as client:  # local mode: SQLite + folder under `home`, no server
        out["local"], file_local = log_once(client, big, "big-file", tmp, pad)
        out["frame_local"], frame_local = log_once(client, df, "frame", tmp, FRAME_PAD_MB)
    shutil.rmtree(home)
    with HubProcess(tmp / f"hub-home-{i}") as hub, shipyard.Client(hub.url) as client:
        out["remote"], file_remote = log_once(client, big, "big-file", tmp, pad)
        out["frame_remote"], frame_remote = log_once(client, df, "frame", tmp, FRAME_PAD_MB)
    shutil.rmtree(tmp / f"hub-home-{i}")
    out["file_digest_ok"] = file_local.digest == digest == file_remote.digest
    out["file_sha256"] = digest
    out["frame_digest_ok"] = frame_local.digest == frame_remote.digest and frame_remote.version.rows == len(df)
    version = frame_remote.version
    out["frame_version"] = {
        "digest": version.digest,
        "rows": version.rows,
        "stored_bytes": version.size,
        "format": version.format,
        "schema": list(version.schema),
        "profiled_columns": sorted(k for k in version.profile if not k.startswith("_")),
    }
    which = "warm-up (untimed)" if i == 0 else f"{i}/{sizes.reps}"
    steps = ", ".join(
        f"{k} {out[k]:.2f} s" for k in ("sha256", "copy", "local", "remote", "frame_local", "frame_remote")
    )
    console.print(f"  shipyard {which}: {steps}", highlight=False)
    return out


def first_touch(tmp: Path, big: Path) -> dict[str, float]:
    """The copy, (b) and (c) once more without recycling pages, each after the guest has had time
    to report its free memory to the host: what a step costs on this VM when it comes after idle."""
    out = {}
    copy = tmp / "copy.bin"
    time.sleep(SETTLE_SECONDS)
    out["copy"], _ = timed(lambda: copy_pass(big, copy), tmp, 0)
    copy.unlink()
    home = tmp / "local-home-first-touch"
    with shipyard.Client(str(home)) as client:
        time.sleep(SETTLE_SECONDS)
        out["local"], _ = log_once(client, big, "big-file", tmp, 0)
    shutil.rmtree(home)
    with HubProcess(tmp / "hub-home-first-touch") as hub, shipyard.Client(hub.url) as client:
        time.sleep(SETTLE_SECONDS)
        out["remote"], _ = log_once(client, big, "big-file", tmp, 0)
    shutil.rmtree(tmp / "hub-home-first-touch")
    console.print("  first-touch pages: " + ", ".join(f"{k} {v:.2f} s" for k, v in out.items()), highlight=False)
    return out


def run_shipyard(sizes: Sizes, tmp: Path, big: Path, df: pd.DataFrame) -> dict[str, Any]:
    reps = [shipyard_rep(i, sizes, tmp, big, df) for i in range(sizes.reps + 1)]
    steps = ("sha256", "copy", "local", "remote", "frame_local", "frame_remote")
    result: dict[str, Any] = {step: summary([rep[step] for rep in reps]) for step in steps}
    result["file_digest_ok"] = all(rep["file_digest_ok"] for rep in reps)
    result["frame_digest_ok"] = all(rep["frame_digest_ok"] for rep in reps)
    result["file_sha256"] = reps[0]["file_sha256"]
    result["frame_version"] = reps[-1]["frame_version"]
    result["ratio_b_over_a"] = result["local"]["seconds"] / result["sha256"]["seconds"]
    result["ratios_per_rep"] = [rep["local"] / rep["sha256"] for rep in reps[1:]]
    result["pass"] = result["ratio_b_over_a"] < THRESHOLD
    console.print(f"  first-touch pages: {SETTLE_SECONDS:g} s idle before each step, no recycling …")
    result["first_touch"] = first_touch(tmp, big)
    return result


# MLflow's side -----------------------------------------------------------------------------------
def run_driver(python: Path, figure: str, cfg: dict) -> dict:
    return tracking.run_driver(python, figure, cfg, driver=DRIVER, cwd=cfg["pad_dir"])


def run_mlflow(python: Path, sizes: Sizes, tmp: Path, big: Path, frame_file: Path) -> dict[str, Any]:
    work = tmp / "mlflow"
    work.mkdir()
    with tracking.mlflow_server(python, work) as url:
        cfg = {
            "tracking_uri": url,
            "file": str(big),
            "frame_file": str(frame_file),
            "reps": sizes.reps,
            "pad_dir": str(tmp),
            "file_pad_mb": sizes.file_pad_mb,
            "frame_pad_mb": FRAME_PAD_MB,
            "artifacts_root": str(work / "mlartifacts"),
        }
        return {"file": run_driver(python, "file", cfg), "frame": run_driver(python, "frame", cfg)}


# The table ---------------------------------------------------------------------------------------
def rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / (1 << 30):.2f} GiB/s"


def table_rows(r: dict, sizes: Sizes) -> list[Row]:
    sy, ml, nbytes, size = r["shipyard"], r["mlflow"], r["file_bytes"], sizes.file_label
    a, copy, b, c = (sy[k]["seconds"] for k in ("sha256", "copy", "local", "remote"))
    verdict = "PASS ✓" if sy["pass"] else "FAIL ✗"
    ft = sy["first_touch"]
    ml_file, ml_frame, ml_first = ml["file"]["seconds"], ml["frame"]["seconds"], ml["file"]["first_touch_seconds"]
    frame_sy, frame_local = sy["frame_remote"]["seconds"], sy["frame_local"]["seconds"]
    shape = f"{sizes.rows:,}{X}11"
    rows: list[Row] = [
        (f"1a. one sha256 pass over {size} (8 MiB reads)", f"{fmt_s(a)} ({rate(nbytes, a)})", "—", "—"),
        (f"1.  plain copy of {size} (baseline)", f"{fmt_s(copy)} ({rate(nbytes, copy)})", "—", "—"),
        (f"1b. log_dataset({size} file), local, new content", f"{fmt_s(b)} ({rate(nbytes, b)})", "—", "—"),
        (f"1.  acceptance: b / a < {THRESHOLD}", f"{b / a:.2f}{X}", "—", verdict),
        (f"1c. log_dataset({size} file), hub over HTTP", f"{fmt_s(c)} ({rate(nbytes, c)})", "—", "—"),
        (
            "1.  first-touch pages: copy | b (b / a)",
            f"{fmt_s(ft['copy'])} | {fmt_s(ft['local'])} ({ft['local'] / a:.1f}{X})",
            "—",
            "VM effect",
        ),
        (f"2.  {size} file: log_dataset vs log_artifact", fmt_s(c), fmt_s(ml_file), better(ml_file / c)),
        (
            "2.  the same, first-touch pages",
            fmt_s(ft["remote"]),
            fmt_s(ml_first),
            better(ml_first / ft["remote"]),
        ),
        (
            f"3.  DataFrame {shape}: log_dataset vs log_input",
            fmt_s(frame_sy),
            fmt_s(ml_frame),
            better(ml_frame / frame_sy),
        ),
        ("3.  DataFrame log_dataset, local (informative)", fmt_s(frame_local), "—", "—"),
    ]
    if not (sy["file_digest_ok"] and sy["frame_digest_ok"] and ml["file"]["size_ok"]):
        checks = f"file {sy['file_digest_ok']}, frame {sy['frame_digest_ok']}"
        rows.append(("    stored content checks", checks, str(ml["file"]["size_ok"]), "MISMATCH ✗"))
    return rows


def sample_lines(r: dict) -> list[str]:
    sy, ml = r["shipyard"], r["mlflow"]
    labels = [
        ("1a sha256 pass", sy["sha256"]),
        ("   plain copy", sy["copy"]),
        ("1b log_dataset, local", sy["local"]),
        ("1c log_dataset, hub", sy["remote"]),
        ("2  mlflow.log_artifact", ml["file"]),
        ("3  log_dataset(df), hub", sy["frame_remote"]),
        ("3  log_dataset(df), local", sy["frame_local"]),
        ("3  mlflow.log_input", ml["frame"]),
    ]
    lines = [
        f"  {label:<26} [{s['warmup_seconds']:.3f}] " + " ".join(f"{t:.3f}" for t in s["times"]) for label, s in labels
    ]
    lines.append(f"  {'1 b / a per repetition':<26} " + " ".join(f"{x:.2f}" for x in sy["ratios_per_rep"]))
    return lines


NOTES = """\
1. (a) hashlib.sha256 over the file, 8 MiB readinto one reused buffer; (b) run.log_dataset(path) in local mode
   into a new home: new content, so every byte is hashed while it is stored (one pass); (c) the same to a hub
   (`shipyard server`) with a new home, over HTTP on 127.0.0.1. The file is in the page cache: no step reads
   the disk, and os.sync() runs before each step. Plain copy: 8 MiB readinto/write into the same folder.
   Pages: this VM (Firecracker, virtio-balloon free page reporting) hands freed memory back to the host ~2 s
   after it is freed, and page-cache writes of 1 MiB and more into such memory run at ~0.36 GiB/s instead of
   ~5 GiB/s (small writes and anonymous memory are not slowed), however long the VM has been up: a warm-up
   alone does not help. So before every timed step of either side, {pad} MiB ({frame_pad} MiB for figure 3)
   are written to a scratch file and deleted, and the step reuses those pages, as on a machine without that
   effect. "First-touch pages": the step once more without that, after {settle:g} s idle (this VM as it is).
2. MLflow: mlflow.log_artifact(path) in a new run against `mlflow server` (proxied artifacts): it stores a
   copy under the run, with no digest and no de-duplication. Shipyard: (c). Each side's stored copy is
   deleted after each repetition (Shipyard: the hub home).
3. Both sides read the same seeded Parquet file into pandas ({rows:,} rows; 10 float64 + 1 string column).
   Shipyard: run.log_dataset(df) to the hub: digest of every row, schema, per-column profile, Parquet (zstd)
   written and uploaded. MLflow: mlflow.log_input(mlflow.data.from_pandas(df), context="training"), a new
   experiment and run each time: its digest hashes only the first 10,000 rows (plus the row count), its
   profile is the row and element counts, and it stores no content, only metadata; so MLflow's time is a
   lower bound of the work Shipyard does.
Each step ran once untimed (warm-up) before {reps} timed repetition(s); medians shown."""


def render(rows: list[Row], results: dict, meta: dict) -> None:
    table = Table(title="Shipyard vs MLflow: datasets (ratio > 1 means Shipyard is better)")
    table.add_column("figure")
    table.add_column("Shipyard", justify="right")
    table.add_column("MLflow", justify="right")
    table.add_column("ratio", justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    sizes = meta["sizes"]
    notes = NOTES.format(
        pad=sizes["file_pad_mb"],
        frame_pad=FRAME_PAD_MB,
        settle=SETTLE_SECONDS,
        rows=sizes["rows"],
        reps=sizes["reps"],
    )
    console.print(notes, markup=False, highlight=False)
    console.print("samples in seconds: [warm-up] then each timed repetition", markup=False, highlight=False)
    for line in sample_lines(results):
        console.print(line, markup=False, highlight=False)
    console.print(meta["machine"], markup=False)
    load = meta["load_average"]
    before, after = ("/".join(f"{x:.2f}" for x in load[k]) for k in ("before", "after"))
    wall = f"wall {meta['wall_seconds']:.0f} s"
    console.print(f"load average (1/5/15 min): before {before}, after {after}; {wall}", markup=False, highlight=False)
    console.print(f"command: {meta['command']}", markup=False)


# Main --------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--quick", action="store_true", help="256 MiB file, 200,000 rows, 1 repetition")
    parser.add_argument("--reps", type=int, help="timed repetitions (default 3; 1 with --quick)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    return parser.parse_args(argv)


def check_space(tmp: Path, sizes: Sizes) -> None:
    need = (3 * sizes.file_mb + 2048) << 20  # the file, a copy or a stored blob, the page pad, slack
    free = shutil.disk_usage(tmp).free
    if free < need:
        raise SystemExit(f"{tmp} has {free >> 20:,} MiB free; this run needs {need >> 20:,} MiB")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.reps is not None:
        sizes = replace(sizes, reps=max(1, args.reps))
    python = tracking.mlflow_python()
    tmp = Path(tempfile.mkdtemp(prefix="shipyard-bench-datasets-"))
    started, load_before = time.perf_counter(), os.getloadavg()
    try:
        check_space(tmp, sizes)
        console.print(f"writing a {sizes.file_label} random file and a {sizes.rows:,}-row Parquet file in {tmp} …")
        big = write_random_file(tmp / "big.bin", sizes.file_mb)
        frame_file = write_frame(tmp / "frame.parquet", sizes.rows)
        df = pd.read_parquet(frame_file)
        console.rule("shipyard")
        sy = run_shipyard(sizes, tmp, big, df)
        console.rule("mlflow")
        ml = run_mlflow(python, sizes, tmp, big, frame_file)
        results = {
            "file_bytes": big.stat().st_size,
            "frame": {
                "rows": len(df),
                "parquet_file_bytes": frame_file.stat().st_size,
                "dtypes": {k: str(v) for k, v in df.dtypes.items()},
            },
            "shipyard": sy,
            "mlflow": ml,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    meta = {
        "machine": (
            f"machine: {os.cpu_count()} CPUs, {platform.platform()}; "
            f"Python {platform.python_version()} (Shipyard {shipyard.__version__}, pandas {pd.__version__}, "
            f"pyarrow {pa.__version__}), Python {ml['file']['python']} (MLflow {ml['file']['mlflow_version']})"
        ),
        "servers": (
            "both on 127.0.0.1, SQLite + local folder: `mlflow server --workers 1` (artifacts proxied via "
            "mlflow-artifacts) and `shipyard server` (HubProcess); local mode: shipyard.Client(<new home>)"
        ),
        "warmup": "every step ran once untimed before the timed repetitions; its time is reported as warmup_seconds",
        "pages": (
            "virtio-balloon free page reporting hands freed guest memory back to the host ~2 s after it is freed, "
            "and page-cache writes of 1 MiB and more into it run at ~0.36 GiB/s instead of ~5 GiB/s. Before each "
            f"timed step of either side {sizes.file_pad_mb} MiB ({FRAME_PAD_MB} MiB for the DataFrame steps) are "
            "written to a scratch file and deleted, so the step reuses just-freed pages; first_touch = the copy, "
            f"(b), (c) and MLflow's log_artifact once more without that, each after {SETTLE_SECONDS:g} s idle"
        ),
        "acceptance": f"log_dataset(file, local, new content) / one sha256 pass < {THRESHOLD}",
        "command": shlex.join(sys.orig_argv),
        "sizes": {**asdict(sizes), "file_pad_mb": sizes.file_pad_mb, "frame_pad_mb": FRAME_PAD_MB},
        "wall_seconds": time.perf_counter() - started,
        "load_average": {"before": load_before, "after": os.getloadavg()},  # a shared machine shows here
        "versions": {"shipyard": shipyard.__version__, "mlflow": ml["file"]["mlflow_version"]},
    }
    rows = table_rows(results, sizes)
    render(rows, results, meta)
    if args.json:
        table = [dict(zip(("figure", "shipyard", "mlflow", "ratio"), row, strict=True)) for row in rows]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "results": results, "table": table}, indent=2))
        console.print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
