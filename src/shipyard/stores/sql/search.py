"""Translate a run search (filter AST, ordering) into one SQL statement."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa

from shipyard.domain.filters import And, Cmp, Expr, Or, OrderBy
from shipyard.errors import InvalidArgument
from shipyard.stores.metadata import RunSearch
from shipyard.stores.sql import schema as t
from shipyard.stores.sql.base import experiment_keys

__all__ = ["build_search"]

_ATTR_COLUMNS: dict[str, sa.Column[Any]] = {
    "status": t.runs.c.status,
    "name": t.runs.c.name,
    "run_id": t.runs.c.id,
    "experiment_id": t.runs.c.experiment_id,
    "created_by": t.runs.c.created_by,
    "parent_run_id": t.runs.c.parent_run_id,
    "start_time": t.runs.c.start_time,
    "end_time": t.runs.c.end_time,
}
_KV_TABLES: dict[str, sa.Table] = {"metric": t.latest_metrics, "param": t.params, "tag": t.tags}


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "like": lambda col, v: col.like(v),
    "ilike": lambda col, v: col.ilike(v),
    "in": lambda col, v: col.in_(list(v)),
    "not_in": lambda col, v: col.not_in(list(v)),
}


def _compare(col: sa.ColumnElement[Any], op: str, value: Any) -> sa.ColumnElement[bool]:
    return cast(sa.ColumnElement[bool], _OPERATORS[op](col, value))


def _attribute_value(key: str, value: Any) -> Any:
    if key == "experiment_id":
        conv = [int(v) if str(v).isdigit() else -1 for v in (value if isinstance(value, tuple) else (value,))]
        return tuple(conv) if isinstance(value, tuple) else conv[0]
    if key == "status" and value is not None:
        return tuple(v.upper() for v in value) if isinstance(value, tuple) else str(value).upper()
    if key in ("start_time", "end_time") and isinstance(value, float):
        return int(value) if value.is_integer() else value
    return value


def _condition(expr: Expr) -> sa.ColumnElement[bool]:
    if isinstance(expr, And):
        return sa.and_(*(_condition(e) for e in expr.items))
    if isinstance(expr, Or):
        return sa.or_(*(_condition(e) for e in expr.items))
    return _cmp(expr)


def _cmp(c: Cmp) -> sa.ColumnElement[bool]:
    if c.entity == "attribute":
        col = _ATTR_COLUMNS[c.key]
        if c.op == "is_null":
            return col.is_(None)
        if c.op == "is_not_null":
            return col.is_not(None)
        return _compare(col, c.op, _attribute_value(c.key, c.value))
    if c.entity == "dataset":  # a run matches if any of its inputs does
        inputs = t.run_inputs
        col = {"name": inputs.c.name, "digest": inputs.c.digest, "role": inputs.c.role}[c.key]
        used = sa.select(sa.literal(1)).where(inputs.c.run_id == t.runs.c.id)
        if c.op in ("is_null", "is_not_null"):
            return ~sa.exists(used) if c.op == "is_null" else sa.exists(used)
        return sa.exists(used.where(_compare(col, c.op, c.value)))
    table = _KV_TABLES[c.entity]
    base = sa.select(sa.literal(1)).where(table.c.run_id == t.runs.c.id, table.c.key == c.key)
    if c.op == "is_null":
        return ~sa.exists(base)
    if c.op == "is_not_null":
        return sa.exists(base)
    return sa.exists(base.where(_compare(table.c.value, c.op, c.value)))


_JOINABLE_OPS = frozenset({"=", "!=", "<", "<=", ">", ">=", "like", "ilike", "in", "not_in"})


def _join_conditions(expr: Expr | None) -> tuple[list[Cmp], list[Expr]]:
    """Split a filter into key/value comparisons that can be inner joins and the rest. A join is
    exactly an EXISTS here: (run_id, key) is the primary key of metrics, params and tags, so a run
    matches at most one row per join and is never duplicated; joins just plan better."""
    if expr is None:
        return [], []
    items = list(expr.items) if isinstance(expr, And) else [expr]
    joins: list[Cmp] = []
    rest: list[Expr] = []
    for item in items:
        if isinstance(item, Cmp) and item.entity in _KV_TABLES and item.op in _JOINABLE_OPS:
            joins.append(item)
        else:
            rest.append(item)
    return joins, rest


def _order_column(
    o: OrderBy, idx: int, stmt: sa.Select[Any], joined: dict[tuple[str, str], Any]
) -> tuple[sa.Select[Any], sa.ColumnElement[Any]]:
    if o.entity == "dataset":
        raise InvalidArgument("runs cannot be ordered by their datasets", field=f"order_by[{idx}]")
    if o.entity == "attribute":
        return stmt, _ATTR_COLUMNS[o.key]
    if (o.entity, o.key) in joined:  # already inner-joined by the filter: same row, same value
        return stmt, joined[(o.entity, o.key)].c.value
    table = _KV_TABLES[o.entity].alias(f"ord{idx}")
    stmt = stmt.outerjoin(table, sa.and_(table.c.run_id == t.runs.c.id, table.c.key == o.key))
    return stmt, table.c.value


def build_search(query: RunSearch, dialect: str) -> sa.Select[Any]:
    """A SELECT of ``runs`` rows matching ``query`` in order (without LIMIT/OFFSET)."""
    stmt = sa.select(t.runs).select_from(t.runs)
    where: list[sa.ColumnElement[bool]] = []
    if query.lifecycle != "all":
        where.append(t.runs.c.lifecycle == query.lifecycle)
    if query.experiment_ids:
        where.append(t.runs.c.experiment_id.in_(experiment_keys(query.experiment_ids)))
    joins, rest = _join_conditions(query.filter)
    joined: dict[tuple[str, str], Any] = {}
    for idx, c in enumerate(joins):
        alias = _KV_TABLES[c.entity].alias(f"f{idx}")
        on = sa.and_(alias.c.run_id == t.runs.c.id, alias.c.key == c.key, _compare(alias.c.value, c.op, c.value))
        stmt = stmt.join(alias, on)
        joined.setdefault((c.entity, c.key), alias)
    where += [_condition(e) for e in rest]
    order: list[sa.ColumnElement[Any]] = []
    for idx, o in enumerate(query.order_by):
        stmt, col = _order_column(o, idx, stmt, joined)
        order.append(col.desc().nulls_last() if o.descending else col.asc().nulls_last())
    order += [t.runs.c.start_time.desc(), t.runs.c.id.asc()]
    return stmt.where(*where).order_by(*order)
