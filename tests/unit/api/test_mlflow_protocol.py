"""The MLflow API's parsing and searching pieces, without a server: field access, page tokens, the
in-memory filter evaluation (checked against SQLite's own LIKE), and the run filter rewrite."""

from __future__ import annotations

import math
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from shipyard.api.mlflow import wire
from shipyard.api.mlflow.protocol import Fields, MlflowError, error_response, parse_fields
from shipyard.api.mlflow.search import EXPERIMENT_FIELDS, _like, matches, page, parse, run_filter
from shipyard.domain.filters import parse_filter
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound

ASCII = st.text(alphabet=st.sampled_from("abcXYZ_%-.1 "), max_size=12)


@settings(max_examples=300)
@given(pattern=ASCII, value=st.text(alphabet=st.sampled_from("abcXYZ_-.1 "), max_size=12))
def test_like_agrees_with_sqlite(pattern: str, value: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA case_sensitive_like = ON")
    (sensitive,) = db.execute("SELECT ? LIKE ?", (value, pattern)).fetchone()
    db.execute("PRAGMA case_sensitive_like = OFF")
    (folded,) = db.execute("SELECT ? LIKE ?", (value, pattern)).fetchone()
    assert _like(pattern, value, fold=False) == bool(sensitive)
    assert _like(pattern, value, fold=True) == bool(folded)


@settings(max_examples=200)
@given(
    created=st.integers(0, 10**13),
    bound=st.integers(0, 10**13),
    op=st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
)
def test_numeric_comparisons_match_python(created: int, bound: int, op: str) -> None:
    expr = parse(f"creation_time {op} {bound}", EXPERIMENT_FIELDS)
    expected = {"=": created == bound, "!=": created != bound, "<": created < bound, "<=": created <= bound,
                ">": created > bound, ">=": created >= bound}[op]  # fmt: skip
    assert matches(expr, {"creation_time": created}, {}) is expected


def test_tags_and_boolean_structure() -> None:
    expr = parse("name LIKE 'churn%' AND (tags.team = 'growth' OR tags.team = 'ml')", EXPERIMENT_FIELDS)
    assert matches(expr, {"name": "churn-1"}, {"team": "ml"})
    assert not matches(expr, {"name": "churn-1"}, {"team": "ops"})
    assert not matches(expr, {"name": "fraud"}, {"team": "ml"})
    # as MLflow's registry search: an absent tag is "not equal" to any value
    assert matches(parse("tags.`mlflow.prompt.is_prompt` != 'true'", EXPERIMENT_FIELDS), {}, {})
    with pytest.raises(InvalidArgument):
        parse("metricz.x > 1", EXPERIMENT_FIELDS)
    with pytest.raises(MlflowError):  # experiments have no metrics
        matches(parse("metrics.x > 1", EXPERIMENT_FIELDS), {}, {})


@settings(max_examples=100)
@given(n=st.integers(0, 60), size=st.integers(1, 25))
def test_pages_cover_everything_once(n: int, size: int) -> None:
    items, seen, token = list(range(n)), [], ""
    while True:
        chunk, nxt = page(items, Fields({"max_results": size, "page_token": token}), what="x", default_size=9)
        seen += chunk
        if nxt is None:
            break
        token = nxt
    assert seen == items
    with pytest.raises(InvalidArgument):  # MLflow's INVALID_PARAMETER_VALUE on the wire
        page(items, Fields({"page_token": "not-a-token"}), what="x", default_size=size)
    if n > size:  # a token is refused by another search
        _, first = page(items, Fields({"max_results": size}), what="x", default_size=9)
        with pytest.raises(InvalidArgument):
            page(items, Fields({"page_token": first, "filter": "name = 'y'"}), what="x", default_size=9)


def test_run_filter_rewrites_mlflow_words() -> None:
    assert run_filter("attributes.user_id = 'ann'") == "created_by = 'ann'"
    assert run_filter("dataset.context = 'training' and metrics.acc > 1") == (
        "dataset.context = 'train' and metrics.acc > 1"
    )
    parsed = parse_filter(run_filter("dataset.context = 'training'"))
    assert (parsed.entity, parsed.key, parsed.value) == ("dataset", "role", "train")  # type: ignore[union-attr]


def test_fields_read_query_strings_and_json() -> None:
    f = parse_fields("POST", QueryParams("experiment_ids=1&experiment_ids=2"), b'{"max_results": "5", "flag": true}')
    assert f.texts("experiment_ids") == ["1", "2"]
    assert f.integer("max_results") == 5 and f.flag("flag") is True
    with pytest.raises(MlflowError, match="'name'"):
        f.text("name", required=True)
    with pytest.raises(MlflowError, match="integer"):
        Fields({"max_results": "many"}).integer("max_results")
    with pytest.raises(MlflowError, match="key"):
        Fields({"tags": [{"value": "v"}]}).kv("tags")
    with pytest.raises(MlflowError) as bad:
        parse_fields("POST", QueryParams(""), b"{oops")
    assert bad.value.error_code == "MALFORMED_REQUEST"


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        (NotFound("x"), "RESOURCE_DOES_NOT_EXIST", 404),
        (AlreadyExists("x"), "RESOURCE_ALREADY_EXISTS", 400),
        (InvalidArgument("x", field="f"), "INVALID_PARAMETER_VALUE", 400),
        (Conflict("x"), "INVALID_PARAMETER_VALUE", 400),
        (RuntimeError("boom"), "INTERNAL_ERROR", 500),
    ],
)
def test_errors_take_mlflows_shape(exc: Exception, code: str, status: int) -> None:
    import orjson

    response = error_response(exc)
    body = orjson.loads(response.body)
    assert (response.status_code, body["error_code"]) == (status, code)
    assert "boom" not in body["message"]  # no internals leak


def test_non_finite_metrics_are_protobuf_json() -> None:
    assert [wire.number(v) for v in (1.5, math.nan, math.inf, -math.inf)] == [1.5, "NaN", "Infinity", "-Infinity"]
