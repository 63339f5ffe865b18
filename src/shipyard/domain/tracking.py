"""Experiments, runs, params, metrics and tags, with the rules that keep them valid."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field
from enum import StrEnum
from typing import Any

from shipyard.errors import Conflict, InvalidArgument, PayloadTooLarge

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_PARAM_VALUE_LENGTH",
    "MAX_TAG_VALUE_LENGTH",
    "Experiment",
    "Metric",
    "MetricBatch",
    "MetricHistory",
    "Run",
    "RunStatus",
    "check_key",
    "check_metric",
    "check_param_value",
    "check_params",
    "check_tag_value",
    "check_tags",
    "check_timestamp",
    "now_ms",
]

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_NAME_LENGTH = 250
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-. /]+$")
_TS_MAX = 2**53  # ms; anything above is not a timestamp
_STEP_MAX = 2**63 - 1
_VALUE_MSG = "a metric value must be a number (NaN and ±inf allowed), not {!r}"
_STEP_MSG = "step must be an integer within int64"
_TS_MSG = "timestamp must be milliseconds since the epoch (a non-negative integer)"


def _is_number(v: object) -> bool:
    return v.__class__ is float or (isinstance(v, int | float) and not isinstance(v, bool))


def _is_step(s: object) -> bool:
    return isinstance(s, int) and not isinstance(s, bool) and -_STEP_MAX <= s <= _STEP_MAX


def _is_timestamp(t: object) -> bool:
    return isinstance(t, int) and not isinstance(t, bool) and 0 <= t < _TS_MAX


def check_timestamp(value: object, field_name: str) -> int:
    """Milliseconds since the epoch."""
    if not _is_timestamp(value):
        raise InvalidArgument(_TS_MSG, field=field_name)
    return value  # type: ignore[return-value]


def now_ms() -> int:
    """Milliseconds since the epoch, the unit of every Shipyard timestamp."""
    return time.time_ns() // 1_000_000


class RunStatus(StrEnum):
    """Lifecycle of a run: RUNNING, then exactly one terminal state."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING

    @classmethod
    def parse(cls, value: str, *, field_name: str = "status") -> RunStatus:
        try:
            return cls(value.upper())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise InvalidArgument(f"unknown status {value!r}; one of {allowed}", field=field_name) from None


def check_transition(current: RunStatus, new: RunStatus, run_id: str) -> None:
    """A run may go from RUNNING to any state; a terminal state is final."""
    if current.is_terminal and new is not current:
        raise Conflict(
            f"run {run_id} is already {current.value}; a finished run cannot become {new.value}",
            field="status",
        )


def check_key(key: object, field_name: str) -> str:
    """Validate a param, metric or tag key."""
    if not isinstance(key, str) or not key:
        raise InvalidArgument("a key must be a non-empty string", field=field_name)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument(f"key longer than {MAX_KEY_LENGTH} characters", field=field_name)
    if not _KEY_RE.match(key) or ".." in key.split("/") or key.startswith("/"):
        raise InvalidArgument(f"invalid key {key!r}: use letters, digits, '_', '-', '.', ' ' and '/'", field=field_name)
    return key


