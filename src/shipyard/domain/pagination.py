"""Opaque page tokens: the client hands back what it was given, and nothing else is accepted."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from shipyard.errors import InvalidArgument

__all__ = ["Page", "decode_page_token", "encode_page_token"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results; ``next_page_token`` is ``None`` on the last page."""

    items: list[T]
    next_page_token: str | None


def encode_page_token(offset: int, query_key: str) -> str:
    raw = json.dumps({"o": offset, "q": query_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str | None, query_key: str) -> int:
    """The offset in ``token``; the token must come from the same query."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        offset = data["o"]
        key = data["q"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidArgument(
            "malformed page token; pass back the next_page_token you were given", field="page_token"
        ) from None
    if not isinstance(offset, int) or offset < 0 or key != query_key:
        raise InvalidArgument("page token belongs to a different query", field="page_token")
    return offset
