from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.domain.filters import And, Cmp, Or, OrderBy, parse_filter, parse_order_by
from shipyard.errors import InvalidArgument


def test_the_documented_example_parses_to_three_comparisons() -> None:
    expr = parse_filter('metrics.auc > 0.9 and params.model = "rf" and tags.team = "x"')
    assert expr == And((Cmp("metric", "auc", ">", 0.9), Cmp("param", "model", "=", "rf"), Cmp("tag", "team", "=", "x")))


def test_or_binds_looser_than_and_and_parentheses_group() -> None:
    expr = parse_filter('status = "FINISHED" or metrics.a < 1 and metrics.b >= 2')
    assert isinstance(expr, Or)
    assert isinstance(expr.items[1], And)
    grouped = parse_filter('(status = "FINISHED" or metrics.a < 1) and metrics.b >= 2')
    assert isinstance(grouped, And)
    assert isinstance(grouped.items[0], Or)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.`val loss` <= -1e-3", Cmp("metric", "val loss", "<=", -0.001)),
        ('metrics."val loss" = 2', Cmp("metric", "val loss", "=", 2.0)),
        ("metrics.train/loss != 0", Cmp("metric", "train/loss", "!=", 0.0)),
        ("start_time >= 1700000000000", Cmp("attribute", "start_time", ">=", 1.7e12)),
        ("attributes.run_name like 'base%'", Cmp("attribute", "name", "like", "base%")),
        ("params.model in ('rf', \"gbm\")", Cmp("param", "model", "in", ("rf", "gbm"))),
        ("tags.team not in ('a')", Cmp("tag", "team", "not_in", ("a",))),
        ("tags.owner is null", Cmp("tag", "owner", "is_null", None)),
        ("metrics.auc IS NOT NULL", Cmp("metric", "auc", "is_not_null", None)),
        ("metrics.loss < inf", Cmp("metric", "loss", "<", float("inf"))),
        ("params.note = 'it\\'s'", Cmp("param", "note", "=", "it's")),
        ("metrics.auc == 1", Cmp("metric", "auc", "=", 1.0)),
    ],
)
def test_single_conditions(text: str, expected: Cmp) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('metrics.auc > "x"', "holds numbers"),
        ("params.lr = 0.1", 'quote the value: params.lr = "0.1"'),
        ("unknown_field = 1", "unknown field"),
        ("metrics.auc >", "unexpected end"),
        ("metrics.a > 1 metrics.b < 2", "join conditions"),
        ("metrics.a > 1 and", "unexpected end"),
        ("(metrics.a > 1", "expected ')'"),
        ("metrics. > 1", "needs a key"),
        ("params.x like 1", "quote the value"),
        ("metrics.x like 'a'", "compares strings"),
        ("params.x < 'a'", "holds strings"),
        ("$", "unexpected character"),
        ("tags.x is 'y'", "expected null"),
    ],
)
def test_malformed_filters_name_the_field_and_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_filter(text)
    assert info.value.field == "filter"
    assert fragment in info.value.message


def test_blank_filter_means_no_filter() -> None:
    assert parse_filter(None) is None
    assert parse_filter("   ") is None


def test_order_by_clauses() -> None:
    assert parse_order_by(["metrics.auc DESC", "start_time", "params.model asc"]) == [
        OrderBy("metric", "auc", True),
        OrderBy("attribute", "start_time", False),
        OrderBy("param", "model", False),
    ]
    with pytest.raises(InvalidArgument) as info:
        parse_order_by(["metrics.auc sideways"])
    assert info.value.field == "order_by[0]"


_keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True)
_nums = st.floats(allow_nan=False, allow_infinity=False, width=64)
_strs = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)


@st.composite
def _conditions(draw: st.DrawFn) -> tuple[str, Cmp]:
    entity = draw(st.sampled_from(["metric", "param", "tag"]))
    key = draw(_keys)
    if entity == "metric":
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        value: float | str = draw(_nums)
        literal = repr(value)
    else:
        op = draw(st.sampled_from(["=", "!=", "like", "ilike"]))
        value = draw(_strs)
        literal = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{entity}s.{key} {op} {literal}", Cmp(entity, key, op, value)


@given(st.lists(_conditions(), min_size=1, max_size=5), st.sampled_from([" and ", " AND ", " or "]))
@settings(max_examples=200)
def test_generated_filters_round_trip_to_their_ast(conds: list[tuple[str, Cmp]], joiner: str) -> None:
    text = joiner.join(t for t, _ in conds)
    expr = parse_filter(text)
    expected = [c for _, c in conds]
    if len(expected) == 1:
        assert expr == expected[0]
    else:
        assert isinstance(expr, And | Or)
        assert list(expr.items) == expected


@given(st.text(max_size=60))
@settings(max_examples=500)
def test_arbitrary_text_parses_or_raises_invalid_argument(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidArgument as exc:
        assert exc.field == "filter"
