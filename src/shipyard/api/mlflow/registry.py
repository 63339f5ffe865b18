"""MLflow's model registry calls over Shipyard's registry.

A version MLflow creates names its files by ``source`` (``models:/m-...`` for a logged model, or an
artifact URI of a run). The hub makes that folder a Shipyard bundle in place (its ``MLmodel`` read,
a manifest written over the digests it already holds; see ``RegistryService.adopt_folder``), so
the version is verified, loadable and servable by Shipyard like any other. MLflow's deprecated
stages are kept as the version tag ``mlflow.stage``; Shipyard's own aliases are MLflow's aliases.
"""

from __future__ import annotations

from typing import Any

from shipyard.api.mlflow import wire
from shipyard.api.mlflow.artifacts import split
from shipyard.api.mlflow.protocol import Ctx, Fields, MlflowError
from shipyard.api.mlflow.search import MODEL_FIELDS, VERSION_FIELDS, matches, order_by, page, parse
from shipyard.domain.bundle import MANIFEST
from shipyard.domain.registry import ModelVersion, RegisteredModel
from shipyard.errors import AlreadyExists, NotFound
from shipyard.flavors.mlflow import describe_mlmodel

__all__ = ["ROUTES"]

STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
MAX_MLMODEL_BYTES = 1 << 20


class _Experiments:
    """Run id -> experiment id, looked up once per request."""

    def __init__(self, c: Ctx) -> None:
        self.c = c
        self.known: dict[str, str] = {}

    def __call__(self, run_id: str) -> str:
        if run_id not in self.known:
            try:
                self.known[run_id] = self.c.svc.tracking.get_run(self.c.who, run_id, with_data=False).experiment_id
            except NotFound:
                self.known[run_id] = "0"
        return self.known[run_id]


def _version_json(c: Ctx, v: ModelVersion, exps: _Experiments | None = None) -> dict[str, Any]:
    return wire.model_version(v, (exps or _Experiments(c))(v.run_id))


def _model_json(c: Ctx, m: RegisteredModel, exps: _Experiments | None = None) -> dict[str, Any]:
    exps = exps or _Experiments(c)
    latest = _latest(c, m.name, [])
    return wire.registered_model(m, [_version_json(c, v, exps) for v in latest])


def _number(f: Fields) -> int:
    raw = f.text("version", required=True)
    if not raw.isdigit():
        raise MlflowError(f"Invalid value {raw!r} for parameter 'version': a version number is required.")
    return int(raw)


# registered models -----------------------------------------------------------------------------------
def create_model(c: Ctx, f: Fields) -> Any:
    name = f.text("name", required=True)
    try:
        m = c.svc.registry.create_model(c.who, name, description=f.text("description"), tags=f.kv("tags"))
    except AlreadyExists:
        raise MlflowError(f"Registered Model (name={name}) already exists.", "RESOURCE_ALREADY_EXISTS", 400) from None
    return {"registered_model": _model_json(c, m)}


def get_model(c: Ctx, f: Fields) -> Any:
    return {"registered_model": _model_json(c, c.svc.registry.get_model(c.who, f.text("name", required=True)))}


def rename_model(c: Ctx, f: Fields) -> Any:
    m = c.svc.registry.rename_model(c.who, f.text("name", required=True), f.text("new_name", required=True))
    return {"registered_model": _model_json(c, m)}


def update_model(c: Ctx, f: Fields) -> Any:
    m = c.svc.registry.update_model(c.who, f.text("name", required=True), description=f.opt_text("description") or "")
    return {"registered_model": _model_json(c, m)}


def delete_model(c: Ctx, f: Fields) -> Any:
    c.svc.registry.delete_model(c.who, f.text("name", required=True))
    return {}


def _model_attrs(m: RegisteredModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "creation_timestamp": m.created_at,
        "last_updated_timestamp": m.updated_at,
        "description": m.description,
    }


def search_models(c: Ctx, f: Fields) -> Any:
    expr = parse(f.text("filter"), MODEL_FIELDS)
    found = [m for m in c.svc.registry.list_models(c.who) if matches(expr, _model_attrs(m), m.tags)]
    found = order_by(found, f.texts("order_by"), MODEL_FIELDS, _model_attrs)
    chunk, token = page(found, f, what="registered models", default_size=100)
    exps = _Experiments(c)
    out: dict[str, Any] = {"registered_models": [_model_json(c, m, exps) for m in chunk]}
    if token:
        out["next_page_token"] = token
    return out


def set_model_tag(c: Ctx, f: Fields) -> Any:
    tags = {f.text("key", required=True): f.text("value")}
    c.svc.registry.update_model(c.who, f.text("name", required=True), tags=tags)
    return {}


