"""MLflow 3's logged models: what ``mlflow.<flavor>.log_model`` creates before files are uploaded."""

from __future__ import annotations

import re
from typing import Any

from shipyard.api.mlflow import wire
from shipyard.api.mlflow.protocol import Ctx, Fields
from shipyard.api.mlflow.search import LOGGED_MODEL_FIELDS, matches, page, parse
from shipyard.domain.logged_models import LoggedModel

MAX_SCAN = 1000

__all__ = ["PATTERNS"]


def create(c: Ctx, f: Fields) -> Any:
    m = c.svc.logged_models.create(
        c.who,
        f.text("experiment_id", required=True),
        f.text("name") or "model",
        run_id=f.text("source_run_id") or None,
        model_type=f.text("model_type"),
        tags=f.kv("tags"),
        params=f.kv("params"),
    )
    return {"model": wire.logged_model(m)}


def get(c: Ctx, f: Fields) -> Any:
    return {"model": wire.logged_model(c.svc.logged_models.get(c.who, f.text("model_id", required=True)))}


def finalize(c: Ctx, f: Fields) -> Any:
    status = wire.logged_model_status(f.text("status", required=True))
    return {"model": wire.logged_model(c.svc.logged_models.finalize(c.who, f.text("model_id", required=True), status))}


def delete(c: Ctx, f: Fields) -> Any:
    c.svc.logged_models.delete(c.who, f.text("model_id", required=True))
    return {}


def set_tags(c: Ctx, f: Fields) -> Any:
    m = c.svc.logged_models.set_tags(c.who, f.text("model_id", required=True), f.kv("tags"))
    return {"model": wire.logged_model(m)}


def delete_tag(c: Ctx, f: Fields) -> Any:
    c.svc.logged_models.delete_tag(c.who, f.text("model_id", required=True), f.text("tag_key", required=True))
    return {}


def log_params(c: Ctx, f: Fields) -> Any:
    c.svc.logged_models.log_params(c.who, f.text("model_id", required=True), f.kv("params"))
    return {}


def _attrs(m: LoggedModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "model_id": m.id,
        "source_run_id": m.run_id,
        "status": wire.logged_model(m)["info"]["status"],
        "model_type": m.model_type,
        "creation_timestamp": m.created_at,
        "creation_time": m.created_at,
        "last_updated_timestamp": m.updated_at,
    }


def search(c: Ctx, f: Fields) -> Any:
    """By experiment, newest first, with MLflow's filter over names, ids, runs, status, tags and
    params (the MLflow client asks ``name = 'model' AND source_run_id = '...'`` to resolve a
    ``runs:/RUN/model`` URI)."""
    expr = parse(f.text("filter"), LOGGED_MODEL_FIELDS)
    models = c.svc.logged_models.search(c.who, f.texts("experiment_ids"), max_results=MAX_SCAN)
    found = [m for m in models if matches(expr, _attrs(m), m.tags, m.params)]
    chunk, token = page(found, f, what="logged models", default_size=100)
    out: dict[str, Any] = {"models": [wire.logged_model(m) for m in chunk]}
    if token:
        out["next_page_token"] = token
    return out


_ID = r"(?P<model_id>m-[0-9a-f]{32})"
PATTERNS: list[tuple[str, re.Pattern[str], Any]] = [
    ("POST", re.compile(r"logged-models"), create),
    ("POST", re.compile(r"logged-models/search"), search),
    ("GET", re.compile(rf"logged-models/{_ID}"), get),
    ("PATCH", re.compile(rf"logged-models/{_ID}"), finalize),
    ("DELETE", re.compile(rf"logged-models/{_ID}"), delete),
    ("PATCH", re.compile(rf"logged-models/{_ID}/tags"), set_tags),
    ("DELETE", re.compile(rf"logged-models/{_ID}/tags/(?P<tag_key>.+)"), delete_tag),
    ("POST", re.compile(rf"logged-models/{_ID}/params"), log_params),
]
