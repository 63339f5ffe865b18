"""The models a server serves: what to load (refs or bundle folders), loaded, each with its batcher
and its metrics."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shipyard.errors import InvalidArgument, NotFound
from shipyard.flavors.bundle import LoadedModel, load_bundle
from shipyard.inference.batching import Batcher

__all__ = ["Metrics", "ModelSet", "ServeOptions", "ServedModel", "Watcher", "load_sources", "parse_route", "warm"]

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


@dataclass(frozen=True)
class ServeOptions:
    max_batch: int = 64
    max_wait: float = 0.0
    max_queue: int = 2048
    threads: int = 2
    prefer_onnx: bool = True
    trust: bool = False
    poll_interval: float = 5.0  # how often moving references (aliases, latest) are resolved again
    keep_versions: int = 2  # versions of a name kept loaded after a swap (the newest ones)


class Metrics:
    """Prometheus series of one server, on its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("model", "version")
        self.requests = Counter(
            "shipyard_inference_requests", "Inference requests answered", (*labels, "protocol", "code"),
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "shipyard_inference_request_seconds", "Time to answer an inference request", labels,
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.batch_rows = Histogram(
            "shipyard_inference_batch_rows", "Rows per model call (adaptive batching)", labels,
            buckets=BATCH_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.queue_rows = Gauge(
            "shipyard_inference_queue_rows", "Rows waiting for the model", labels, registry=self.registry
        )
        self._children: dict[tuple[str, ...], Any] = {}

    def watch_log(self, request_log: Any) -> None:
        """Expose the inference log's written and dropped rows (read at scrape time)."""
        written = Gauge(
            "shipyard_inference_log_written_rows", "Rows written to the inference log", registry=self.registry
        )
        dropped = Gauge(
            "shipyard_inference_log_dropped_rows",
            "Rows not logged (buffer full or store failing)",
            registry=self.registry,
        )
        written.set_function(lambda: request_log.written_rows)
        dropped.set_function(lambda: request_log.dropped_rows)

    def request(self, model: str, version: str, protocol: str, code: int, seconds: float) -> None:
        key = (model, version, protocol, str(code))
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = (
                self.requests.labels(*key),
                self.latency.labels(model, version),
            )
        child[0].inc()
        child[1].observe(seconds)


@dataclass
class ServedModel:
    """One version of one model, loaded and ready."""

    name: str
    version: str
    model: LoadedModel
    batcher: Batcher
    source: str
    variant: str | None = None
    loaded_at: float = field(default_factory=time.time)


class ModelSet:
    """Every served model by name and version; the default version of a name is the last added."""

    def __init__(self, options: ServeOptions, metrics: Metrics) -> None:
        self.options = options
        self.metrics = metrics
        self.pool = ThreadPoolExecutor(max_workers=options.threads, thread_name_prefix="shipyard-model")
        self.versions: dict[str, dict[str, ServedModel]] = {}
        self.default: dict[str, str] = {}
        self.routes: dict[str, tuple[tuple[str, float], ...]] = {}  # name -> (version, cumulative share)
        self.shadows: dict[str, str] = {}  # name -> the version that also gets every request, unanswered

    def add(self, name: str, version: str, model: LoadedModel, source: str, variant: str | None = None) -> ServedModel:
        batch_hist = self.metrics.batch_rows.labels(name, version)
        queue_gauge = self.metrics.queue_rows.labels(name, version)

        def observe(rows: int, queued: int) -> None:
            batch_hist.observe(rows)
            queue_gauge.set(queued)

        batcher = Batcher(
            model.predictor.predict,
            self.pool,
            max_batch=self.options.max_batch,
            max_wait=self.options.max_wait,
            max_queue=self.options.max_queue,
            observe=observe,
        )
        served = ServedModel(name, version, model, batcher, source, variant)
        self.versions.setdefault(name, {})[version] = served
        self.default.setdefault(name, version)  # the first version of a name; later ones through swap()
        return served

    def swap(self, served: ServedModel) -> str | None:
        """Make ``served`` (already added and warmed) the default of its name: one assignment, so
        every request after it goes to the new version while those in flight finish on the old.
        Versions beyond ``keep_versions`` that have nothing in flight are unloaded."""
        before = self.default.get(served.name)
        self.default[served.name] = served.version
        versions = self.versions[served.name]
        stale = [v for v in versions if v != served.version and versions[v].batcher.in_flight == 0]
        for v in stale[: max(0, len(versions) - self.options.keep_versions)]:
            del versions[v]
        return before

    def get(self, name: str, version: str | None = None) -> ServedModel:
        versions = self.versions.get(name)
        if versions is None:
            raise NotFound(f"no model named {name!r} is served here; served: {', '.join(self.versions)}", field="name")
        chosen = version or self.default[name]
        served = versions.get(chosen)
        if served is None:
            raise NotFound(f"model {name!r} has no version {chosen!r} here", field="version")
        return served

    def set_route(self, name: str, weights: dict[str, float]) -> None:
        """Split ``name``'s traffic between loaded versions by weight (any positive numbers)."""
        for version in weights:
            self.get(name, version)
        total = sum(weights.values())
        if total <= 0 or any(w < 0 for w in weights.values()):
            raise InvalidArgument(f"route weights for {name!r} must be positive", field="route")
        cumulative, acc = [], 0.0
        for version, weight in weights.items():
            acc += weight / total
            cumulative.append((version, acc))
        self.routes[name] = tuple(cumulative)

    def set_shadow(self, name: str, version: str) -> None:
        self.get(name, version)
        self.shadows[name] = version

    def pick(self, name: str, sticky: bytes | None = None) -> ServedModel:
        """The version that answers this request: by the route's weights (a sticky key always lands
        on the same version), else the default."""
        route = self.routes.get(name)
        if route is None:
            return self.get(name)
        if sticky:
            point = int.from_bytes(hashlib.blake2b(sticky, digest_size=8).digest(), "big") / 2**64
        else:
            point = random.random()
        for version, edge in route:
            if point < edge:
                return self.get(name, version)
        return self.get(name, route[-1][0])

    def all(self) -> list[ServedModel]:
        return [m for versions in self.versions.values() for m in versions.values()]

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _from_registry(client: Any, ref: str, options: ServeOptions) -> tuple[str, str, LoadedModel, str | None]:
    version = client.get_model_version(ref)
    variant = None
    onnx = version.variants.get("onnx")
    if options.prefer_onnx and onnx and (onnx.get("parity") or {}).get("passed"):
        variant = "onnx"  # the export that passed its parity check: same answers, faster
    model = client.load_model(version.ref, trust=options.trust, variant=variant)
    return version.name, str(version.version), model, variant


def load_sources(
    sources: Iterable[str], options: ServeOptions, client: Any = None
) -> list[tuple[str, str, LoadedModel, str, str | None]]:
    """``(name, version, model, source, variant)`` for each source: a ``models:/`` reference
    (resolved through ``client``), or a bundle folder (``NAME=PATH`` or ``NAME/VERSION=PATH`` to
    name it)."""
    loaded: list[tuple[str, str, LoadedModel, str, str | None]] = []
    for source in sources:
        name_part, sep, path_part = source.partition("=")
        path = Path(path_part if sep else source)
        if not source.startswith("models:/") and path.is_dir():
            model = load_bundle(path, trust=options.trust)
            name, _, version = (name_part if sep else path.resolve().name).partition("/")
            loaded.append((name, version or "1", model, source, None))
            continue
        if client is None:
            raise InvalidArgument(f"{source!r} is neither a bundle folder nor a models:/ reference", field="source")
        name, version, model, variant = _from_registry(client, source, options)
        loaded.append((name, version, model, source, variant))
    return loaded


def warm(model: LoadedModel) -> None:
    """Call the model once on its input example (first calls pay for lazy initialisation)."""
    example = model.input_example()
    if example is not None:
        model.predict(example)


class Watcher:
    """Keeps a moving reference (``models:/churn@production``, ``.../latest``) served: every
    ``poll_interval`` it resolves the reference again, and when it names another version, loads
    and warms that version off the event loop, then swaps it in."""

    def __init__(self, models: ModelSet, client: Any, ref: str, name: str, version: str) -> None:
        self.models = models
        self.client = client
        self.ref = ref
        self.name = name
        self.version = version
        self.swaps = 0
        self.last_error: str | None = None

    def check(self) -> tuple[str, str, LoadedModel, str | None] | None:
        """Blocking: the new version loaded and warmed, or ``None`` if the reference has not moved."""
        current = self.client.get_model_version(self.ref)
        if str(current.version) == self.version:
            return None
        name, version, model, variant = _from_registry(self.client, current.ref, self.models.options)
        warm(model)
        return name, version, model, variant

    async def run(self) -> None:
        import asyncio
        import logging

        log = logging.getLogger("shipyard.serve")
        while True:
            await asyncio.sleep(self.models.options.poll_interval)
            try:
                found = await asyncio.to_thread(self.check)
            except Exception as exc:  # the hub is down, the alias was deleted...: keep serving what we have
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("could not refresh %s: %s", self.ref, self.last_error)
                continue
            if found is None:
                continue
            name, version, model, variant = found
            served = self.models.add(name, version, model, self.ref, variant)
            before = self.models.swap(served)
            self.version, self.swaps, self.last_error = version, self.swaps + 1, None
            log.warning("%s now serves %s v%s (was v%s)", self.ref, name, version, before)


def parse_route(text: str) -> tuple[str, dict[str, float]]:
    """``churn=3:90,4:10`` -> ``("churn", {"3": 90.0, "4": 10.0})``."""
    name, sep, spec = text.partition("=")
    weights: dict[str, float] = {}
    try:
        for part in spec.split(","):
            version, _, weight = part.partition(":")
            weights[version.strip()] = float(weight)
    except ValueError:
        weights = {}
    if not sep or not name or not weights or any(not v for v in weights):
        raise InvalidArgument(f"cannot read route {text!r}: use NAME=VERSION:WEIGHT,VERSION:WEIGHT", field="route")
    return name, weights
