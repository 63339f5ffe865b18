from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.domain.artifacts import check_artifact_path
from shipyard.domain.pagination import decode_page_token, encode_page_token
from shipyard.domain.tracking import (
    MetricBatch,
    RunStatus,
    check_key,
    check_metric,
    check_param_value,
    check_transition,
)
from shipyard.errors import Conflict, InvalidArgument


@pytest.mark.parametrize("key", ["auc", "val/loss", "a.b-c_d e", "x" * 250])
def test_valid_keys(key: str) -> None:
    assert check_key(key, "k") == key


@pytest.mark.parametrize("key", ["", "x" * 251, "a\nb", "/abs", "a/../b", "ü", 3, None])
def test_invalid_keys_are_rejected_with_the_field(key: object) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_key(key, "params.k")
    assert info.value.field == "params.k"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 0, -1.5, 10**300])
def test_metric_values_accept_nan_and_infinities(value: float) -> None:
    m = check_metric("k", value, 0, 0, "m")
    assert math.isnan(m.value) if value != value else m.value == float(value)


@pytest.mark.parametrize(
    ("value", "step", "ts", "field"),
    [
        ("1.0", 0, 0, "m.value"),
        (True, 0, 0, "m.value"),
        (None, 0, 0, "m.value"),
        (1.0, 1.5, 0, "m.step"),
        (1.0, 2**64, 0, "m.step"),
        (1.0, 0, -1, "m.timestamp"),
        (1.0, 0, "now", "m.timestamp"),
    ],
)
def test_bad_metric_points_name_the_bad_part(value: object, step: object, ts: object, field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_metric("k", value, step, ts, "m")
    assert info.value.field == field


def test_param_values_become_strings_and_are_bounded() -> None:
    assert check_param_value(0.1, "p") == "0.1"
    assert check_param_value(True, "p") == "True"
    with pytest.raises(InvalidArgument):
        check_param_value("x" * 6001, "p")
    with pytest.raises(InvalidArgument):
        check_param_value({"a": 1}, "p")


def test_terminal_status_is_final() -> None:
    check_transition(RunStatus.RUNNING, RunStatus.FAILED, "r")
    check_transition(RunStatus.FINISHED, RunStatus.FINISHED, "r")
    with pytest.raises(Conflict):
        check_transition(RunStatus.FINISHED, RunStatus.RUNNING, "r")
    with pytest.raises(InvalidArgument):
        RunStatus.parse("DONE")


def test_latest_point_per_key_is_highest_step_then_newest() -> None:
    batch = MetricBatch(["a", "a", "b", "a", "b"], [1.0, 2.0, 3.0, 9.0, 4.0], [5, 7, 1, 7, 1], [10, 10, 5, 9, 6])
    latest = batch.latest()
    assert latest["a"].value == 2.0  # step 7 twice: the newer timestamp wins
    assert latest["b"].value == 4.0
    single = MetricBatch(["a"] * 3, [1.0, 2.0, 3.0], [2, 2, 1], [5, 5, 9])
    assert single.latest()["a"].value == 2.0  # tie on (step, ts): the later point wins


@given(st.text(max_size=40))
def test_artifact_paths_are_either_clean_relative_paths_or_rejected(path: str) -> None:
    try:
        checked = check_artifact_path(path)
    except InvalidArgument as exc:
        assert exc.field == "path"
        return
    parts = checked.split("/")
    assert not checked.startswith("/")
    assert all(p not in ("", ".", "..") for p in parts)
    assert "\\" not in checked
    assert "\x00" not in checked


@pytest.mark.parametrize("path", ["../etc/passwd", "a/../../b", "/etc/passwd", "C:/x", "a\\..\\b", "a//b", "./a", ""])
def test_traversal_paths_are_rejected(path: str) -> None:
    with pytest.raises(InvalidArgument):
        check_artifact_path(path)


@given(st.integers(min_value=0, max_value=10**9))
def test_page_tokens_round_trip_and_are_bound_to_their_query(offset: int) -> None:
    token = encode_page_token(offset, "q1")
    assert decode_page_token(token, "q1") == offset
    with pytest.raises(InvalidArgument):
        decode_page_token(token, "q2")


@pytest.mark.parametrize("token", ["garbage!", "e30", "eyJvIjotMSwicSI6InExIn0"])
def test_forged_page_tokens_are_rejected(token: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        decode_page_token(token, "q1")
    assert info.value.field == "page_token"
