"""The run filter language, parsed into a small AST that stores translate to queries.

Grammar (keywords are case-insensitive)::

    expr       := conj ("or" conj)*
    conj       := atom ("and" atom)*
    atom       := "(" expr ")" | ident op literal
                | ident ["not"] "in" "(" literal ("," literal)* ")"
                | ident "is" ["not"] "null"
    ident      := ("metrics" | "params" | "tags") "." key | ["attributes" "."] attribute
                | "datasets" "." ("name" | "digest" | "role")
    key        := bare-key | `quoted key` | "quoted key"
    op         := "=" | "!=" | "<" | "<=" | ">" | ">=" | "like" | "ilike"
    literal    := number | 'string' | "string"

Example:
    >>> parse_filter('metrics.auc > 0.9')
    Cmp(entity='metric', key='auc', op='>', value=0.9)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.errors import InvalidArgument

__all__ = [
    "ATTRIBUTES",
    "And",
    "Cmp",
    "Expr",
    "Or",
    "OrderBy",
    "parse_filter",
    "parse_order_by",
]

# attribute name -> (column meaning, value kind)
ATTRIBUTES: dict[str, str] = {
    "status": "str",
    "name": "str",
    "run_name": "str",
    "run_id": "str",
    "id": "str",
    "experiment_id": "str",
    "created_by": "str",
    "parent_run_id": "str",
    "start_time": "num",
    "end_time": "num",
}
_ATTR_ALIASES = {"run_name": "name", "id": "run_id"}
_ENTITIES = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "datasets": "dataset",
    "dataset": "dataset",
}
# what a run's datasets can be filtered on (context: MLflow's word for the role)
_DATASET_KEYS = {"name": "name", "digest": "digest", "role": "role", "context": "role"}
_OPS = ("<=", ">=", "!=", "=", "<", ">")
_WORD_OPS = ("like", "ilike")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)(?![\w.]))
      | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<bq>`[^`]*`)
      | (?P<op><=|>=|!=|==|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][\w\-./]*)
    )""",
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Cmp:
    """One comparison. ``value`` is a float for metrics and numeric attributes, else a string;
    a tuple for ``in``/``not in``; ``None`` for ``is null``/``is not null``."""

    entity: str  # metric | param | tag | attribute
    key: str
    op: str  # = != < <= > >= like ilike in not_in is_null is_not_null
    value: float | str | tuple[float | str, ...] | None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


Expr = Cmp | And | Or


@dataclass(frozen=True, slots=True)
class OrderBy:
    entity: str  # metric | param | tag | attribute
    key: str
    descending: bool


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            bad = text[pos:].lstrip()
            at = len(text) - len(bad)
            raise InvalidArgument(f"unexpected character {bad[:1]!r} at position {at} in filter", field="filter")
        kind = m.lastgroup or ""
        toks.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return toks


