"""The run manifest: what is needed to rebuild a run, kept apart from what merely describes the
machine it ran on, as one canonical JSON document with its own sha256.

Two runs of the same code, data, dependencies and seeds have the same ``digest``: it covers only
the ``reproducible`` part. Host-specific fields (hostname, paths, kernel, CPU, GPU) and times live
in ``host`` and ``captured_at``; each collector's outcome lives in ``collectors`` (a failed
collector is recorded there, never fatal).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "MANIFEST_SCHEMA",
    "CollectorResult",
    "Manifest",
    "canonical_json",
    "is_secret_name",
    "redact_env",
    "redact_url",
]

MANIFEST_SCHEMA = 1
_SECRET_NAME = re.compile(
    r"(SECRET|TOKEN|PASSW|PASSWD|PWD|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE|AUTH|SESSION|COOKIE|SIGNATURE)",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"(AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9\-_]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.)"
)
REDACTED = "<redacted>"


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: equal documents give equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def is_secret_name(name: str) -> bool:
    """True for variable names that usually hold secrets (``AWS_SECRET_ACCESS_KEY``, ``GH_TOKEN``...)."""
    return bool(_SECRET_NAME.search(name))


def looks_secret(value: str) -> bool:
    """True for values shaped like well-known credentials (AWS key ids, GitHub/GitLab/Slack tokens,
    JWTs, private keys), whatever variable holds them."""
    return bool(_SECRET_VALUE.search(value))


def redact_env(env: Mapping[str, str], allow: frozenset[str], allow_prefixes: tuple[str, ...] = ()) -> dict[str, str]:
    """The allow-listed variables of ``env``, with any secret-looking name or value redacted."""
    out: dict[str, str] = {}
    for name, value in env.items():
        if name not in allow and not name.startswith(allow_prefixes):
            continue
        out[name] = REDACTED if is_secret_name(name) or looks_secret(value) or _has_userinfo(value) else value
    return out


def _has_userinfo(value: str) -> bool:
    return "://" in value and "@" in value.split("://", 1)[1].split("/", 1)[0]


def redact_url(url: str) -> str:
    """A URL without credentials: ``https://user:token@host/x`` becomes ``https://host/x``;
    scp-like git remotes (``git@host:org/repo``) keep their form but lose any password."""
    if "://" not in url:
        user, sep, rest = url.partition("@")
        return f"{user.split(':', 1)[0]}@{rest}" if sep else url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True, slots=True)
class CollectorResult:
    """What one collector found. ``files`` are stored as run artifacts (e.g. the code diff) and
    referenced from the manifest by digest."""

    reproducible: dict[str, Any] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Manifest:
    """The assembled manifest of one run."""

    reproducible: dict[str, Any]
    host: dict[str, Any]
    collectors: dict[str, dict[str, Any]]
    captured_at: int

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON of the reproducible part."""
        return hashlib.sha256(canonical_json(self.reproducible)).hexdigest()

    def document(self) -> dict[str, Any]:
        return {
            "schema": MANIFEST_SCHEMA,
            "digest": self.digest,
            "reproducible": self.reproducible,
            "host": self.host,
            "collectors": self.collectors,
            "captured_at": self.captured_at,
        }

    def to_json(self) -> bytes:
        return canonical_json(self.document())
