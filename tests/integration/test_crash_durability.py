"""An acknowledged write survives ``kill -9`` of the hub."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import shipyard
from shipyard.domain.tracking import MetricBatch
from shipyard.errors import ShipyardError
from shipyard.testing import HubProcess


def test_kill_9_during_a_logging_loop_loses_no_acknowledged_point(tmp_path: Path) -> None:
    home = tmp_path / "hub"
    with HubProcess(home) as hub:  # stopped on every path; after kill9 stopping is a no-op
        _log_then_kill(hub)


def _log_then_kill(hub: HubProcess) -> None:
    home = hub.home
    client = shipyard.Client(hub.url)
    run_id = client.create_run("crash").id
    acked_single: list[int] = []
    acked_batches: list[int] = []
    stop = threading.Event()

    def single_writer() -> None:
        step = 0
        while not stop.is_set():
            try:
                client.log_metric(run_id, "single", float(step), step=step)
            except ShipyardError:
                return  # the hub is gone: this point was never acknowledged
            acked_single.append(step)
            step += 1

    def batch_writer() -> None:
        writer = shipyard.Client(hub.url)
        base = 0
        while not stop.is_set():
            steps = list(range(base, base + 500))
            batch = MetricBatch(["batch"] * 500, [float(s) for s in steps], steps, [1] * 500)
            try:
                writer.log_batch(run_id, batch)
            except ShipyardError:
                return
            acked_batches.append(base)
            base += 500

    threads = [threading.Thread(target=single_writer), threading.Thread(target=batch_writer)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 30
    while (len(acked_single) < 200 or len(acked_batches) < 20) and time.monotonic() < deadline:
        time.sleep(0.01)
    hub.kill9()  # mid-loop: both writers have requests in flight
    stop.set()
    for th in threads:
        th.join(timeout=30)
    assert len(acked_single) >= 200 and len(acked_batches) >= 20, hub.log()

    with HubProcess(home) as restarted:  # same SQLite file and artifact folder
        reader = shipyard.Client(restarted.url)
        single = reader.get_metric_history(run_id, "single")
        batch = reader.get_metric_history(run_id, "batch")
    stored_single = set(single.steps)
    assert set(acked_single) <= stored_single
    assert set(stored_single) <= set(range(len(acked_single) + 1))  # at most the one in flight
    stored_batch = set(batch.steps)
    for base in acked_batches:
        assert set(range(base, base + 500)) <= stored_batch
    assert len(batch.steps) % 500 == 0  # batches are atomic: never half a batch


def test_points_flushed_by_the_fluent_api_survive_kill_9(tmp_path: Path) -> None:
    home = tmp_path / "hub"
    with HubProcess(home) as hub:
        client = shipyard.Client(hub.url)
        run = shipyard.start_run("crash-fluent", client=client)
        for step in range(5_000):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.flush()  # returns once every point is acknowledged
        hub.kill9()
    with HubProcess(home) as restarted:
        hist = shipyard.Client(restarted.url).get_metric_history(run.id, "loss")
    assert hist.steps == list(range(5_000))
    assert hist.values[-1] == 1.0 / 5_000
