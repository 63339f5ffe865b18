"""Evidently's side of ``benchmarks/drift.py``: run by the python of Evidently's own venv.

Usage: ``python _drift_evidently.py REFERENCE.parquet CURRENT.parquet``. Loads both files as pandas
DataFrames, runs ``Report([DataDriftPreset()])`` (Evidently 0.7's API), and prints one JSON line:
seconds (load + report + its result dict), peak RSS of this process, and the columns it flagged.
"""

from __future__ import annotations

import json
import resource
import sys
import time

t_start = time.perf_counter()
import pandas as pd  # noqa: E402
from evidently import Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

P_VALUE_WORDS = ("p_value", "test")


def drifted(result: dict) -> list[str]:
    """Columns whose ValueDrift crossed its threshold (distances: at or above; p-values: below)."""
    out = []
    for metric in result["metrics"]:
        config = metric.get("config", {})
        if not config.get("type", "").endswith(":ValueDrift"):
            continue
        method, value, threshold = str(config.get("method", "")).lower(), metric["value"], config["threshold"]
        is_p_value = any(word in method for word in P_VALUE_WORDS)
        if (value < threshold) if is_p_value else (value >= threshold):
            out.append(config["column"])
    return sorted(out)


def main() -> None:
    reference_path, current_path = sys.argv[1], sys.argv[2]
    imported = time.perf_counter()
    reference = pd.read_parquet(reference_path)
    current = pd.read_parquet(current_path)
    loaded = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    result = snapshot.dict()
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": done - imported,
                "load_seconds": loaded - imported,
                "import_seconds": imported - t_start,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "drifted": drifted(result),
            }
        )
    )


if __name__ == "__main__":
    main()
