"""Use cases, one module per capability; :func:`build_services` wires them from Settings."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from shipyard.analysis.notify import Notifier
from shipyard.config import Settings
from shipyard.services.artifacts import ArtifactService
from shipyard.services.datasets import DatasetService
from shipyard.services.logged_models import LoggedModelService
from shipyard.services.monitoring import MonitorEngine, MonitoringService
from shipyard.services.registry import RegistryService
from shipyard.services.tracking import TrackingService
from shipyard.stores.artifacts import BlobStore, open_artifact_store
from shipyard.stores.metadata import MetadataStore, open_metadata_store

__all__ = [
    "ArtifactService",
    "DatasetService",
    "LoggedModelService",
    "RegistryService",
    "Services",
    "TrackingService",
    "build_services",
]


@dataclass(frozen=True)
class Services:
    """Every service of one Shipyard instance, sharing one metadata store and one blob store."""

    settings: Settings
    store: MetadataStore
    tracking: TrackingService
    artifacts: ArtifactService
    datasets: DatasetService
    registry: RegistryService
    logged_models: LoggedModelService
    monitoring: MonitoringService

    def close(self) -> None:
        self.store.close()


def _monitor_engine() -> MonitorEngine:
    """The engine adapter, imported by name on first use (as stores are, through uri.py): it
    brings NumPy and pyarrow, which services themselves never import."""
    engine: MonitorEngine = importlib.import_module("shipyard.analysis.monitor_engine").MonitorEngine()
    return engine


def build_services(settings: Settings) -> Services:
    """Open the stores named by ``settings`` and build the services over them."""
    store = open_metadata_store(settings.resolved_metadata_uri(), sqlite_synchronous=settings.sqlite_synchronous)
    artifacts = open_artifact_store(
        settings.resolved_artifact_uri(),
        s3_endpoint_url=settings.s3_endpoint_url,
        fsync=settings.sqlite_synchronous == "FULL",  # one durability policy for metadata and artifacts
    )
    blobs = BlobStore(artifacts)
    return Services(
        settings=settings,
        store=store,
        tracking=TrackingService(store, max_batch_points=settings.max_batch_points),
        artifacts=ArtifactService(store, blobs),
        datasets=DatasetService(store, blobs),
        registry=RegistryService(store, blobs),
        logged_models=LoggedModelService(store),
        monitoring=MonitoringService(
            store,
            blobs,
            open_artifact_store(settings.resolved_inference_log_uri(), s3_endpoint_url=settings.s3_endpoint_url),
            engine=_monitor_engine,
            notifier=Notifier(),
        ),
    )
