"""Shipyard's drift engine vs Evidently's data drift report, side by side, on this machine, in one run.

The data is generated here (seeded, nothing downloaded) and written as Parquet: a reference of
100,000 rows and a current window of 1,000,000 rows, with 20 numeric columns (normal, lognormal,
uniform, integer-valued, some with missing values) and 5 categorical ones (3 to 40 string
categories). Drift is injected into five columns: ``num_00`` (mean +0.5 std), ``num_01`` (std
x2), ``num_02`` (lognormal shape), ``cat_0`` (category mix) and ``cat_1`` (a new category takes 20%);
``num_03`` gets a negligible shift (+0.01 std) that neither side should flag. The current file is
written in row groups of 100,000 rows, as an inference log's many small files would be.

Each side runs in its own fresh subprocess, so peak memory (the child's ``ru_maxrss``) is
comparable, and times itself from loading the data to having the result (imports excluded; they
are shown apart):

* Shipyard: ``reference_sketches`` over the reference Parquet, then the current Parquet streamed in
  batches of 100,000 rows (``pyarrow.parquet.ParquetFile(..., pre_buffer=False).iter_batches``, one
  row group in memory at a time) through ``compare_tables`` (:mod:`shipyard.analysis.drift`).
* Evidently 0.7.23: both files loaded as pandas DataFrames, ``Report([DataDriftPreset()]).run(current,
  reference)`` and the snapshot's ``dict()`` (``_drift_evidently.py``), in Evidently's own virtual
  environment (created at ``.bench/evidently-venv`` on first use; override the location with
  ``SHIPYARD_BENCH_EVIDENTLY_VENV``).

Usage::

    .venv/bin/python benchmarks/drift.py                 # 100k reference x 1M current (~1-2 minutes)
    .venv/bin/python benchmarks/drift.py --quick         # 20k x 200k (~20 s)
    .venv/bin/python benchmarks/drift.py --json out.json

Ratios read "Shipyard vs Evidently": above 1 means Shipyard is better (faster / less memory). The
targets: at least 20x faster, at most half of Evidently's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DRIVER = HERE / "_drift_evidently.py"
EVIDENTLY_VERSION = "0.7.23"
VENV_ENV = "SHIPYARD_BENCH_EVIDENTLY_VENV"
X = "\N{MULTIPLICATION SIGN}"
NUMERIC, CATEGORICAL = 20, 5
INJECTED = ["cat_0", "cat_1", "num_00", "num_01", "num_02"]
console = Console()
if not console.is_terminal:
    console.width = 120


# Evidently: its own venv ------------------------------------------------------------------------------
def evidently_python() -> Path:
    """The python of Evidently's venv, created (or repaired) with evidently==EVIDENTLY_VERSION if needed."""
    venv = Path(os.environ.get(VENV_ENV) or ROOT / ".bench" / "evidently-venv")
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('evidently'))"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True).stdout.strip()
        if found == EVIDENTLY_VERSION:
            return python
    console.print(f"[bold]Setting up Evidently {EVIDENTLY_VERSION} in {venv}[/bold] (one time; takes a minute)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # Evidently 0.7 fails to import with pandas 3
    pins = [f"evidently=={EVIDENTLY_VERSION}", "pandas<3"]
    subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], check=True)
    return python


# The data -----------------------------------------------------------------------------------------------
def _numeric(rng, i: int, n: int, current: bool):  # type: ignore[no-untyped-def]
    import numpy as np

    family = i % 4
    if i == 0:
        return rng.normal(10 + (0.5 * 2 if current else 0), 2, n)
    if i == 1:
        return rng.normal(0, 2 if current else 1, n)
    if i == 2:
        return rng.lognormal(0, 1.6 if current else 1.0, n)
    if i == 3:
        return rng.normal(0.01 if current else 0, 1, n)
    if family == 0:
        values = rng.normal(i, 1 + i / 10, n)
    elif family == 1:
        values = rng.lognormal(0, 0.5, n) * i
    elif family == 2:
        values = rng.uniform(-i, i, n)
    else:
        values = rng.integers(0, 10 + i, n).astype(np.float64)
    if i % 5 == 0:
        values[rng.random(n) < 0.05] = np.nan
    return values


def _categorical(rng, i: int, n: int, current: bool):  # type: ignore[no-untyped-def]
    import numpy as np
    import pyarrow as pa

    k = [3, 5, 10, 20, 40][i]
    names = [f"c{i}_{j:02d}" for j in range(k)]
    weights = np.linspace(2.0, 1.0, k)
    if current and i == 0:
        weights = weights[::-1] ** 2  # a different mix
    weights /= weights.sum()
    codes = rng.choice(k, n, p=weights)
    if current and i == 1:
        names = [*names, "c1_new"]
        codes[rng.random(n) < 0.2] = k  # a category the reference never had
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(names)).cast(pa.string())


