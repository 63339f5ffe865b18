"""MLflow's search grammar over experiments and registered models, and its page tokens.

Run searches go to the store as SQL (Shipyard's run filter grammar is MLflow's, see
:mod:`shipyard.domain.filters`). Experiments and registered models are few, so their filters are
parsed by the same parser and evaluated here, over the objects.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from shipyard.api.mlflow.protocol import Fields, MlflowError
from shipyard.api.mlflow.wire import ROLES
from shipyard.domain.filters import And, Cmp, Expr, Or, parse_filter, parse_order_by
from shipyard.domain.pagination import decode_page_token, encode_page_token
from shipyard.domain.tracking import Experiment

__all__ = ["experiment_matches", "matches", "order_by", "order_experiments", "page", "run_filter"]

T = TypeVar("T")

EXPERIMENT_FIELDS = {"name": "str", "experiment_id": "str", "creation_time": "num", "last_update_time": "num"}
MODEL_FIELDS = {"name": "str", "creation_timestamp": "num", "last_updated_timestamp": "num", "description": "str"}
VERSION_FIELDS = {
    "name": "str",
    "version": "num",
    "version_number": "num",
    "run_id": "str",
    "source_path": "str",
    "source": "str",
    "current_stage": "str",
    "creation_timestamp": "num",
    "last_updated_timestamp": "num",
    "model_id": "str",
}
LOGGED_MODEL_FIELDS = {
    "name": "str",
    "model_id": "str",
    "source_run_id": "str",
    "status": "str",
    "model_type": "str",
    "creation_timestamp": "num",
    "creation_time": "num",
    "last_updated_timestamp": "num",
}
_USER_ID = re.compile(r"\b(attributes?\.)?user_id\b", re.IGNORECASE)


_CONTEXT = re.compile(r"(\bdatasets?\.context\s*(?:=|!=|like|ilike)\s*)(['\"])(\w+)\2", re.IGNORECASE)


def run_filter(text: str) -> str:
    """MLflow's run filter in Shipyard's spelling: the grammars agree but for ``user_id`` and the
    words for a dataset's role (``dataset.context = 'training'`` is Shipyard's role ``train``)."""
    if not text:
        return text
    text = _USER_ID.sub("created_by", text)
    return _CONTEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}{ROLES.get(m.group(3), m.group(3))}{m.group(2)}", text)


def _like(pattern: str, value: str, fold: bool) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if fold else re.DOTALL) is not None


def _cmp(c: Cmp, value: Any) -> bool:
    op, want = c.op, c.value
    if op == "is_null":
        return value is None
    if op == "is_not_null":
        return value is not None
    if value is None:
        return False
    if op in ("in", "not_in"):
        options = want if isinstance(want, tuple) else ()
        found = value in options or str(value) in map(str, options)
        return found if op == "in" else not found
    if op in ("like", "ilike"):
        return _like(str(want), str(value), op == "ilike")
    if isinstance(want, float):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return False
    else:
        value = str(value)
    if op == "=":
        return bool(value == want)
    if op == "!=":
        return bool(value != want)
    try:
        return bool({"<": value < want, "<=": value <= want, ">": value > want, ">=": value >= want}[op])
    except TypeError:
        return False


def matches(
    expr: Expr | None, attrs: Mapping[str, Any], tags: Mapping[str, str], params: Mapping[str, str] | None = None
) -> bool:
    if expr is None:
        return True
    if isinstance(expr, And):
        return all(matches(e, attrs, tags, params) for e in expr.items)
    if isinstance(expr, Or):
        return any(matches(e, attrs, tags, params) for e in expr.items)
    if expr.entity == "param" and params is not None:
        return _cmp(expr, params.get(expr.key))
    if expr.entity == "tag":
        if expr.op in ("!=", "not_in") and expr.key not in tags:
            return True  # as MLflow's registry search: an absent tag differs from any value
        return _cmp(expr, tags.get(expr.key))
    if expr.entity == "attribute":
        return _cmp(expr, attrs.get(expr.key))
    raise MlflowError(f"Invalid filter: {expr.entity}s cannot be used here.")


def parse(text: str, fields: dict[str, str]) -> Expr | None:
    return parse_filter(text or None, fields)


def _experiment_attrs(e: Experiment) -> dict[str, Any]:
    return {"name": e.name, "experiment_id": e.id, "creation_time": e.created_at, "last_update_time": e.created_at}


def experiment_matches(e: Experiment, text: str) -> bool:
    return matches(parse(text, EXPERIMENT_FIELDS), _experiment_attrs(e), e.tags)


def order_by(
    items: list[T], clauses: Sequence[str], fields: dict[str, str], attrs: Callable[[T], Mapping[str, Any]]
) -> list[T]:
    """Sort by each clause in turn (stable sorts from the last clause to the first); missing
    values last."""
    for clause in reversed(parse_order_by(list(clauses), fields)):
        if clause.entity != "attribute":
            raise MlflowError(f"Invalid order_by clause {clause.key!r}: order by one of {', '.join(fields)}.")
        present = [x for x in items if attrs(x).get(clause.key) is not None]
        missing = [x for x in items if attrs(x).get(clause.key) is None]
        present.sort(key=lambda x: attrs(x)[clause.key], reverse=clause.descending)
        items = present + missing
    return items


def order_experiments(items: list[Experiment], clauses: Sequence[str]) -> list[Experiment]:
    default = sorted(items, key=lambda e: (e.created_at, int(e.id) if e.id.isdigit() else 0), reverse=True)
    return order_by(default, clauses, EXPERIMENT_FIELDS, _experiment_attrs) if clauses else default


def page(items: list[T], f: Fields, *, what: str, default_size: int) -> tuple[list[T], str | None]:
    """The page of ``items`` the request ``f`` asks for (``max_results``, ``page_token``) and the
    token of the next, as MLflow pages. Tokens are Shipyard's (:mod:`shipyard.domain.pagination`):
    opaque, and refused for a different search (``what``, filter, order and scope)."""
    size = f.integer("max_results", default_size) or default_size
    if not 1 <= size <= 50_000:
        raise MlflowError(f"Invalid value {size} for parameter 'max_results' supplied.")
    query = repr((what, f.text("filter"), f.texts("order_by"), f.texts("experiment_ids"), f.text("view_type")))
    key = hashlib.sha256(query.encode()).hexdigest()[:16]
    start = decode_page_token(f.text("page_token") or None, key)
    more = start + size < len(items)
    return items[start : start + size], encode_page_token(start + size, key) if more else None
