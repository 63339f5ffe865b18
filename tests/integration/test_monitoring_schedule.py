"""The hub's monitor schedule and alert cool-downs when several hubs share one database: a due
monitor runs once per period and a rule fires once per cool-down, whoever gets there first.
Runs on SQLite and PostgreSQL (the ``services`` fixture), with real threads racing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.config import Settings
from shipyard.domain.monitoring import AlertRule, Label, Monitor
from shipyard.domain.principals import Principal
from shipyard.errors import InvalidArgument, NotFound
from shipyard.services import Services, build_services

ME = Principal("alice")


def _model_with_training_data(services: Services, tmp_path: Path) -> None:
    """Register model 'm' from a run that logged its training data (through the SDK's local mode
    over the same stores)."""
    import shipyard

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=200), "z": rng.normal(size=200)})
    df["y"] = (df["x"] > 0).astype(int)
    client = shipyard.Client(settings=services.settings)
    run = client.create_run("m")
    client.log_dataset(run.id, df, name="train", role="train")
    client.log_model(run.id, LogisticRegression().fit(df[["x", "z"]], df["y"]), input_example=df[["x", "z"]].head())
    client.end_run(run.id)
    client.register_model(f"runs:/{run.id}/model", "m")
    client.close()


def test_a_due_monitor_runs_once_across_hubs(services: Services, tmp_path: Path) -> None:
    _model_with_training_data(services, tmp_path)
    m = services.monitoring.create(ME, Monitor(id="", name="every-minute", model="m", every_seconds=60))
    # a second "hub": its own services over the same database and folders
    other = build_services(services.settings.model_copy())
    try:
        results: list[int] = []
        start = threading.Barrier(4)

        def tick(svc: Services) -> None:
            start.wait()
            results.append(len(svc.monitoring.run_due(Principal("scheduler"), now=m.created_at + 1)))

        threads = [threading.Thread(target=tick, args=(s,)) for s in (services, other, services, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(results) == 1  # four ticks at once, one run
        assert len(services.monitoring.results(ME, "every-minute")) == 1
        # not due again until a minute later
        assert services.monitoring.run_due(ME, now=m.created_at + 30_000) == []
        assert len(other.monitoring.run_due(ME, now=m.created_at + 61_000)) == 1
    finally:
        other.close()


def _traffic(services: Services, rows: int, shift: float) -> None:
    """Write ``rows`` logged predictions of model 'm' the way the model server does."""
    from shipyard.inference.request_log import RequestLog
    from shipyard.stores.artifacts import open_artifact_store

    rng = np.random.default_rng(1)
    log = RequestLog(open_artifact_store(services.settings.resolved_inference_log_uri()))
    for i in range(rows // 10):
        inputs = {"x": rng.normal(shift, 1.0, 10), "z": rng.normal(0.0, 1.0, 10)}
        log.record("m", "1", f"req-{i}", 0.001, inputs, (inputs["x"] > 0).astype(np.int64), 10)
    log.close()


def test_alert_rules_fire_once_per_cool_down(services: Services, tmp_path: Path) -> None:
    _model_with_training_data(services, tmp_path)
    _traffic(services, 300, shift=3.0)
    services.monitoring.create(ME, Monitor(id="", name="on-demand", model="m", window="all"))
    rule = AlertRule("", "", "drift", command=("true",), cooldown_seconds=3600)
    services.monitoring.add_alert_rule(ME, "on-demand", rule)
    t0 = int(time.time() * 1000)
    first = services.monitoring.run(ME, "on-demand", now=t0)
    services.monitoring.run(ME, "on-demand", now=t0 + 60_000)  # inside the cool-down
    services.monitoring.run(ME, "on-demand", now=t0 + 3_601_000)  # after it
    alerts = services.monitoring.alerts(ME, "on-demand")
    assert [a.at for a in alerts] == [t0 + 3_601_000, t0]
    assert alerts[-1].result_id == first.id and alerts[-1].delivered
    assert "x" in first.drifted and "z" not in first.drifted and first.rows == 300
    assert "drift in" in alerts[-1].message


def test_bad_monitors_rules_and_labels_are_refused(services: Services, tmp_path: Path) -> None:
    _model_with_training_data(services, tmp_path)
    mon = services.monitoring
    with pytest.raises(InvalidArgument) as err:
        mon.create(ME, Monitor(id="", name="w", model="m", window="week"))
    assert err.value.field == "window"
    with pytest.raises(NotFound):
        mon.create(ME, Monitor(id="", name="x", model="no-such-model"))
    with pytest.raises(InvalidArgument) as err:
        mon.create(ME, Monitor(id="", name="t", model="m", tests={"x": ("t-test",)}))
    assert err.value.field == "tests.x"
    mon.create(ME, Monitor(id="", name="ok", model="m"))
    with pytest.raises(InvalidArgument) as err:
        mon.add_alert_rule(ME, "ok", AlertRule("", "", "metric_below", 0.8, webhook="http://127.0.0.1:1/x"))
    assert err.value.field == "metric"
    with pytest.raises(InvalidArgument) as err:
        mon.add_alert_rule(ME, "ok", AlertRule("", "", "drift", webhook="ftp://nope"))
    assert err.value.field == "webhook"
    with pytest.raises(InvalidArgument) as err:
        mon.log_labels(ME, "m", [Label("m", "", 0, 1.0)])
    assert err.value.field == "labels[0].request_id"
    assert mon.log_labels(ME, "m", [Label("m", "r1", 0, 1.0), Label("m", "r1", 0, 0.0)]) == 2  # last one wins
    assert Settings  # the fixture's settings are what a second hub would load