def _unquote(s: str) -> str:
    body = s[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str, field: str, attributes: dict[str, str] | None = None) -> None:
        self.text = text
        self.field = field
        self.attributes = ATTRIBUTES if attributes is None else attributes
        self.toks = _tokenize(text)
        self.i = 0

    def error(self, msg: str, tok: _Tok | None = None) -> InvalidArgument:
        where = f"at position {tok.pos}" if tok else "at the end"
        return InvalidArgument(f"{msg} {where} in {self.field} {self.text!r}", field=self.field)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise self.error("unexpected end of expression")
        self.i += 1
        return tok

    def at_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text.lower() in words

    def expect_punct(self, p: str) -> None:
        if self.peek() is None:
            raise self.error(f"expected {p!r}")
        tok = self.take()
        if tok.kind != "punct" or tok.text != p:
            raise self.error(f"expected {p!r}, found {tok.text!r}", tok)

    def parse(self) -> Expr:
        expr = self.parse_or()
        tok = self.peek()
        if tok is not None:
            raise self.error(f"unexpected {tok.text!r}; join conditions with 'and' or 'or'", tok)
        return expr

    def parse_or(self) -> Expr:
        items = [self.parse_and()]
        while self.at_word("or"):
            self.i += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Expr:
        items = [self.parse_atom()]
        while self.at_word("and"):
            self.i += 1
            items.append(self.parse_atom())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_atom(self) -> Expr:
        tok = self.peek()
        if tok is not None and tok.kind == "punct" and tok.text == "(":
            self.i += 1
            inner = self.parse_or()
            self.expect_punct(")")
            return inner
        entity, key, kind, ident_tok = self.parse_ident()
        return self.parse_condition(entity, key, kind, ident_tok)

    def parse_ident(self) -> tuple[str, str, str, _Tok]:
        tok = self.take()
        if tok.kind != "word":
            raise self.error(f"expected a field such as metrics.auc or status, found {tok.text!r}", tok)
        text = tok.text
        head, dot, rest = text.partition(".")
        head_l = head.lower()
        if head_l in _ENTITIES:
            entity = _ENTITIES[head_l]
            if rest:
                key = rest
            elif dot and (nxt := self.peek()) is not None and nxt.kind in ("bq", "str"):
                key = _unquote(self.take().text)
            else:
                raise self.error(f"{head}. needs a key, e.g. {head}.accuracy", tok)
            if not key:
                raise self.error("empty key", tok)
            if entity == "dataset":
                if key.lower() not in _DATASET_KEYS:
                    raise self.error(f"datasets can be filtered on {', '.join(sorted(_DATASET_KEYS))}", tok)
                key = _DATASET_KEYS[key.lower()]
            return entity, key, "num" if entity == "metric" else "str", tok
        name = rest if head_l in ("attributes", "attribute", "attr", "run") and dot else text
        name_l = name.lower()
        if name_l not in self.attributes:
            known = ", ".join(sorted(self.attributes))
            raise self.error(f"unknown field {text!r} (use metrics.X, params.X, tags.X or one of {known})", tok)
        key = _ATTR_ALIASES.get(name_l, name_l) if self.attributes is ATTRIBUTES else name_l
        return "attribute", key, self.attributes[name_l], tok

    def parse_literal(self, kind: str, ident: str, at: _Tok) -> float | str:
        tok = self.take()
        if tok.kind == "num":
            if kind == "str":
                raise self.error(f'{ident} holds strings; quote the value: {ident} = "{tok.text}"', tok)
            return float(tok.text)
        if tok.kind == "str":
            if kind == "num":
                raise self.error(f"{ident} holds numbers; compare it with a number, not {tok.text}", tok)
            return _unquote(tok.text)
        raise self.error(f"expected a value after {ident}, found {tok.text!r}", tok)

    def parse_condition(self, entity: str, key: str, kind: str, at: _Tok) -> Cmp:
        ident = at.text if entity == "attribute" else f"{entity}s.{key}"
        tok = self.take()
        if tok.kind == "op":
            op = "=" if tok.text == "==" else tok.text
            if kind == "str" and op in ("<", "<=", ">", ">=") and entity != "attribute":
                raise self.error(f"{ident} holds strings; use =, !=, like, ilike or in", tok)
            return Cmp(entity, key, op, self.parse_literal(kind, ident, tok))
        if tok.kind == "word":
            word = tok.text.lower()
            if word in _WORD_OPS:
                if kind == "num":
                    raise self.error(f"{word} compares strings, but {ident} holds numbers", tok)
                return Cmp(entity, key, word, self.parse_literal(kind, ident, tok))
            if word == "is":
                negate = self.at_word("not")
                if negate:
                    self.i += 1
                null = self.take()
                if null.text.lower() != "null":
                    raise self.error("expected null after 'is'", null)
                return Cmp(entity, key, "is_not_null" if negate else "is_null", None)
            negate = word == "not"
            if negate:
                tok = self.take()
                if tok.text.lower() != "in":
                    raise self.error("expected 'in' after 'not'", tok)
            if tok.text.lower() == "in":
                self.expect_punct("(")
                values = [self.parse_literal(kind, ident, tok)]
                while (p := self.peek()) is not None and p.kind == "punct" and p.text == ",":
                    self.i += 1
                    values.append(self.parse_literal(kind, ident, tok))
                self.expect_punct(")")
                return Cmp(entity, key, "not_in" if negate else "in", tuple(values))
        raise self.error(f"expected a comparison after {ident} (=, !=, <, >, like, in, is null)", tok)


def parse_filter(text: str | None, attributes: dict[str, str] | None = None) -> Expr | None:
    """Parse a filter string; ``None`` or blank means no filter. ``attributes`` (name -> "str" or
    "num") replaces the run attributes for filters over other objects (experiments, models).

    Raises:
        InvalidArgument: with ``field="filter"`` and the position of the problem.
    """
    if text is None or not text.strip():
        return None
    if len(text) > 10_000:
        raise InvalidArgument("filter longer than 10000 characters", field="filter")
    return _Parser(text, "filter", attributes).parse()


def parse_order_by(
    items: list[str] | tuple[str, ...] | None, attributes: dict[str, str] | None = None
) -> list[OrderBy]:
    """Parse ``["metrics.auc DESC", "start_time"]`` into :class:`OrderBy` clauses."""
    result: list[OrderBy] = []
    for idx, raw in enumerate(items or ()):
        field = f"order_by[{idx}]"
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidArgument("an order_by clause must be a non-empty string", field=field)
        parser = _Parser(raw, field, attributes)
        entity, key, _kind, _tok = parser.parse_ident()
        descending = False
        if parser.at_word("desc", "asc"):
            descending = parser.take().text.lower() == "desc"
        if (extra := parser.peek()) is not None:
            raise parser.error(f"unexpected {extra.text!r}; write e.g. 'metrics.auc DESC'", extra)
        result.append(OrderBy(entity, key, descending))
    return result
