"""URI scheme registry: which adapter serves ``s3://``, ``file://`` and friends.

Adapters are named as ``"module:attr"`` strings and imported only when first used, so
``import shipyard`` stays light. Third parties add schemes through the entry point groups
``shipyard.artifact_stores`` (and later others) without touching Shipyard's code.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import urlsplit

from shipyard.errors import InvalidArgument

__all__ = ["SchemeRegistry", "scheme_of"]


def scheme_of(uri: str) -> str:
    """The scheme of ``uri``; a plain path (``/data``, ``./x``, ``C:\\x``) is ``file``."""
    if "://" not in uri:
        return "file"
    scheme = urlsplit(uri).scheme.lower()
    return scheme or "file"


class SchemeRegistry:
    """Maps URI schemes to lazily imported factories.

    Args:
        kind: what the registry holds, for messages ("artifact store").
        group: the entry point group third parties register under.
        builtin: scheme → ``"module:attr"`` for the schemes Shipyard ships.
    """

    def __init__(self, kind: str, group: str, builtin: dict[str, str]) -> None:
        self.kind = kind
        self.group = group
        self._targets = dict(builtin)
        self._plugins_loaded = False

    def register(self, scheme: str, target: str) -> None:
        """Add or replace the factory for ``scheme`` (``"module:attr"``)."""
        self._targets[scheme.lower()] = target

    def schemes(self) -> list[str]:
        """Every known scheme, sorted."""
        self._load_plugins()
        return sorted(self._targets)

    def resolve(self, uri: str) -> Any:
        """The factory for ``uri``'s scheme, imported now."""
        return self.get(scheme_of(uri), context=f" in {uri!r}")

    def get(self, name: str, *, context: str = "") -> Any:
        """The factory registered under ``name`` (a scheme, or a flavor name), imported now."""
        self._load_plugins()
        target = self._targets.get(name.lower())
        if target is None:
            known = ", ".join(self.schemes())
            raise InvalidArgument(f"no {self.kind} named {name!r}{context}; known: {known}")
        module_name, _, attr = target.partition(":")
        return getattr(importlib.import_module(module_name), attr)

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.group):
            self._targets.setdefault(ep.name.lower(), ep.value)
