"""MLflow's tracking calls: experiments, runs, logging, search and metric history.

Each handler runs on the hub's thread pool, reads its fields (:class:`Fields`) and calls the same
services as Shipyard's own API; MLflow's system tags map to Shipyard's fields (``mlflow.runName`` is
the run's name, ``mlflow.parentRunId`` its parent) and are stored as given too, so nothing a client
sent is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from shipyard.api.mlflow import wire
from shipyard.api.mlflow.protocol import Ctx, Fields, MlflowError
from shipyard.api.mlflow.search import experiment_matches, order_experiments, page, run_filter
from shipyard.domain.datasets import DatasetKind, DatasetVersion
from shipyard.domain.pagination import decode_page_token, encode_page_token
from shipyard.domain.principals import Principal
from shipyard.domain.tracking import MetricBatch, RunStatus, now_ms
from shipyard.errors import NotFound

__all__ = ["ROUTES", "Ctx"]

# MLflow's documented limits for one log-batch call.
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_TOTAL = 1000
MAX_HISTORY_PAGE = 25_000
# MLflow's provenance tags -> Shipyard's (the MLflow client records the commit and entry point)
_PROVENANCE = {"mlflow.source.git.commit": "shipyard.git.commit", "mlflow.source.name": "shipyard.source"}
_VIEWS = {"ACTIVE_ONLY": "active", "DELETED_ONLY": "deleted", "ALL": "all", "1": "active", "2": "deleted", "3": "all"}


def _view(f: Fields, name: str) -> str:
    raw = f.text(name, "ACTIVE_ONLY")
    if raw not in _VIEWS:
        raise MlflowError(f"Invalid value {raw!r} for parameter '{name}': use ACTIVE_ONLY, DELETED_ONLY or ALL.")
    return _VIEWS[raw]


# experiments -------------------------------------------------------------------------------------
def create_experiment(c: Ctx, f: Fields) -> Any:
    name = f.text("name", required=True)
    exp = c.svc.tracking.create_experiment(c.who, name, tags=f.kv("tags"))
    return {"experiment_id": exp.id}


def get_experiment(c: Ctx, f: Fields) -> Any:
    exp = c.svc.tracking.get_experiment(c.who, f.text("experiment_id", required=True))
    return {"experiment": wire.experiment(exp)}


def get_experiment_by_name(c: Ctx, f: Fields) -> Any:
    name = f.text("experiment_name", required=True)
    try:
        exp = c.svc.tracking.get_experiment_by_name(c.who, name)
    except NotFound:
        raise MlflowError(f"Could not find experiment with name '{name}'", "RESOURCE_DOES_NOT_EXIST", 404) from None
    return {"experiment": wire.experiment(exp)}


def search_experiments(c: Ctx, f: Fields) -> Any:
    view = _view(f, "view_type")
    found = [
        e
        for e in c.svc.tracking.list_experiments(c.who)
        if (view == "all" or e.lifecycle == view) and experiment_matches(e, f.text("filter"))
    ]
    found = order_experiments(found, f.texts("order_by"))
    chunk, token = page(found, f, what="experiments", default_size=1000)
    out: dict[str, Any] = {"experiments": [wire.experiment(e) for e in chunk]}
    if token:
        out["next_page_token"] = token
    return out


def update_experiment(c: Ctx, f: Fields) -> Any:
    c.svc.tracking.update_experiment(c.who, f.text("experiment_id", required=True), name=f.opt_text("new_name"))
    return {}


def delete_experiment(c: Ctx, f: Fields) -> Any:
    c.svc.tracking.set_experiment_lifecycle(c.who, f.text("experiment_id", required=True), "deleted")
    return {}


def restore_experiment(c: Ctx, f: Fields) -> Any:
    c.svc.tracking.set_experiment_lifecycle(c.who, f.text("experiment_id", required=True), "active")
    return {}


def set_experiment_tag(c: Ctx, f: Fields) -> Any:
    tags = {f.text("key", required=True): f.text("value")}
    c.svc.tracking.set_experiment_tags(c.who, f.text("experiment_id", required=True), tags)
    return {}


def delete_experiment_tag(c: Ctx, f: Fields) -> Any:
    c.svc.tracking.delete_experiment_tag(c.who, f.text("experiment_id", required=True), f.text("key", required=True))
    return {}


# runs ----------------------------------------------------------------------------------------------
def _run_json(c: Ctx, run_id: str) -> dict[str, Any]:
    r = c.svc.tracking.get_run(c.who, run_id)
    inputs = [wire.dataset_input(i, _described(c, i.version)) for i in c.svc.datasets.run_inputs(c.who, run_id)]
    outputs = c.svc.logged_models.search(c.who, [r.experiment_id], run_id=run_id, max_results=1000)
    return wire.run(r, inputs, outputs)


def _described(c: Ctx, v: DatasetVersion | None) -> Mapping[str, Any] | None:
    if v is None or v.kind is not DatasetKind.REFERENCE:
        return None
    raw = b"".join(c.svc.datasets.read_blob(c.who, v.blob))
    parsed = orjson.loads(raw)
    return parsed if isinstance(parsed, dict) else None


def create_run(c: Ctx, f: Fields) -> Any:
    tags = f.kv("tags")
    for theirs, ours in _PROVENANCE.items():  # the lineage views read Shipyard's names
        if tags.get(theirs) and ours not in tags:
            tags[ours] = tags[theirs]
    experiment_id = f.text("experiment_id", "0")
    user = f.text("user_id") or tags.get(wire.USER_TAG) or c.who.name
    who = Principal(user[:250], "declared") if user != c.who.name else c.who
    run = c.svc.tracking.create_run(
        who,
        experiment_id,
        name=f.text("run_name") or tags.get(wire.RUN_NAME_TAG) or None,
        parent_run_id=tags.get(wire.PARENT_TAG) or None,
        tags=tags,
        start_time=f.integer("start_time"),
    )
    return {"run": wire.run(run)}


def get_run(c: Ctx, f: Fields) -> Any:
    return {"run": _run_json(c, f.text("run_id") or f.text("run_uuid", required=True))}


def update_run(c: Ctx, f: Fields) -> Any:
    run_id = f.text("run_id") or f.text("run_uuid", required=True)
    raw = f.text("status")
    status = None
    if raw:
        if raw == "SCHEDULED":
            raw = "RUNNING"
        try:
            status = RunStatus(raw)
        except ValueError:
            raise MlflowError(f"Invalid value {raw!r} for parameter 'status'.") from None
    run = c.svc.tracking.update_run(  # any status to any other, or the same again, as MLflow allows
        c.who,
        run_id,
        status=status,
        end_time=f.integer("end_time"),
        name=f.opt_text("run_name"),
        allow_finished=True,
    )
    if f.opt_text("run_name"):
        c.svc.tracking.log_batch(c.who, run_id, tags={wire.RUN_NAME_TAG: run.name}, allow_finished=True)
    return {"run_info": wire.run_info(run)}


def delete_run(c: Ctx, f: Fields) -> Any:
    c.svc.tracking.set_run_lifecycle(c.who, f.text("run_id", required=True), "deleted")
    return {}


def restore_run(c: Ctx, f: Fields) -> Any:
    c.svc.tracking.set_run_lifecycle(c.who, f.text("run_id", required=True), "active")
    return {}


def search_runs(c: Ctx, f: Fields) -> Any:
    max_results = f.integer("max_results", 1000) or 1000
    if not 1 <= max_results <= 50_000:
        raise MlflowError(f"Invalid value {max_results} for parameter 'max_results' supplied.")
    result = c.svc.tracking.search_runs(
        c.who,
        experiment_ids=f.texts("experiment_ids"),
        filter=run_filter(f.text("filter")),
        order_by=f.texts("order_by"),
        max_results=max_results,
        page_token=f.text("page_token") or None,
        lifecycle=_view(f, "run_view_type"),
    )
    out: dict[str, Any] = {"runs": [wire.run(r) for r in result.items]}
    if result.next_page_token:
        out["next_page_token"] = result.next_page_token
    return out


# logging -----------------------------------------------------------------------------------------
def _metric_columns(items: list[Mapping[str, Any]], default_ts: int) -> MetricBatch:
    keys, values, steps, stamps = [], [], [], []
    for i, m in enumerate(items):
        value = m.get("value")
        if isinstance(value, str):
            value = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.get(value, value)
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        step, ts = m.get("step", 0), m.get("timestamp", default_ts)
        try:
            steps.append(int(step) if step is not None else 0)
            stamps.append(int(ts) if ts is not None else default_ts)
        except (TypeError, ValueError):
            raise MlflowError(f"Invalid value for parameter 'metrics[{i}]': step and timestamp are integers.") from None
        keys.append(m.get("key"))
        values.append(value)
    return MetricBatch(keys, values, steps, stamps)  # type: ignore[arg-type]


def log_batch(c: Ctx, f: Fields) -> Any:
    run_id = f.text("run_id", required=True)
    metrics, params, tags = f.objects("metrics"), f.objects("params"), f.objects("tags")
    for name, items, limit in (
        ("metrics", metrics, MAX_BATCH_METRICS),
        ("params", params, MAX_BATCH_PARAMS),
        ("tags", tags, MAX_BATCH_TAGS),
    ):
        if len(items) > limit:
            raise MlflowError(
                f"A batch logging request can contain at most {limit} {name}. Got {len(items)} {name}. "
                "Please split up the request into multiple requests."
            )
    if len(metrics) + len(params) + len(tags) > MAX_BATCH_TOTAL:
        raise MlflowError(f"A batch logging request can contain at most {MAX_BATCH_TOTAL} metrics, params and tags.")
    _log(c, run_id, _metric_columns(metrics, now_ms()), f.kv("params"), f.kv("tags"))
    return {}


def _log(c: Ctx, run_id: str, metrics: MetricBatch, params: dict[str, str], tags: dict[str, str]) -> None:
    c.svc.tracking.log_batch(c.who, run_id, metrics=metrics, params=params, tags=tags, allow_finished=True)
    if wire.RUN_NAME_TAG in tags and tags[wire.RUN_NAME_TAG].strip():
        c.svc.tracking.update_run(c.who, run_id, name=tags[wire.RUN_NAME_TAG])


def log_metric(c: Ctx, f: Fields) -> Any:
    run_id = f.text("run_id") or f.text("run_uuid", required=True)
    item = {k: f.data.get(k) for k in ("key", "value", "step", "timestamp") if f.data.get(k) is not None}
    if "value" not in item:
        raise MlflowError("Missing value for required parameter 'value'.")
    _log(c, run_id, _metric_columns([item], now_ms()), {}, {})
    return {}


def log_param(c: Ctx, f: Fields) -> Any:
    run_id = f.text("run_id") or f.text("run_uuid", required=True)
    _log(c, run_id, MetricBatch([], [], [], []), {f.text("key", required=True): f.text("value")}, {})
    return {}


def set_tag(c: Ctx, f: Fields) -> Any:
    run_id = f.text("run_id") or f.text("run_uuid", required=True)
    _log(c, run_id, MetricBatch([], [], [], []), {}, {f.text("key", required=True): f.text("value")})
    return {}


def delete_tag(c: Ctx, f: Fields) -> Any:
    c.svc.tracking.delete_tag(c.who, f.text("run_id", required=True), f.text("key", required=True))
    return {}


def get_metric_history(c: Ctx, f: Fields) -> Any:
    run_id = f.text("run_id") or f.text("run_uuid", required=True)
    size = min(f.integer("max_results", MAX_HISTORY_PAGE) or MAX_HISTORY_PAGE, MAX_HISTORY_PAGE)
    key = f.text("metric_key", required=True)
    start = decode_page_token(f.text("page_token") or None, f"history {run_id} {key}")
    # one point more than the page: whether another page follows, without counting them all
    h = c.svc.tracking.metric_history(c.who, run_id, key, offset=start, limit=size + 1)
    out: dict[str, Any] = {"metrics": wire.history(h, 0, size)}
    if len(h) > size:
        out["next_page_token"] = encode_page_token(start + size, f"history {run_id} {key}")
    return out


def get_metric_history_bulk_interval(c: Ctx, f: Fields) -> Any:
    key = f.text("metric_key", required=True)
    run_ids = f.texts("run_ids")
    if not run_ids or len(run_ids) > 100:
        raise MlflowError("Invalid value for parameter 'run_ids': give between 1 and 100 run ids.")
    lo, hi = f.integer("start_step"), f.integer("end_step")
    limit = min(f.integer("max_results", 320) or 320, 1000)
    out = []
    for run_id in run_ids:
        h = c.svc.tracking.metric_history(c.who, run_id, key)
        idx = [i for i, s in enumerate(h.steps) if (lo is None or s >= lo) and (hi is None or s <= hi)]
        if len(idx) > limit:  # evenly spaced points, always keeping the first and the last
            idx = sorted({idx[round(j * (len(idx) - 1) / (limit - 1))] for j in range(limit)})
        for i in idx:
            point = {"key": key, "value": wire.number(h.values[i]), "timestamp": h.timestamps[i], "step": h.steps[i]}
            out.append({**point, "run_id": run_id})
    return {"metrics": out}


def log_inputs(c: Ctx, f: Fields) -> Any:
    run_id = f.text("run_id", required=True)
    for i, item in enumerate(f.objects("datasets")):
        ds = item.get("dataset")
        if not isinstance(ds, dict) or not isinstance(ds.get("name"), str) or not ds.get("name"):
            raise MlflowError(f"Invalid value for parameter 'datasets[{i}].dataset': a name is required.")
        tags = {t.get("key"): t.get("value") for t in item.get("tags") or [] if isinstance(t, dict)}
        context = str(tags.get(wire.DATASET_CONTEXT_TAG) or "other")
        role = wire.ROLES.get(context, "other")
        described: dict[str, Any] = {
            k: str(ds.get(k) or "") for k in ("name", "digest", "source_type", "source", "schema", "profile")
        }
        extra = {str(k): str(v) for k, v in tags.items() if k != wire.DATASET_CONTEXT_TAG and k is not None}
        if extra:  # the input's own tags: part of what the client described, so kept with it
            described["input_tags"] = extra
        described["context"] = context
        raw = orjson.dumps(described, option=orjson.OPT_SORT_KEYS)
        digest, size = c.svc.datasets.put_blob(c.who, [raw])
        version = DatasetVersion(
            digest=digest,
            kind=DatasetKind.REFERENCE,
            format=("mlflow-" + described["source_type"])[:32] if described["source_type"] else "mlflow",
            rows=_rows(described["profile"]),
            size=size,
            schema=(),
            profile={},
            blob=digest,
            source=described["source"][:4000],
        )
        c.svc.datasets.log_input(c.who, run_id, described["name"], role, version, allow_finished=True)
    return {}


def _rows(profile: str) -> int | None:
    try:
        rows = orjson.loads(profile).get("num_rows") if profile else None
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return rows if isinstance(rows, int) and rows >= 0 else None


def log_outputs(c: Ctx, f: Fields) -> Any:
    run_id = f.text("run_id", required=True)
    c.svc.tracking.get_run(c.who, run_id, with_data=False)
    for i, item in enumerate(f.objects("models")):
        model_id = item.get("model_id")
        if not isinstance(model_id, str):
            raise MlflowError(f"Invalid value for parameter 'models[{i}].model_id'.")
        c.svc.logged_models.get(c.who, model_id)  # outputs are the run's logged models; check it exists
    return {}


ROUTES: dict[tuple[str, str], Any] = {
    ("POST", "experiments/create"): create_experiment,
    ("GET", "experiments/get"): get_experiment,
    ("GET", "experiments/get-by-name"): get_experiment_by_name,
    ("POST", "experiments/search"): search_experiments,
    ("GET", "experiments/search"): search_experiments,
    ("POST", "experiments/update"): update_experiment,
    ("POST", "experiments/delete"): delete_experiment,
    ("POST", "experiments/restore"): restore_experiment,
    ("POST", "experiments/set-experiment-tag"): set_experiment_tag,
    ("POST", "experiments/delete-experiment-tag"): delete_experiment_tag,
    ("POST", "runs/create"): create_run,
    ("GET", "runs/get"): get_run,
    ("POST", "runs/update"): update_run,
    ("POST", "runs/delete"): delete_run,
    ("POST", "runs/restore"): restore_run,
    ("POST", "runs/search"): search_runs,
    ("POST", "runs/log-batch"): log_batch,
    ("POST", "runs/log-metric"): log_metric,
    ("POST", "runs/log-parameter"): log_param,
    ("POST", "runs/set-tag"): set_tag,
    ("POST", "runs/delete-tag"): delete_tag,
    ("POST", "runs/log-inputs"): log_inputs,
    ("POST", "runs/outputs"): log_outputs,
    ("GET", "metrics/get-history"): get_metric_history,
    ("GET", "metrics/get-history-bulk-interval"): get_metric_history_bulk_interval,
}
