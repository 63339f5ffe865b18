"""Dataset rules: names, roles, version facts, summaries and run-to-run differences."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.domain.datasets import (
    ROLES,
    DatasetInput,
    DatasetKind,
    DatasetVersion,
    check_dataset_name,
    check_role,
    check_version,
    check_version_ref,
    diff_inputs,
    summarize,
    version_numbers,
)
from shipyard.errors import InvalidArgument

D1, D2, D3 = "a" * 64, "b" * 64, "c" * 64


def _version(digest: str = D1, **kw: object) -> DatasetVersion:
    base = DatasetVersion(
        digest=digest,
        kind=DatasetKind.TABLE,
        format="parquet",
        rows=3,
        size=100,
        schema=({"name": "x", "type": "double"}, {"name": "y", "type": "string"}),
        profile={"x": {"type": "double", "missing": 0.0}},
        blob=digest,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_names_are_accepted_or_rejected_with_the_field(name: str) -> None:
    try:
        assert check_dataset_name(name) == name
    except InvalidArgument as exc:
        assert exc.field == "name"
        assert not name or len(name) > 250 or not name[0].isascii() or not name[0].isalnum() or any(
            not (c.isascii() and (c.isalnum() or c in "_-. /")) for c in name
        )


def test_roles() -> None:
    for role in ROLES:
        assert check_role(role) == role
    with pytest.raises(InvalidArgument) as err:
        check_role("training")
    assert err.value.field == "role"
    assert "train, validation, test" in str(err.value)


@given(st.text(max_size=70))
def test_version_refs_are_hex_prefixes_of_six_or_more(ref: str) -> None:
    ok = 6 <= len(ref) <= 64 and all(c in "0123456789abcdef" for c in ref)
    if ok:
        assert check_version_ref(ref) == ref
    else:
        with pytest.raises(InvalidArgument):
            check_version_ref(ref)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"digest": "xyz"}, "dataset.digest"),
        ({"blob": "A" * 64}, "dataset.blob"),
        ({"format": ""}, "dataset.format"),
        ({"rows": -1}, "dataset.rows"),
        ({"rows": True}, "dataset.rows"),
        ({"size": 2**63}, "dataset.size"),
        ({"schema": ({"name": "x", "type": "double"}, {"name": "x", "type": "int64"})}, "dataset.schema[1]"),
        ({"schema": ({"name": "x"},)}, "dataset.schema[0]"),
        ({"profile": {"nope": {}}}, "dataset.profile"),
        ({"source": "s" * 1001}, "dataset.source"),
    ],
)
def test_bad_version_facts_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        check_version(_version(**change))
    assert err.value.field == field


def test_a_good_version_passes_unchanged() -> None:
    v = _version(rows=None, schema=(), profile={"_table": {"files": 2}})
    assert check_version(v) is v


def test_diff_inputs_reports_changed_added_removed_and_schema_changes() -> None:
    a = [
        DatasetInput("r1", "iris", "train", D1, 1, _version(D1)),
        DatasetInput("r1", "iris", "test", D2, 1, _version(D2)),
        DatasetInput("r1", "extra", "other", D3, 1, _version(D3)),
    ]
    changed = _version(D3, rows=5, schema=({"name": "x", "type": "int64"}, {"name": "z", "type": "string"}))
    b = [
        DatasetInput("r2", "iris", "train", D1, 2, _version(D1)),
        DatasetInput("r2", "iris", "test", D3, 2, changed),
    ]
    changes = {key: (va, vb) for key, va, vb in diff_inputs(a, b)}
    assert "iris (train)" not in changes  # same digest: the same data
    assert changes["iris (test)"][0]["digest"] == D2 and changes["iris (test)"][1]["rows"] == 5
    assert changes["iris (test) columns"] == (["y"], ["z"])
    assert changes["iris (test) column x type"] == ("double", "int64")
    assert changes["extra (other)"][1] is None
    assert diff_inputs(a, a) == []


def test_summaries_and_version_numbers() -> None:
    inputs = [
        DatasetInput("r1", "iris", "train", D1, 10),
        DatasetInput("r2", "iris", "train", D2, 20),
        DatasetInput("r3", "iris", "test", D1, 30),
        DatasetInput("r3", "wine", "train", D3, 5),
    ]
    by_name = {s.name: s for s in summarize(inputs)}
    assert (by_name["iris"].versions, by_name["iris"].runs, by_name["iris"].latest_digest) == (2, 3, D1)
    assert by_name["wine"].last_logged_at == 5
    assert version_numbers([i for i in inputs if i.name == "iris"]) == {D1: 1, D2: 2}
