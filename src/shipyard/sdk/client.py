"""The Client: every read and write of Shipyard, local or remote, chosen by the tracking URI."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.config import Settings
from shipyard.domain.artifacts import ArtifactEntry, check_artifact_path
from shipyard.domain.datasets import DatasetInput, DatasetSummary, DatasetVersion
from shipyard.domain.pagination import Page
from shipyard.domain.registry import ModelVersion, RegisteredModel
from shipyard.domain.tracking import (
    Experiment,
    Metric,
    MetricBatch,
    MetricHistory,
    Run,
    RunStatus,
    check_metric,
    now_ms,
)
from shipyard.errors import InvalidArgument
from shipyard.sdk.backend import Backend
from shipyard.sdk.monitoring import Monitors

if TYPE_CHECKING:
    from shipyard.domain.model_card import ModelCard
    from shipyard.sdk.models import Export, LoggedModel

__all__ = ["Client"]


def _open_backend(settings: Settings) -> Backend:
    if settings.is_remote():
        from shipyard.sdk.remote import RemoteBackend

        return RemoteBackend(settings)
    from shipyard.sdk.local import LocalBackend

    return LocalBackend(settings)


class Client:
    """Reads and writes experiments, runs, metrics and artifacts.

    Args:
        tracking_uri: ``http(s)://host:port`` for a hub; a folder for local mode over that home;
            ``None`` for ``SHIPYARD_TRACKING_URI`` (or local mode over ``SHIPYARD_HOME``).
        settings: full settings instead (``tracking_uri`` then overrides theirs).

    Example:
        >>> client = Client("http://127.0.0.1:8420")              # doctest: +SKIP
        >>> page = client.search_runs(["churn"], filter="metrics.auc > 0.9",
        ...                           order_by=["metrics.auc DESC"])  # doctest: +SKIP
    """

    def __init__(self, tracking_uri: str | None = None, *, settings: Settings | None = None) -> None:
        settings = settings or Settings.load()
        if tracking_uri is not None:
            if tracking_uri.startswith(("http://", "https://")):
                settings = settings.model_copy(update={"tracking_uri": tracking_uri})
            else:
                settings = settings.model_copy(update={"tracking_uri": None, "home": Path(tracking_uri)})
        elif settings.tracking_uri and not settings.is_remote():
            settings = settings.model_copy(update={"tracking_uri": None, "home": Path(settings.tracking_uri)})
        self.settings = settings
        self.backend = _open_backend(settings)
        self._experiment_ids: dict[str, str] = {}  # name -> id; experiments are never renamed

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_remote(self) -> bool:
        return self.backend.is_remote

    @property
    def monitors(self) -> Monitors:
        """Monitoring: create and run monitors, read results and reports, post labels
        (see :mod:`shipyard.sdk.monitoring`)."""
        return Monitors(self.backend)

    def close(self) -> None:
        self.backend.close()

    # experiments -------------------------------------------------------------------------------
    def create_experiment(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> Experiment:
        return self.backend.create_experiment(name, description, tags or {})

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.backend.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment:
        return self.backend.get_experiment_by_name(name)

    def list_experiments(self) -> list[Experiment]:
        return self.backend.list_experiments()

    def experiment_id(self, name: str, *, create: bool = False) -> str:
        """The id of the experiment called ``name`` (created when ``create``); cached per client."""
        found = self._experiment_ids.get(name)
        if found is None:
            exp = self.backend.get_or_create_experiment(name) if create else self.backend.get_experiment_by_name(name)
            found = self._experiment_ids[name] = exp.id
        return found

    def _ids(self, names: Sequence[str] | None, ids: Sequence[str] | None) -> list[str]:
        if isinstance(names, str) or isinstance(ids, str):
            raise InvalidArgument("pass a list of experiments, not one string", field="experiments")
        return [*(self.experiment_id(n) for n in names or ()), *(ids or ())]

    # runs --------------------------------------------------------------------------------------
    def create_run(
        self,
        experiment: str | None = None,
        *,
        experiment_id: str | None = None,
        name: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        description: str = "",
    ) -> Run:
        """A new RUNNING run in the experiment named ``experiment`` (created if missing), or in the
        one with id ``experiment_id``."""
        if (experiment is None) == (experiment_id is None):
            raise InvalidArgument("give exactly one of experiment (a name) or experiment_id", field="experiment")
        exp_id = experiment_id if experiment_id is not None else self.experiment_id(str(experiment), create=True)
        return self.backend.create_run(
            exp_id, name=name, parent_run_id=parent_run_id, tags=tags or {}, description=description
        )

    def get_run(self, run_id: str) -> Run:
        return self.backend.get_run(run_id)

    def end_run(self, run_id: str, status: RunStatus | str = RunStatus.FINISHED) -> Run:
        st = status if isinstance(status, RunStatus) else RunStatus.parse(status)
        return self.backend.update_run(run_id, status=st)

    def update_run(self, run_id: str, *, name: str | None = None, description: str | None = None) -> Run:
        return self.backend.update_run(run_id, name=name, description=description)

    def log_metric(self, run_id: str, key: str, value: float, step: int = 0, timestamp: int | None = None) -> None:
        """Log one point and wait for the acknowledgement (unbuffered)."""
        point = check_metric(key, value, step, now_ms() if timestamp is None else timestamp, "metric")
        self.backend.log_batch(run_id, [point])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] | MetricBatch = (),
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Log metrics, params and tags in one acknowledged, all-or-nothing call."""
        self.backend.log_batch(run_id, metrics, params, tags)

    def log_param(self, run_id: str, key: str, value: object) -> None:
        self.backend.log_batch(run_id, params={key: value})

    def log_params(self, run_id: str, params: Mapping[str, object]) -> None:
        self.backend.log_batch(run_id, params=params)

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.backend.log_batch(run_id, tags={key: value})

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        self.backend.log_batch(run_id, tags=tags)

    def search_runs(
        self,
        experiments: Sequence[str] | None = None,
        *,
        experiment_ids: Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[Run]:
        """One page of runs in the experiments named ``experiments`` and/or with ``experiment_ids``
        (neither: all); see the filter grammar in :mod:`shipyard.domain.filters`, e.g.
        ``metrics.auc > 0.9 and params.model = "rf"``."""
        return self.backend.search_runs(
            self._ids(experiments, experiment_ids), filter, list(order_by or ()), max_results, page_token
        )

    def iter_runs(
        self,
        experiments: Sequence[str] | None = None,
        *,
        experiment_ids: Sequence[str] | None = None,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        page_size: int = 1000,
    ) -> Iterator[Run]:
        """Every matching run, following page tokens."""
        ids = self._ids(experiments, experiment_ids)
        token: str | None = None
        while True:
            page = self.backend.search_runs(ids, filter, list(order_by or ()), page_size, token)
            yield from page.items
            if page.next_page_token is None:
                return
            token = page.next_page_token

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        return self.backend.metric_history(run_id, key)

    # artifacts ---------------------------------------------------------------------------------
    def log_artifact(self, run_id: str, local_path: str | Path, artifact_path: str | None = None) -> ArtifactEntry:
        """Upload one file; ``artifact_path`` is its path in the run's tree (default: its name)."""
        src = _regular_file(Path(local_path))
        dest = artifact_path or src.name
        check_artifact_path(dest, "artifact_path")
        return self.backend.upload_artifact(run_id, dest, src)

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactEntry]:
        """Upload a folder recursively. Symlinks are refused before anything is uploaded."""
        root = Path(local_dir)
        if not root.is_dir() or root.is_symlink():
            raise InvalidArgument(f"{root} is not a folder", field="local_dir")
        files: list[tuple[Path, str]] = []
        for path in sorted(root.rglob("*")):
            if path.is_symlink():
                raise InvalidArgument(f"{path} is a symlink; artifacts must be regular files", field="local_dir")
            if path.is_file():
                rel = path.relative_to(root).as_posix()
                dest = f"{artifact_path.rstrip('/')}/{rel}" if artifact_path else rel
                files.append((path, check_artifact_path(dest, "artifact_path")))
        return [self.backend.upload_artifact(run_id, dest, src) for src, dest in files]

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactEntry]:
        return self.backend.list_artifacts(run_id, prefix)

    def download_artifact(self, run_id: str, path: str, dest: str | Path) -> Path:
        """Download one artifact to ``dest`` (a file path, or an existing folder); verified by digest."""
        check_artifact_path(path)
        target = Path(dest)
        if target.is_dir():
            target = target / path.rsplit("/", 1)[-1]
        self.backend.download_artifact(run_id, path, target)
        return target

    # datasets ----------------------------------------------------------------------------------
    def log_dataset(
        self,
        run_id: str,
        data: Any,
        *,
        name: str,
        role: str = "train",
        profile: bool | None = None,
        source: str | None = None,
    ) -> DatasetInput:
        """Log ``data`` as dataset ``name`` used by run ``run_id`` in ``role``.

        ``data`` is a pandas or polars DataFrame, an Arrow table, a NumPy array, or the path of a
        file or folder. Its version is its content digest: the same content logged again (under
        any name, by any run) is stored once. Tables get a schema, a row count and a per-column
        profile; ``profile=False`` skips the profile, ``profile=True`` also parses large CSV files
        and reads whole Parquet files (by default only their footer statistics are read).

        Example:
            >>> from sklearn.datasets import load_iris            # doctest: +SKIP
            >>> client.log_dataset(run.id, load_iris(as_frame=True).frame, name="iris")  # doctest: +SKIP
        """
        from shipyard.sdk.datasets import log_dataset

        return log_dataset(self.backend, run_id, data, name=name, role=role, profile=profile, source=source)

    def get_run_datasets(self, run_id: str) -> list[DatasetInput]:
        """The datasets run ``run_id`` used, each with its version's facts."""
        return self.backend.run_inputs(run_id)

    def list_datasets(self) -> list[DatasetSummary]:
        """Every dataset name with its number of versions and runs."""
        return self.backend.list_datasets()

    def get_dataset_history(self, name: str) -> list[DatasetInput]:
        """Each time dataset ``name`` was logged, oldest first, with its version."""
        return self.backend.dataset_history(name)

    def get_dataset_version(self, ref: str) -> DatasetVersion:
        """A version by its digest or a unique prefix (at least six characters)."""
        return self.backend.get_dataset_version(ref)

    def get_dataset_runs(self, ref: str) -> tuple[DatasetVersion, list[DatasetInput]]:
        """A version and every run that used it: lineage read from the data's side."""
        return self.backend.dataset_consumers(ref)

    def download_dataset(self, ref: str, dest: str | Path) -> Path:
        """The version's stored bytes written to ``dest`` (verified by digest): a Parquet file for
        in-memory tables, the file itself for files, the listing JSON for folders."""
        version = self.get_dataset_version(ref)
        target = Path(dest)
        if target.is_dir():
            target = target / f"{version.digest[:12]}.{version.format}"
        self.backend.download_blob(version.blob, target)
        return target

    def load_dataset(self, ref: str) -> Any:
        """A table version as a ``pyarrow.Table`` (Parquet, Arrow, CSV content)."""
        import tempfile

        import pyarrow.csv as pacsv
        import pyarrow.feather as feather
        import pyarrow.parquet as pq

        version = self.get_dataset_version(ref)
        readers: dict[str, Any] = {
            "parquet": pq.read_table,
            "csv": pacsv.read_csv,
            "csv.gz": pacsv.read_csv,
            "arrow": feather.read_table,
            "feather": feather.read_table,
        }
        if version.format not in readers:
            raise InvalidArgument(
                f"dataset version {version.digest[:12]} is {version.format}; use download_dataset for it",
                field="ref",
            )
        with tempfile.TemporaryDirectory(prefix="shipyard-load-") as tmp:
            path = self.download_dataset(version.digest, Path(tmp) / "data")
            return readers[version.format](path)

    # models ------------------------------------------------------------------------------------
    def log_model(
        self,
        run_id: str,
        model: Any,
        *,
        artifact_path: str = "model",
        input_example: Any = None,
        signature: Any = None,
        flavor: str | None = None,
        registered_model_name: str | None = None,
        card: str | None = None,
    ) -> LoggedModel:
        """Store ``model`` as a bundle under ``artifact_path`` of run ``run_id`` (flavor chosen from
        its type unless given; signature inferred from ``input_example``); with
        ``registered_model_name``, register it as that model's next version."""
        from shipyard.sdk.models import log_model

        return log_model(
            self,
            run_id,
            model,
            artifact_path=artifact_path,
            input_example=input_example,
            signature=signature,
            flavor=flavor,
            registered_model_name=registered_model_name,
            card=card,
        )

    def register_model(
        self, source: str, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> ModelVersion:
        """Register the bundle at ``source`` (``runs:/RUN_ID/PATH``) as the next version of ``name``."""
        from shipyard.sdk.models import register_model

        return register_model(self, source, name, description=description, tags=dict(tags or {}))

    def load_model(self, ref: str, *, trust: bool = False, variant: str | None = None) -> Any:
        """The model ``ref`` names (``models:/churn@production``, ``models:/churn/3``), verified and
        ready to call; see :func:`shipyard.load_model`."""
        from shipyard.sdk.models import load_model

        return load_model(self, ref, trust=trust, variant=variant)

    def export_onnx(
        self, ref: str, *, rtol: float = 1e-5, atol: float = 1e-6, allow_mismatch: bool = False, trust: bool = False
    ) -> Export:
        """Convert ``ref`` to ONNX, check its parity with the original on the input example and
        generated rows, and record it as the version's ``onnx`` variant (only if within
        ``rtol``/``atol``, unless ``allow_mismatch``)."""
        from shipyard.sdk.models import export_onnx

        return export_onnx(self, ref, rtol=rtol, atol=atol, allow_mismatch=allow_mismatch, trust=trust)

    def download_bundle(self, ref: str, dest: str | Path, *, variant: str | None = None) -> Path:
        """Copy the verified bundle of ``ref`` into the new folder ``dest``."""
        from shipyard.sdk.models import download_bundle

        return download_bundle(self, ref, Path(dest), variant=variant)

    def create_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        return self.backend.create_model(name, description, dict(tags or {}))

    def get_model(self, name: str) -> RegisteredModel:
        return self.backend.get_model(name)

    def list_models(self) -> list[RegisteredModel]:
        return self.backend.list_models()

    def update_model(
        self, name: str, *, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        return self.backend.update_model(name, description, dict(tags or {}))

    def get_model_version(self, ref: str) -> ModelVersion:
        """The version ``ref`` names: ``models:/NAME/3``, ``models:/NAME@ALIAS``, ``models:/NAME/latest``."""
        from shipyard.domain.registry import parse_model_ref

        return self.backend.resolve_model(str(parse_model_ref(ref)))

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        return self.backend.list_model_versions(name)

    def update_model_version(
        self, name: str, version: int, *, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> ModelVersion:
        return self.backend.update_model_version(name, version, description, dict(tags or {}))

    def set_model_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        """Point ``alias`` at ``version`` atomically (readers see the old or the new version)."""
        return self.backend.set_model_alias(name, alias, version)

    def delete_model_alias(self, name: str, alias: str) -> None:
        self.backend.delete_model_alias(name, alias)

    def model_card(self, ref: str) -> ModelCard:
        """The card of the version ``ref`` names (``.to_markdown()``, ``.to_html()``): everything
        the registry and the version's run know, plus the intended use and limitations people
        wrote (version tags ``card.intended_use`` and ``card.limitations``)."""
        from shipyard.domain.model_card import build_card

        version = self.get_model_version(ref)
        return build_card(
            self.get_model(version.name),
            version,
            self.get_run(version.run_id),
            self.get_run_datasets(version.run_id),
        )

    def get_run_model_versions(self, run_id: str) -> list[ModelVersion]:
        """Model versions registered from this run's bundles."""
        return self.backend.run_model_versions(run_id)


def _regular_file(path: Path) -> Path:
    if path.is_symlink():
        raise InvalidArgument(f"{path} is a symlink; artifacts must be regular files", field="local_path")
    if not path.is_file():
        raise InvalidArgument(f"{path} is not a file", field="local_path")
    return path


_DEFAULT_LOCK = threading.Lock()
_DEFAULT_CLIENTS: dict[tuple[str | None, str], Client] = {}


def default_client() -> Client:
    """The process's client for the current settings (one per tracking URI and home, reused: a
    client holds a connection pool). This cache is the SDK's only module-level state."""
    settings = Settings.load()
    key = (settings.tracking_uri, str(settings.home))
    with _DEFAULT_LOCK:
        client = _DEFAULT_CLIENTS.get(key)
        if client is None:
            client = _DEFAULT_CLIENTS[key] = Client(settings=settings)
        return client
