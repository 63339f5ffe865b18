from __future__ import annotations

import math

from shipyard.domain.run_diff import Change, diff_runs
from shipyard.domain.tracking import Metric, Run, RunStatus


def _run(run_id: str, params: dict[str, str], metrics: dict[str, float]) -> Run:
    return Run(
        id=run_id,
        experiment_id="1",
        name=run_id,
        status=RunStatus.FINISHED,
        start_time=0,
        params=params,
        metrics={k: Metric(k, v, step=0, timestamp=0) for k, v in metrics.items()},
    )


def _manifest(commit: str, packages: list[str], seed: int, host: str) -> dict[str, object]:
    return {
        "reproducible": {
            "git": {"commit": commit, "dirty": False},
            "packages": {"distributions": packages, "lock_files": {}},
            "python": {"version": "3.11.7"},
            "env": {"variables": {"OMP_NUM_THREADS": "1"}},
            "command": {"entry_point": "train.py", "args": []},
            "seeds": {"seeds": {"python": seed}},
        },
        "host": {"platform": {"hostname": host, "cpu_count": 2}, "gpu": {"gpus": []}},
    }


def test_sections_list_exactly_what_differs() -> None:
    a = _run("a", {"lr": "0.1", "model": "rf"}, {"auc": 0.9, "nan": math.nan})
    b = _run("b", {"lr": "0.2", "model": "rf", "depth": "8"}, {"auc": 0.8, "nan": math.nan})
    diff = diff_runs(
        a,
        b,
        _manifest("c1", ["numpy==2.0", "pandas==2.2"], 7, "vm-1"),
        _manifest("c2", ["numpy==2.1", "scipy==1.14"], 7, "vm-2"),
    )
    s = diff.sections
    assert s["params"] == [Change("depth", None, "8"), Change("lr", "0.1", "0.2")]
    assert s["metrics"] == [Change("auc", 0.9, 0.8)]  # NaN equals NaN here
    assert s["code"] == [Change("commit", "c1", "c2")]
    assert s["dependencies"] == [
        Change("numpy", "2.0", "2.1"),
        Change("pandas", "2.2", None),
        Change("scipy", None, "1.14"),
    ]
    assert s["seeds"] == [] and s["python"] == [] and s["environment"] == []
    assert s["hardware"] == [Change("hostname", "vm-1", "vm-2")]
    assert not diff.same


def test_identical_runs_are_the_same_and_missing_manifests_are_not_comparable() -> None:
    a = _run("a", {"lr": "0.1"}, {"auc": 0.9})
    m = _manifest("c1", ["numpy==2.0"], 7, "vm")
    assert diff_runs(a, a, m, m).same
    partial = diff_runs(a, a, m, None)
    assert partial.sections["code"] is None and partial.sections["params"] == []