def delete_model_tag(c: Ctx, f: Fields) -> Any:
    c.svc.registry.delete_model_tag(c.who, f.text("name", required=True), f.text("key", required=True))
    return {}


def _latest(c: Ctx, name: str, stages: list[str]) -> list[ModelVersion]:
    wanted = {STAGES.get(s.lower(), s) for s in stages}
    best: dict[str, ModelVersion] = {}
    for v in c.svc.registry.list_versions(c.who, name):
        stage = v.tags.get(wire.STAGE_TAG, "None")
        if (not wanted or stage in wanted) and (stage not in best or v.version > best[stage].version):
            best[stage] = v
    return sorted(best.values(), key=lambda v: v.version)


def get_latest_versions(c: Ctx, f: Fields) -> Any:
    name = f.text("name", required=True)
    exps = _Experiments(c)
    return {"model_versions": [_version_json(c, v, exps) for v in _latest(c, name, f.texts("stages"))]}


# aliases ---------------------------------------------------------------------------------------------
def set_alias(c: Ctx, f: Fields) -> Any:
    c.svc.registry.set_alias(c.who, f.text("name", required=True), f.text("alias", required=True), _number(f))
    return {}


def delete_alias(c: Ctx, f: Fields) -> Any:
    c.svc.registry.delete_alias(c.who, f.text("name", required=True), f.text("alias", required=True))
    return {}


def get_by_alias(c: Ctx, f: Fields) -> Any:
    name, alias = f.text("name", required=True), f.text("alias", required=True)
    try:
        v = c.svc.registry.resolve(c.who, f"models:/{name}@{alias}")
    except NotFound as exc:
        if exc.field != "alias":
            raise
        raise MlflowError(f"Registered model alias {alias} not found.") from None
    return {"model_version": _version_json(c, v)}


# versions --------------------------------------------------------------------------------------------
def _source_folder(c: Ctx, f: Fields) -> tuple[str, str]:
    """(run id, artifact path) of the files a new version is made of."""
    source = f.text("source")
    model_id = f.text("model_id")
    if not model_id and source.startswith("models:/m-"):
        model_id = source[len("models:/") :].strip("/")
    if model_id:
        m = c.svc.logged_models.get(c.who, model_id)
        return m.run_id, m.artifact_path
    if source.startswith(wire.SCHEME):
        _, run_id, rel = split(source[len(wire.SCHEME) :])
        return run_id, rel
    if source.startswith("runs:/"):
        run_id, _, rel = source[len("runs:/") :].partition("/")
        return run_id, rel
    raise MlflowError(
        f"Invalid value {source!r} for parameter 'source': use models:/MODEL_ID, runs:/RUN_ID/PATH or an "
        "mlflow-artifacts:/ URI this hub gave out."
    )


def _ensure_bundle(c: Ctx, run_id: str, path: str) -> None:
    """Make the folder a bundle unless it is one already (a Shipyard bundle, or adopted before)."""
    names = {e.path for e in c.svc.artifacts.list(c.who, run_id, path or None)}
    prefix = f"{path}/" if path else ""
    if f"{prefix}{MANIFEST}" in names:
        return
    if f"{prefix}MLmodel" not in names:
        raise MlflowError(f"No model at {path!r} of run {run_id}: the folder has no MLmodel file.")
    entry, chunks = c.svc.artifacts.read(c.who, run_id, f"{prefix}MLmodel")
    if entry.size > MAX_MLMODEL_BYTES:
        raise MlflowError("The MLmodel file is too large.")
    config, signature = describe_mlmodel(b"".join(chunks).decode("utf-8", "replace"))
    reqs: tuple[str, ...] = ()
    if f"{prefix}requirements.txt" in names:
        _, req_chunks = c.svc.artifacts.read(c.who, run_id, f"{prefix}requirements.txt")
        text = b"".join(req_chunks).decode("utf-8", "replace")
        reqs = tuple(ln.strip() for ln in text.splitlines() if "==" in ln and not ln.startswith(("#", "-")))
    c.svc.registry.adopt_folder(
        c.who, run_id, path, flavor="mlflow", flavor_config=config, signature=signature, requirements=reqs
    )


def create_version(c: Ctx, f: Fields) -> Any:
    name = f.text("name", required=True)
    run_id, path = _source_folder(c, f)
    _ensure_bundle(c, run_id, path)
    v = c.svc.registry.create_version(
        c.who, name, run_id, path, description=f.text("description"), tags=f.kv("tags"), create_model=False
    )
    return {"model_version": _version_json(c, v)}


def get_version(c: Ctx, f: Fields) -> Any:
    v = c.svc.registry.get_version(c.who, f.text("name", required=True), _number(f))
    return {"model_version": _version_json(c, v)}


