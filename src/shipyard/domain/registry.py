"""The model registry: registered models, their numbered versions, and aliases that point at one.

A version is immutable once created: it names a bundle (by the sha256 of its manifest) stored as
artifacts of a run, so its lineage is that run's: the run's datasets, commit and manifest. Aliases
(``production``, ``staging``, any name) move atomically from one version to another. References
``models:/NAME/3``, ``models:/NAME@ALIAS`` and ``models:/NAME/latest`` resolve everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidArgument

__all__ = [
    "ModelRef",
    "ModelVersion",
    "RegisteredModel",
    "check_alias",
    "check_model_name",
    "parse_model_ref",
]

MAX_NAME_LENGTH = 250
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")
_ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_RESERVED_ALIASES = frozenset({"latest"})
SCHEME = "models:/"


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, int] = field(default_factory=dict)  # alias -> version
    latest_version: int | None = None
    created_at: int = 0
    updated_at: int = 0
    created_by: str = ""


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """Version ``version`` of model ``name``: the bundle at ``artifact_path`` of run ``run_id``,
    whose manifest hashes to ``bundle_digest``. ``variants`` are other encodings of the same model
    (``{"onnx": {"artifact_path", "bundle_digest", "parity": {...}}}``)."""

    name: str
    version: int
    run_id: str
    artifact_path: str
    bundle_digest: str
    flavor: str
    signature: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    created_at: int = 0
    created_by: str = ""

    @property
    def ref(self) -> str:
        return f"{SCHEME}{self.name}/{self.version}"


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed ``models:/`` reference: exactly one of ``version``, ``alias`` or ``latest``."""

    name: str
    version: int | None = None
    alias: str | None = None

    @property
    def latest(self) -> bool:
        return self.version is None and self.alias is None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{SCHEME}{self.name}/{self.version}"
        if self.alias is not None:
            return f"{SCHEME}{self.name}@{self.alias}"
        return f"{SCHEME}{self.name}/latest"


def check_model_name(name: object, field_name: str = "name") -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgument("a model name must be a non-empty string", field=field_name)
    if len(name) > MAX_NAME_LENGTH or not _NAME_RE.match(name):
        raise InvalidArgument(
            f"model name {name!r} may hold letters, digits, '_', '-' and '.', start with a letter or digit, "
            f"and be at most {MAX_NAME_LENGTH} characters",
            field=field_name,
        )
    return name


def check_alias(alias: object, field_name: str = "alias") -> str:
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias) or len(alias) > 64:
        raise InvalidArgument(
            f"alias {alias!r} must start with a letter and hold letters, digits, '_' and '-' (at most 64)",
            field=field_name,
        )
    if alias.lower() in _RESERVED_ALIASES:
        raise InvalidArgument(
            f"{alias!r} is reserved: models:/NAME/latest is always the newest version", field=field_name
        )
    return alias


def check_version_number(version: object, field_name: str = "version") -> int:
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool) or not 0 < version < 2**31:
        raise InvalidArgument("a model version is a positive integer", field=field_name)
    return version


def parse_model_ref(ref: object, field_name: str = "ref") -> ModelRef:
    """``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``models:/NAME/latest``; the scheme may be
    left out (``NAME@ALIAS``, ``NAME/3``, and a bare ``NAME`` for the latest version)."""
    if not isinstance(ref, str) or not ref:
        raise InvalidArgument("a model reference is a string such as models:/churn@production", field=field_name)
    body = ref[len(SCHEME) :] if ref.startswith(SCHEME) else ref
    if "@" in body:
        name, _, alias = body.partition("@")
        return ModelRef(check_model_name(name, field_name), alias=check_alias(alias, field_name))
    name, _, rest = body.partition("/")
    check_model_name(name, field_name)
    if rest in ("", "latest"):
        return ModelRef(name)
    try:
        return ModelRef(name, version=check_version_number(rest, field_name))
    except InvalidArgument:
        raise InvalidArgument(
            f"cannot read {ref!r}: use models:/NAME/VERSION, models:/NAME@ALIAS or models:/NAME/latest",
            field=field_name,
        ) from None
