"""Inputs checked against a signature: inferred from examples, widened safely, refused by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from shipyard.domain.signature import ColumnSpec, Signature, TensorSpec
from shipyard.errors import InvalidArgument
from shipyard.flavors.signature import as_columns, enforce, infer_signature


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"age": [31, 45], "income": [1.5, 2.5], "city": ["oslo", "lima"], "vip": [True, False]})


def test_inference_from_pandas_polars_arrow_and_records_agrees() -> None:
    df = _frame()
    sig = infer_signature(df)
    assert sig.inputs == (
        ColumnSpec("age", "int64"),
        ColumnSpec("income", "float64"),
        ColumnSpec("city", "string"),
        ColumnSpec("vip", "bool"),
    )
    for other in (pl.from_pandas(df), pa.Table.from_pandas(df, preserve_index=False), df.to_dict(orient="records")):
        assert infer_signature(other).inputs == sig.inputs
    tensor = infer_signature(np.zeros((4, 3, 2), dtype=np.float32))
    assert tensor.inputs == TensorSpec("float32", (-1, 3, 2))


def test_columns_come_back_in_signature_order_and_extra_columns_are_ignored() -> None:
    sig = infer_signature(_frame())
    shuffled = _frame()[["vip", "city", "income", "age"]].assign(extra=0)
    cols = enforce(sig, shuffled)
    assert isinstance(cols, dict) and list(cols) == ["age", "income", "city", "vip"]


def test_refusals_name_the_column() -> None:
    sig = infer_signature(_frame())
    cases = {
        "age": _frame().drop(columns=["age"]),
        "income": _frame().astype({"income": str}),
        "city": _frame().assign(city=[1, 2]),
    }
    for column, data in cases.items():
        with pytest.raises(InvalidArgument) as err:
            enforce(sig, data)
        assert err.value.field == column, (column, err.value)
    with pytest.raises(InvalidArgument) as err:
        enforce(sig, _frame().assign(age=[1.0, 2.5]))  # float into int would truncate
    assert err.value.field == "age"
    with pytest.raises(InvalidArgument) as err:
        enforce(sig, _frame().assign(city=["oslo", None]))  # not nullable in the example
    assert err.value.field == "city" and "missing" in str(err.value)


def test_widening_is_applied() -> None:
    sig = infer_signature(_frame())
    cols = enforce(sig, _frame().astype({"age": "int16", "income": "float32"}))
    assert isinstance(cols, dict)
    assert cols["age"].dtype == np.int64 and cols["income"].dtype == np.float64


def test_tensors_check_rank_shape_and_type() -> None:
    sig = Signature(TensorSpec("float64", (-1, 4)))
    assert enforce(sig, np.ones((2, 4), dtype=np.float32)).dtype == np.float64  # type: ignore[union-attr]
    assert enforce(sig, [1.0, 2.0, 3.0, 4.0]).shape == (1, 4)  # type: ignore[union-attr]
    for bad in (np.ones((2, 5)), np.ones((2, 4, 1)), np.array([["a"] * 4])):
        with pytest.raises(InvalidArgument):
            enforce(sig, bad)


@given(hnp.arrays(dtype=hnp.integer_dtypes(endianness="="), shape=hnp.array_shapes(min_dims=1, max_dims=1)))
def test_any_integer_column_fits_a_float64_or_int64_column_or_is_refused_by_name(values: np.ndarray) -> None:
    for wanted in ("int64", "float64"):
        sig = Signature((ColumnSpec("x", wanted),))
        try:
            cols = enforce(sig, {"x": values})
        except InvalidArgument as exc:
            assert exc.field == "x"
        else:
            assert isinstance(cols, dict)
            np.testing.assert_array_equal(cols["x"], values)  # a widening keeps every value exactly


@given(st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=1, max_size=10))
def test_object_columns_are_typed_by_their_values(values: list[str | None]) -> None:
    cols = as_columns({"s": values})
    sig = Signature((ColumnSpec("s", "string", nullable=True),))
    assert list(enforce(sig, cols)["s"]) == values  # type: ignore[index]