def update_version(c: Ctx, f: Fields) -> Any:
    v = c.svc.registry.update_version(
        c.who, f.text("name", required=True), _number(f), description=f.opt_text("description")
    )
    return {"model_version": _version_json(c, v)}


def delete_version(c: Ctx, f: Fields) -> Any:
    c.svc.registry.delete_version(c.who, f.text("name", required=True), _number(f))
    return {}


def set_version_tag(c: Ctx, f: Fields) -> Any:
    tags = {f.text("key", required=True): f.text("value")}
    c.svc.registry.update_version(c.who, f.text("name", required=True), _number(f), tags=tags)
    return {}


def delete_version_tag(c: Ctx, f: Fields) -> Any:
    c.svc.registry.delete_version_tag(c.who, f.text("name", required=True), _number(f), f.text("key", required=True))
    return {}


def transition_stage(c: Ctx, f: Fields) -> Any:
    name, number = f.text("name", required=True), _number(f)
    raw = f.text("stage", required=True)
    stage = STAGES.get(raw.lower())
    if stage is None:
        raise MlflowError(f"Invalid Model Version stage: {raw}. Value must be one of {', '.join(STAGES.values())}.")
    if f.flag("archive_existing_versions") and stage in ("Staging", "Production"):
        for other in c.svc.registry.list_versions(c.who, name):
            if other.version != number and other.tags.get(wire.STAGE_TAG) == stage:
                c.svc.registry.update_version(c.who, name, other.version, tags={wire.STAGE_TAG: "Archived"})
    v = c.svc.registry.update_version(c.who, name, number, tags={wire.STAGE_TAG: stage})
    return {"model_version": _version_json(c, v)}


def _version_attrs(exps: _Experiments, v: ModelVersion) -> dict[str, Any]:
    source = wire.run_artifact_uri(exps(v.run_id), v.run_id, v.artifact_path)
    return {
        "name": v.name,
        "version": v.version,
        "version_number": v.version,
        "run_id": v.run_id,
        "source": source,
        "source_path": source,
        "current_stage": v.tags.get(wire.STAGE_TAG, "None"),
        "creation_timestamp": v.created_at,
        "last_updated_timestamp": v.created_at,
        "model_id": wire.logged_model_id(v.artifact_path),
    }


def search_versions(c: Ctx, f: Fields) -> Any:
    expr = parse(f.text("filter"), VERSION_FIELDS)
    exps = _Experiments(c)
    found: list[ModelVersion] = []
    for m in c.svc.registry.list_models(c.who):
        found += [
            v for v in c.svc.registry.list_versions(c.who, m.name) if matches(expr, _version_attrs(exps, v), v.tags)
        ]
    clauses = f.texts("order_by")
    if clauses:
        found = order_by(found, clauses, VERSION_FIELDS, lambda v: _version_attrs(exps, v))
    else:
        found.sort(key=lambda v: (v.name, -v.version))
    chunk, token = page(found, f, what="model versions", default_size=10_000)
    out: dict[str, Any] = {"model_versions": [_version_json(c, v, exps) for v in chunk]}
    if token:
        out["next_page_token"] = token
    return out


def download_uri(c: Ctx, f: Fields) -> Any:
    v = c.svc.registry.get_version(c.who, f.text("name", required=True), _number(f))
    run = c.svc.tracking.get_run(c.who, v.run_id, with_data=False)
    return {"artifact_uri": wire.run_artifact_uri(run.experiment_id, v.run_id, v.artifact_path)}


ROUTES: dict[tuple[str, str], Any] = {
    ("POST", "registered-models/create"): create_model,
    ("GET", "registered-models/get"): get_model,
    ("POST", "registered-models/rename"): rename_model,
    ("PATCH", "registered-models/update"): update_model,
    ("DELETE", "registered-models/delete"): delete_model,
    ("GET", "registered-models/search"): search_models,
    ("POST", "registered-models/get-latest-versions"): get_latest_versions,
    ("GET", "registered-models/get-latest-versions"): get_latest_versions,
    ("POST", "registered-models/set-tag"): set_model_tag,
    ("DELETE", "registered-models/delete-tag"): delete_model_tag,
    ("POST", "registered-models/alias"): set_alias,
    ("DELETE", "registered-models/alias"): delete_alias,
    ("GET", "registered-models/alias"): get_by_alias,
    ("POST", "model-versions/create"): create_version,
    ("GET", "model-versions/get"): get_version,
    ("PATCH", "model-versions/update"): update_version,
    ("DELETE", "model-versions/delete"): delete_version,
    ("POST", "model-versions/set-tag"): set_version_tag,
    ("DELETE", "model-versions/delete-tag"): delete_version_tag,
    ("POST", "model-versions/transition-stage"): transition_stage,
    ("GET", "model-versions/search"): search_versions,
    ("GET", "model-versions/get-download-uri"): download_uri,
}
