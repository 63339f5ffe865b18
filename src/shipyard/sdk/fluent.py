"""The fluent API: ``with shipyard.start_run(...) as run:``.

The active run lives in a :class:`contextvars.ContextVar`, so threads and asyncio tasks each see
their own (a run started in one thread is not silently shared by another).
"""

from __future__ import annotations

import atexit
import contextvars
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from shipyard.domain.artifacts import ArtifactEntry
from shipyard.domain.datasets import DatasetInput
from shipyard.domain.registry import ModelVersion
from shipyard.domain.tracking import Metric, Run, RunStatus, check_metric, now_ms
from shipyard.errors import InvalidArgument
from shipyard.sdk.buffer import MetricBuffer, flush_all_at_exit
from shipyard.sdk.client import Client, default_client
from shipyard.sdk.manifests import record_manifest
from shipyard.sdk.models import LoggedModel
from shipyard.sdk.reproduce import reproduction_tags

__all__ = [
    "ActiveRun",
    "active_run",
    "end_run",
    "load_model",
    "log_dataset",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "register_model",
    "set_tag",
    "start_run",
]

_ACTIVE: contextvars.ContextVar[tuple[ActiveRun, ...]] = contextvars.ContextVar("shipyard_active_runs", default=())
atexit.register(flush_all_at_exit)


class ActiveRun:
    """A run being logged to. In remote mode metric points are batched in the background; params,
    tags and artifacts are sent at once (so a conflict is raised where it happens)."""

    def __init__(self, client: Client, run: Run) -> None:
        self.client = client
        self.info = run
        self.id = run.id
        self.experiment_id = run.experiment_id
        self._buffer: MetricBuffer | None = None
        if client.is_remote:
            s = client.settings
            self._buffer = MetricBuffer(
                lambda pts: client.log_batch(run.id, pts),
                interval=s.flush_interval,
                max_points=s.flush_max_points,
            )
        self._ended = False

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id} experiment={self.experiment_id}>"

    # logging -----------------------------------------------------------------------------------
    def log_metric(self, key: str, value: float, step: int = 0, timestamp: int | None = None) -> None:
        """Log one point (validated now; sent in the background in remote mode)."""
        self._emit([check_metric(key, value, step, now_ms() if timestamp is None else timestamp, "metric")])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, timestamp: int | None = None) -> None:
        ts = now_ms() if timestamp is None else timestamp
        self._emit([check_metric(k, v, step, ts, f"metrics.{k}") for k, v in metrics.items()])

    def _emit(self, points: Sequence[Metric]) -> None:
        if self._ended:
            raise InvalidArgument(f"run {self.id} has ended; start a new run to log more", field="run_id")
        if self._buffer is not None:
            self._buffer.add(points)
        else:
            self.client.log_batch(self.id, points)

    def log_param(self, key: str, value: object) -> None:
        self.client.log_param(self.id, key, value)

    def log_params(self, params: Mapping[str, object]) -> None:
        self.client.log_params(self.id, params)

    def set_tag(self, key: str, value: str) -> None:
        self.client.set_tag(self.id, key, value)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.client.set_tags(self.id, tags)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> ArtifactEntry:
        return self.client.log_artifact(self.id, local_path, artifact_path)

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None) -> list[ArtifactEntry]:
        return self.client.log_artifacts(self.id, local_dir, artifact_path)

    def log_dataset(
        self, data: Any, *, name: str, role: str = "train", profile: bool | None = None, source: str | None = None
    ) -> DatasetInput:
        """Log the dataset this run uses (see :meth:`Client.log_dataset`)."""
        return self.client.log_dataset(self.id, data, name=name, role=role, profile=profile, source=source)

    def log_model(self, model: Any, *, artifact_path: str = "model", **options: Any) -> LoggedModel:
        """Store ``model`` as a bundle in this run (see :meth:`Client.log_model`)."""
        return self.client.log_model(self.id, model, artifact_path=artifact_path, **options)

    def flush(self) -> None:
        """Wait until every metric point logged so far is stored (raises if it cannot be)."""
        if self._buffer is not None:
            self._buffer.flush()

    # lifecycle ---------------------------------------------------------------------------------
    def end(self, status: RunStatus | str = RunStatus.FINISHED) -> Run:
        """Flush, then mark the run ended. Raises if points could not be delivered (the run then
        stays RUNNING, so nothing claims to be complete that is not)."""
        if self._ended:
            return self.client.get_run(self.id)
        if self._buffer is not None:
            self._buffer.close()
        self._ended = True
        _ACTIVE.set(tuple(r for r in _ACTIVE.get() if r is not self))
        self.info = self.client.end_run(self.id, status)
        return self.info

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        self.end(status)


