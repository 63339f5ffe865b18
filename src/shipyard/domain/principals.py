"""Who acts, and the audit record each mutation appends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AuditEvent", "Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The acting identity of a service call (a user, later also a service account)."""

    name: str
    kind: str = "user"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One appended line of the audit trail, written in the transaction of the change it records."""

    principal: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any] = field(default_factory=dict)
    at_ms: int = 0
