"""Model registry wire models: registered models, versions, aliases."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shipyard.domain.registry import ModelVersion, RegisteredModel
from shipyard.schemas.tracking import _In

__all__ = [
    "CreateModelIn",
    "CreateModelVersionIn",
    "SetAliasIn",
    "UpdateModelIn",
    "UpdateModelVersionIn",
    "VariantIn",
    "model_from_wire",
    "model_to_wire",
    "model_version_from_wire",
    "model_version_to_wire",
]


class CreateModelIn(_In):
    name: str = Field(description="Unique model name: letters, digits, '_', '-', '.'.")
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


class UpdateModelIn(_In):
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict, description="Tags to add or replace.")


class CreateModelVersionIn(_In):
    run_id: str = Field(description="The run whose artifacts hold the bundle.")
    artifact_path: str = Field(default="model", description="The bundle's folder in the run's artifacts.")
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    create_model: bool = Field(default=True, description="Create the registered model if it does not exist.")


class UpdateModelVersionIn(_In):
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class SetAliasIn(_In):
    version: int = Field(description="The version the alias points at from now on.")


class VariantIn(_In):
    run_id: str = Field(description="The run that holds the variant's bundle.")
    artifact_path: str = Field(description="Where the variant's bundle is in that run's artifacts.")
    facts: dict[str, Any] = Field(default_factory=dict, description="E.g. parity with the original.")


def model_to_wire(m: RegisteredModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "description": m.description,
        "tags": dict(m.tags),
        "aliases": dict(m.aliases),
        "latest_version": m.latest_version,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "created_by": m.created_by,
    }


def model_from_wire(d: dict[str, Any]) -> RegisteredModel:
    return RegisteredModel(
        name=d["name"],
        description=d.get("description", ""),
        tags=d.get("tags") or {},
        aliases={k: int(v) for k, v in (d.get("aliases") or {}).items()},
        latest_version=d.get("latest_version"),
        created_at=d.get("created_at", 0),
        updated_at=d.get("updated_at", 0),
        created_by=d.get("created_by", ""),
    )


def model_version_to_wire(v: ModelVersion) -> dict[str, Any]:
    return {
        "name": v.name,
        "version": v.version,
        "ref": v.ref,
        "run_id": v.run_id,
        "artifact_path": v.artifact_path,
        "bundle_digest": v.bundle_digest,
        "flavor": v.flavor,
        "signature": dict(v.signature),
        "description": v.description,
        "tags": dict(v.tags),
        "aliases": list(v.aliases),
        "variants": {k: dict(val) for k, val in v.variants.items()},
        "created_at": v.created_at,
        "created_by": v.created_by,
    }


def model_version_from_wire(d: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        name=d["name"],
        version=int(d["version"]),
        run_id=d["run_id"],
        artifact_path=d["artifact_path"],
        bundle_digest=d["bundle_digest"],
        flavor=d["flavor"],
        signature=d.get("signature") or {},
        description=d.get("description", ""),
        tags=d.get("tags") or {},
        aliases=tuple(d.get("aliases") or ()),
        variants=d.get("variants") or {},
        created_at=d.get("created_at", 0),
        created_by=d.get("created_by", ""),
    )