def start_run(
    experiment: str | None = None,
    *,
    experiment_id: str | None = None,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
    description: str = "",
    parent: str | ActiveRun | None = None,
    client: Client | None = None,
    capture: bool | None = None,
) -> ActiveRun:
    """Start a run and make it the active one in this context; use it as a context manager so it
    ends FINISHED, or FAILED if the block raises (KILLED on Ctrl-C).

    Args:
        experiment: experiment name (created if missing); default ``"Default"`` (id 0, shared with MLflow clients).
        experiment_id: or the id of an existing experiment.
        name: run name (default: generated).
        tags: initial tags.
        parent: parent run (id or ActiveRun); default: the run active in this context, if any
            and if it is tracked by the same backend as ``client``.
        client: the client to log through (default: from ``SHIPYARD_TRACKING_URI``).
        capture: record the run manifest (default: the ``capture_provenance`` setting); see
            :mod:`shipyard.sdk.provenance`.

    Example:
        >>> with start_run(experiment="churn") as run:       # doctest: +SKIP
        ...     run.log_params({"model": "rf", "depth": 8})
        ...     for epoch in range(10):
        ...         run.log_metric("loss", 1 / (epoch + 1), step=epoch)
    """
    current = _ACTIVE.get()
    if parent is None and current and (client is None or current[-1].client.backend.uri == client.backend.uri):
        parent = current[-1]  # nest under the active run, if it lives where this run will
    parent_id = parent.id if isinstance(parent, ActiveRun) else parent
    cl = client or (parent.client if isinstance(parent, ActiveRun) else default_client())
    if experiment is None and experiment_id is None:
        experiment = "Default"
    tags = {**(tags or {}), **reproduction_tags()}  # set when running under `shipyard reproduce`
    run = cl.create_run(
        experiment,
        experiment_id=experiment_id,
        name=name,
        parent_run_id=parent_id,
        tags=tags,
        description=description,
    )
    active = ActiveRun(cl, run)
    _ACTIVE.set((*current, active))
    if cl.settings.capture_provenance if capture is None else capture:
        record_manifest(cl, run.id)
    return active


def active_run() -> ActiveRun | None:
    """The innermost run active in this context (thread or task), if any."""
    stack = _ACTIVE.get()
    return stack[-1] if stack else None


def _require() -> ActiveRun:
    run = active_run()
    if run is None:
        raise InvalidArgument("no active run; use `with shipyard.start_run(...) as run:` first", field="run")
    return run


def log_metric(key: str, value: float, step: int = 0, timestamp: int | None = None) -> None:
    _require().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int = 0) -> None:
    _require().log_metrics(metrics, step)


def log_param(key: str, value: object) -> None:
    _require().log_param(key, value)


def log_params(params: Mapping[str, object]) -> None:
    _require().log_params(params)


def set_tag(key: str, value: str) -> None:
    _require().set_tag(key, value)


def log_dataset(
    data: Any, *, name: str, role: str = "train", profile: bool | None = None, source: str | None = None
) -> DatasetInput:
    """Log a dataset used by the active run (see :meth:`Client.log_dataset`)."""
    return _require().log_dataset(data, name=name, role=role, profile=profile, source=source)


def log_model(model: Any, *, artifact_path: str = "model", **options: Any) -> LoggedModel:
    """Store ``model`` as a bundle in the active run (see :meth:`Client.log_model`)."""
    return _require().log_model(model, artifact_path=artifact_path, **options)


def register_model(
    model: Any, name: str, *, input_example: Any = None, client: Client | None = None, **options: Any
) -> ModelVersion:
    """Register a model as the next version of ``name``.

    ``model`` is a ``runs:/RUN_ID/PATH`` of a logged bundle, or a model object (or the path of an
    MLflow model folder, imported as is): then it is logged first, to the active run, or else to a
    new run of experiment ``models``.

    Example:
        >>> version = shipyard.register_model(clf, "churn", input_example=X_test[:5])  # doctest: +SKIP
        >>> shipyard.Client().set_model_alias("churn", "production", version.version)  # doctest: +SKIP
    """
    if isinstance(model, str) and model.startswith("runs:/"):
        return (client or default_client()).register_model(model, name, **options)
    current = active_run()
    if current is not None and (client is None or client is current.client):
        logged = current.log_model(model, input_example=input_example, registered_model_name=name, **options)
    else:
        with start_run("models", name=f"register-{name}", client=client) as run:
            logged = run.log_model(model, input_example=input_example, registered_model_name=name, **options)
    if logged.version is None:
        raise RuntimeError("registration returned no version")
    return logged.version


def load_model(ref: str, *, trust: bool = False, variant: str | None = None, client: Client | None = None) -> Any:
    """Load ``ref`` (``models:/churn@production``, ``models:/churn/3``, ``models:/churn/latest``)
    as a callable that checks its input against the model's signature first.

    The bundle is downloaded once into the cache and verified file by file; formats that can run
    code when read (pickle) load only with ``trust=True``. ``variant="onnx"`` loads the ONNX
    export of the version when one was recorded.
    """
    return (client or default_client()).load_model(ref, trust=trust, variant=variant)


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> Run:
    """End the active run (for code that does not use ``with``)."""
    return _require().end(status)