def write_data(folder: Path, n_reference: int, n_current: int, seed: int = 42) -> tuple[Path, Path]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = []
    for label, n, current in (("reference", n_reference, False), ("current", n_current, True)):
        rng = np.random.default_rng(seed + current)
        columns = {f"num_{i:02d}": pa.array(_numeric(rng, i, n, current)) for i in range(NUMERIC)}
        columns |= {f"cat_{i}": _categorical(rng, i, n, current) for i in range(CATEGORICAL)}
        path = folder / f"{label}.parquet"
        pq.write_table(pa.table(columns), path, row_group_size=100_000)
        paths.append(path)
    return paths[0], paths[1]


# Shipyard's side: this script run again with --child ---------------------------------------------------
def shipyard_child(reference_path: str, current_path: str) -> None:
    t_start = time.perf_counter()
    import pyarrow.parquet as pq

    from shipyard.analysis.drift import compare_tables, reference_sketches

    imported = time.perf_counter()
    sketches = reference_sketches(pq.read_table(reference_path))
    # pre_buffer=False: read one row group at a time instead of buffering the whole file first
    batches = pq.ParquetFile(current_path, pre_buffer=False).iter_batches(batch_size=100_000)
    results = compare_tables(sketches, batches)
    done = time.perf_counter()
    out = {
        "seconds": done - imported,
        "import_seconds": imported - t_start,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "drifted": sorted(r["name"] for r in results if r["drift"]),
    }
    print(json.dumps(out))


def run_side(cmd: list[str]) -> dict:
    started = time.perf_counter()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, cwd=ROOT).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


# The table ----------------------------------------------------------------------------------------------
def render(ship: dict, evid: dict, sizes: tuple[int, int]) -> tuple[list[list[str]], bool]:
    speed = evid["seconds"] / ship["seconds"]
    memory = evid["peak_rss_mb"] / ship["peak_rss_mb"]
    rows = [
        ["wall time (load + compare)", f"{ship['seconds']:.2f} s", f"{evid['seconds']:.2f} s", f"{speed:.1f}{X}"],
        [
            "peak memory (child ru_maxrss)",
            f"{ship['peak_rss_mb']:.0f} MB",
            f"{evid['peak_rss_mb']:.0f} MB",
            f"{memory:.1f}{X}",
        ],
        [
            "imports (not timed above)",
            f"{ship['import_seconds']:.2f} s",
            f"{evid['import_seconds']:.2f} s",
            f"{evid['import_seconds'] / ship['import_seconds']:.1f}{X}",
        ],
        [
            "whole process",
            f"{ship['process_seconds']:.2f} s",
            f"{evid['process_seconds']:.2f} s",
            f"{evid['process_seconds'] / ship['process_seconds']:.1f}{X}",
        ],
    ]
    table = Table(
        title=f"Shipyard vs Evidently {EVIDENTLY_VERSION}: data drift, {sizes[0]:,} reference x {sizes[1]:,} "
        f"current rows, {NUMERIC} numeric + {CATEGORICAL} categorical columns (ratio > 1 = Shipyard better)"
    )
    for header in ("figure", "Shipyard", "Evidently", "Shipyard vs Evidently"):
        table.add_column(header, justify="left" if header == "figure" else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    fast, lean = speed >= 20, memory >= 2
    console.print(
        f"Targets: >= 20{X} faster: {'MET' if fast else 'NOT MET'} ({speed:.1f}{X}); "
        f"<= 0.5{X} Evidently's peak memory: {'MET' if lean else 'NOT MET'} ({1 / memory:.2f}{X})"
    )
    console.print(f"Drift injected into: {', '.join(INJECTED)}")
    console.print(f"Shipyard flagged:    {', '.join(ship['drifted']) or '-'}")
    console.print(f"Evidently flagged:   {', '.join(evid['drifted']) or '-'}")
    agree = set(ship["drifted"]) == set(evid["drifted"])
    console.print(f"The two sides {'agree' if agree else 'DISAGREE'} on the flagged columns.")
    return rows, fast and lean


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20k x 200k rows instead of 100k x 1M")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--child", nargs=2, metavar=("REFERENCE", "CURRENT"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        shipyard_child(*args.child)
        return
    sizes = (20_000, 200_000) if args.quick else (100_000, 1_000_000)
    python = evidently_python()
    with tempfile.TemporaryDirectory(prefix="shipyard-drift-bench-") as tmp:
        console.print(f"Writing {sizes[0]:,} + {sizes[1]:,} rows of Parquet ...")
        reference, current = write_data(Path(tmp), *sizes)
        console.print("Shipyard ...")
        ship = run_side([sys.executable, str(Path(__file__).resolve()), "--child", str(reference), str(current)])
        console.print("Evidently ...")
        evid = run_side([str(python), str(DRIVER), str(reference), str(current)])
    rows, met = render(ship, evid, sizes)
    if args.json:
        meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
        figures = {"sizes": sizes, "shipyard": ship, "evidently": evid, "targets_met": met, "table": rows}
        args.json.write_text(json.dumps({"meta": meta, **figures}, indent=2))


if __name__ == "__main__":
    main()