def check_name(name: object, field_name: str = "name") -> str:
    """Validate an experiment or run name."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument("a name must be a non-empty string", field=field_name)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"name longer than {MAX_NAME_LENGTH} characters", field=field_name)
    return name


def check_param_value(value: object, field_name: str) -> str:
    """Params are stored as strings; numbers and booleans are converted the way str() does."""
    if isinstance(value, bool | int | float):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidArgument(
            f"a param value must be a string or a number, not {type(value).__name__}", field=field_name
        )
    if len(value) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidArgument(f"param value longer than {MAX_PARAM_VALUE_LENGTH} characters", field=field_name)
    return value


def check_tag_value(value: object, field_name: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"a tag value must be a string, not {type(value).__name__}", field=field_name)
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise InvalidArgument(f"tag value longer than {MAX_TAG_VALUE_LENGTH} characters", field=field_name)
    return value


MAX_ITEMS_PER_CALL = 1_000  # params, or tags, in one call


def check_params(params: Mapping[str, object], field_name: str = "params") -> dict[str, str]:
    """Validate a mapping of params (values made strings): every key and value, and the count."""
    if len(params) > MAX_ITEMS_PER_CALL:
        raise PayloadTooLarge(f"at most {MAX_ITEMS_PER_CALL} params per call", field=field_name)
    return {check_key(k, f"{field_name}.{k}"): check_param_value(v, f"{field_name}.{k}") for k, v in params.items()}


def check_tags(tags: Mapping[str, object], field_name: str = "tags") -> dict[str, str]:
    """Validate a mapping of tags: every key and value, and the count."""
    if len(tags) > MAX_ITEMS_PER_CALL:
        raise PayloadTooLarge(f"at most {MAX_ITEMS_PER_CALL} tags per call", field=field_name)
    return {check_key(k, f"{field_name}.{k}"): check_tag_value(v, f"{field_name}.{k}") for k, v in tags.items()}


@dataclass(frozen=True, slots=True)
class Metric:
    """One point of a metric series. ``value`` may be NaN or ±inf. ``step`` and ``timestamp`` are
    keyword-only: MLflow's ``Metric`` takes them in the other order, so a positional call ported
    from MLflow fails loudly instead of swapping them silently."""

    key: str
    value: float
    _: KW_ONLY
    step: int = 0
    timestamp: int = 0


def check_metric(key: object, value: object, step: object, timestamp: object, field_name: str) -> Metric:
    """Validate one metric point and return it."""
    check_key(key, f"{field_name}.key")
    if not _is_number(value):
        raise InvalidArgument(_VALUE_MSG.format(value), field=f"{field_name}.value")
    if not _is_step(step):
        raise InvalidArgument(_STEP_MSG, field=f"{field_name}.step")
    check_timestamp(timestamp, f"{field_name}.timestamp")
    return Metric(str(key), float(value), step=step, timestamp=timestamp)  # type: ignore[arg-type]


def _first_bad(column: list[Any], ok: Callable[[Any], bool]) -> int | None:
    return next((i for i, v in enumerate(column) if not ok(v)), None)


@dataclass(frozen=True, slots=True)
class MetricBatch:
    """Many metric points as columns: how batches travel and are stored without a Python object
    per point. Values are not validated by construction; services validate batches."""

    keys: list[str]
    values: list[float]
    steps: list[int]
    timestamps: list[int]

    @classmethod
    def of(cls, points: Iterable[Metric]) -> MetricBatch:
        pts = list(points)
        return cls([p.key for p in pts], [p.value for p in pts], [p.step for p in pts], [p.timestamp for p in pts])

    def __len__(self) -> int:
        return len(self.keys)

    def __add__(self, other: MetricBatch) -> MetricBatch:
        return MetricBatch(
            self.keys + other.keys,
            self.values + other.values,
            self.steps + other.steps,
            self.timestamps + other.timestamps,
        )

    def validate(self) -> None:
        """The rules of :func:`check_metric` for every point, column by column: each distinct key
        once, then C-speed passes over the columns; the per-point pass runs only to name the first
        bad point (``metrics[17].value``)."""
        n = len(self.keys)
        if not len(self.values) == len(self.steps) == len(self.timestamps) == n:
            raise InvalidArgument("metric columns have different lengths", field="metrics")
        if not all(k.__class__ is str for k in self.keys):
            i = _first_bad(self.keys, lambda k: isinstance(k, str))
            raise InvalidArgument("a key must be a non-empty string", field=f"metrics[{i}].key")
        for key in set(self.keys):
            check_key(key, f"metrics[{self.keys.index(key)}].key")
        for column, ok, exact, message, part in (
            (self.values, _is_number, float, None, "value"),
            (self.steps, _is_step, int, _STEP_MSG, "step"),
            (self.timestamps, _is_timestamp, int, _TS_MSG, "timestamp"),
        ):
            fast = all(v.__class__ is exact for v in column)
            if fast and part != "value" and n and not (ok(min(column)) and ok(max(column))):
                fast = False
            if not fast and (i := _first_bad(column, ok)) is not None:
                text = message or _VALUE_MSG.format(column[i])
                raise InvalidArgument(text, field=f"metrics[{i}].{part}")

    def points(self) -> Iterator[Metric]:
        for k, v, s, t in zip(self.keys, self.values, self.steps, self.timestamps, strict=True):
            yield Metric(k, v, step=s, timestamp=t)

    def latest(self) -> dict[str, Metric]:
        """Per key, the point that is 'latest' (highest step, then timestamp, then position)."""
        keys = self.keys
        if len(set(keys)) == 1:
            _, _, i = max(zip(self.steps, self.timestamps, range(len(keys)), strict=True))
            return {keys[i]: Metric(keys[i], self.values[i], step=self.steps[i], timestamp=self.timestamps[i])}
        best: dict[str, tuple[int, int, int]] = {}
        for i, (k, s, t) in enumerate(zip(keys, self.steps, self.timestamps, strict=True)):
            cur = best.get(k)
            if cur is None or (s, t) >= (cur[0], cur[1]):
                best[k] = (s, t, i)
        return {k: Metric(k, self.values[i], step=s, timestamp=t) for k, (s, t, i) in best.items()}


@dataclass(frozen=True, slots=True)
class Experiment:
    """A named group of runs (one name everywhere: experiment)."""

    id: str
    name: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    created_at: int = 0
    lifecycle: str = "active"


@dataclass(frozen=True, slots=True)
class Run:
    """One execution of training code and everything it logged."""

    id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None = None
    parent_run_id: str | None = None
    description: str = ""
    created_by: str = ""
    lifecycle: str = "active"  # or "deleted": kept, hidden from searches, restorable
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetricHistory:
    """All points of one metric of one run, in columns, ordered by step then timestamp."""

    key: str
    steps: list[int]
    values: list[float]
    timestamps: list[int]

    def __len__(self) -> int:
        return len(self.steps)
