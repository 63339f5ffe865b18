"""The team setup: a hub over PostgreSQL and S3 (moto's server), with the same client code."""

from __future__ import annotations

import os
from pathlib import Path

from sklearn.datasets import load_iris

import shipyard
from shipyard.testing import HubProcess, moto_s3, postgres_database


def test_hub_over_postgresql_and_s3(tmp_path: Path) -> None:
    payload = os.urandom(5 * 1024 * 1024)
    (tmp_path / "weights.bin").write_bytes(payload)
    with postgres_database() as db_url, moto_s3("team-bucket") as endpoint:
        env = {
            "SHIPYARD_METADATA_URI": db_url,
            "SHIPYARD_ARTIFACT_URI": "s3://team-bucket/shipyard",
            "SHIPYARD_S3_ENDPOINT_URL": endpoint,
        }
        hubs = [HubProcess(tmp_path / "hub-a", env).start(), HubProcess(tmp_path / "hub-b", env).start()]
        try:
            a, b = (shipyard.Client(h.url) for h in hubs)
            with shipyard.start_run("team", client=a) as run:
                run.log_params({"model": "gbm"})
                for step in range(1000):
                    run.log_metric("loss", 1 / (step + 1), step=step)
                run.log_artifact(tmp_path / "weights.bin", "model/weights.bin")
                data = run.log_dataset(load_iris(as_frame=True).frame, name="iris")
            # a second, stateless hub over the same database and bucket sees everything
            seen = b.get_run(run.id)
            assert seen.params == {"model": "gbm"}
            assert seen.metrics["loss"].step == 999
            assert len(b.get_metric_history(run.id, "loss")) == 1000
            out = b.download_artifact(run.id, "model/weights.bin", tmp_path / "back.bin")
            assert out.read_bytes() == payload
            assert [i.digest for i in b.get_run_datasets(run.id)] == [data.digest]
            assert b.load_dataset(data.digest).num_rows == 150  # its Parquet blob lives in the bucket
            assert not list((tmp_path / "hub-a").rglob("blobs"))  # no blob landed on local disk
        finally:
            for h in hubs:
                h.stop()
