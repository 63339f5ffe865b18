"""What differs between two runs: params, metrics, code, dependencies, environment, seeds and the
machine. A pure function over two runs and their manifest documents."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.domain.datasets import DatasetInput, diff_inputs
from shipyard.domain.tracking import Run

__all__ = ["Change", "RunDiff", "diff_runs"]

SECTIONS = ("params", "metrics", "datasets", "code", "dependencies", "python", "environment", "seeds", "hardware")


@dataclass(frozen=True, slots=True)
class Change:
    """One differing item: its value in run A and in run B (``None`` when absent)."""

    key: str
    a: Any
    b: Any


@dataclass(frozen=True)
class RunDiff:
    """Differences by section (see ``SECTIONS``); an empty section means 'the same'. A section is
    ``None`` when a run has no manifest to compare it with."""

    a: str
    b: str
    sections: dict[str, list[Change] | None] = field(default_factory=dict)

    @property
    def same(self) -> bool:
        return all(not changes for changes in self.sections.values())


def _dict_changes(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = "") -> list[Change]:
    keys = sorted(set(a) | set(b))
    return [Change(prefix + k, a.get(k), b.get(k)) for k in keys if not _equal(a.get(k), b.get(k))]


def _equal(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return bool(x == y)


def _packages(m: Mapping[str, Any]) -> dict[str, str]:
    found = {}
    for spec in m.get("reproducible", {}).get("packages", {}).get("distributions", []):
        name, _, version = spec.partition("==")
        found[name.lower()] = version
    return found


def _section(ma: Mapping[str, Any] | None, mb: Mapping[str, Any] | None, path: tuple[str, ...]) -> list[Change] | None:
    if ma is None or mb is None:
        return None

    def get(m: Mapping[str, Any]) -> Mapping[str, Any]:
        node: Any = m
        for p in path:
            node = node.get(p, {}) if isinstance(node, Mapping) else {}
        return node if isinstance(node, Mapping) else {}

    return _dict_changes(get(ma), get(mb))


def diff_runs(
    a: Run,
    b: Run,
    manifest_a: Mapping[str, Any] | None,
    manifest_b: Mapping[str, Any] | None,
    datasets: tuple[Sequence[DatasetInput], Sequence[DatasetInput]] | None = None,
) -> RunDiff:
    """Compare two runs; manifests are the stored documents (``None`` if a run has none), and
    ``datasets`` the two runs' dataset inputs (``None``: not compared)."""
    metrics_a = {k: m.value for k, m in a.metrics.items()}
    metrics_b = {k: m.value for k, m in b.metrics.items()}
    sections: dict[str, list[Change] | None] = {
        "params": _dict_changes(a.params, b.params),
        "metrics": _dict_changes(metrics_a, metrics_b),
        "datasets": None if datasets is None else [Change(k, va, vb) for k, va, vb in diff_inputs(*datasets)],
    }
    code = _section(manifest_a, manifest_b, ("reproducible", "git"))
    sections["code"] = code
    if manifest_a is not None and manifest_b is not None:
        pa, pb = _packages(manifest_a), _packages(manifest_b)
        deps = _dict_changes(pa, pb)
        locks = _section(manifest_a, manifest_b, ("reproducible", "packages", "lock_files")) or []
        sections["dependencies"] = deps + [Change(f"lock file {c.key}", c.a, c.b) for c in locks]
    else:
        sections["dependencies"] = None
    sections["python"] = _section(manifest_a, manifest_b, ("reproducible", "python"))
    env = _section(manifest_a, manifest_b, ("reproducible", "env", "variables"))
    command = _section(manifest_a, manifest_b, ("reproducible", "command"))
    sections["environment"] = None if env is None or command is None else command + env
    sections["seeds"] = _section(manifest_a, manifest_b, ("reproducible", "seeds", "seeds"))
    hardware = _section(manifest_a, manifest_b, ("host", "platform"))
    gpus = _section(manifest_a, manifest_b, ("host", "gpu"))
    sections["hardware"] = None if hardware is None or gpus is None else hardware + gpus
    return RunDiff(a.id, b.id, sections)
