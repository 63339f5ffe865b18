"""Model references, names, aliases, signatures and bundle manifests: the rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.domain.bundle import BundleManifest, FileEntry, check_bundle_files
from shipyard.domain.registry import ModelRef, check_alias, parse_model_ref
from shipyard.domain.signature import DTYPES, ColumnSpec, Signature, TensorSpec, can_widen
from shipyard.errors import IntegrityError, InvalidArgument

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,30}", fullmatch=True)
aliases = st.from_regex(r"[A-Za-z][A-Za-z0-9_\-]{0,20}", fullmatch=True).filter(lambda a: a.lower() != "latest")


@given(names, st.integers(1, 2**31 - 1))
def test_version_refs_round_trip(name: str, version: int) -> None:
    ref = parse_model_ref(f"models:/{name}/{version}")
    assert ref == ModelRef(name, version=version)
    assert parse_model_ref(str(ref)) == ref
    assert parse_model_ref(f"{name}/{version}") == ref


@given(names, aliases)
def test_alias_refs_round_trip(name: str, alias: str) -> None:
    ref = parse_model_ref(f"models:/{name}@{alias}")
    assert ref == ModelRef(name, alias=alias) and parse_model_ref(str(ref)) == ref


@given(st.text(max_size=40))
def test_any_text_parses_or_names_the_field(text: str) -> None:
    try:
        ref = parse_model_ref(text)
    except InvalidArgument as exc:
        assert exc.field == "ref"
    else:
        assert ref.name and (ref.version is None or ref.version > 0)


def test_latest_and_bare_names() -> None:
    assert parse_model_ref("models:/churn/latest").latest
    assert parse_model_ref("churn").latest
    for bad in ("models:/churn/0", "models:/churn/-1", "models:/churn/x", "models:/", "churn@1abc", "a b"):
        with pytest.raises(InvalidArgument):
            parse_model_ref(bad)
    with pytest.raises(InvalidArgument):
        check_alias("Latest")


@given(st.sampled_from(sorted(DTYPES)), st.sampled_from(sorted(DTYPES)))
def test_widening_never_narrows_or_changes_kind(given_: str, wanted: str) -> None:
    if can_widen(given_, wanted):
        assert given_ == wanted or (given_[0] in "iuf" and wanted[0] in "iuf")
        if given_.startswith("float"):
            assert wanted.startswith("float") and int(wanted[5:]) >= int(given_[5:])
    assert can_widen(given_, given_)


def test_widening_examples() -> None:
    assert can_widen("int32", "int64") and can_widen("int32", "float64") and can_widen("float32", "float64")
    assert not can_widen("int64", "float64")  # 2**53 + 1 has no float64
    assert not can_widen("float64", "float32") and not can_widen("float64", "int64")
    assert not can_widen("string", "float64") and not can_widen("bool", "int64")


def test_signature_dict_round_trip_and_validation() -> None:
    sig = Signature((ColumnSpec("age", "int64"), ColumnSpec("city", "string", True)), TensorSpec("float64", (-1,)))
    assert Signature.from_dict(sig.to_dict()) == sig
    assert sig.describe() == [("age", "int64"), ("city", "string (nullable)")]
    with pytest.raises(InvalidArgument) as err:
        Signature.from_dict({"inputs": {"columns": [{"name": "a", "type": "decimal"}]}})
    assert err.value.field == "signature.inputs.columns[0].type"
    with pytest.raises(InvalidArgument):
        Signature.from_dict({"inputs": {"columns": [{"name": "a", "type": "int64"}, {"name": "a", "type": "int64"}]}})


def test_manifest_digest_is_canonical_and_checks_name_the_file() -> None:
    files = {"model/m.bin": FileEntry("a" * 64, 10), "MODEL_CARD.md": FileEntry("b" * 64, 3)}
    m = BundleManifest("python", files, {"pickle": "m.bin"}, requirements=("numpy==2.0",), python_version="3.11.7")
    again = BundleManifest.from_json(m.to_json())
    assert again == m and again.digest == m.digest
    check_bundle_files(m, files)
    with pytest.raises(IntegrityError, match=r"model/m\.bin"):
        check_bundle_files(m, {**files, "model/m.bin": FileEntry("c" * 64, 10)})
    with pytest.raises(IntegrityError, match=r"MODEL_CARD\.md"):
        check_bundle_files(m, {"model/m.bin": files["model/m.bin"]})
    with pytest.raises(IntegrityError, match=r"extra\.py"):
        check_bundle_files(m, {**files, "extra.py": FileEntry("d" * 64, 1)})
    with pytest.raises(IntegrityError):
        BundleManifest.from_json(b'{"format": "other"}')
