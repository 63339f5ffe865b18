"""Dataset digests name logical content; profiles agree with NumPy's own statistics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.errors import InvalidArgument
from shipyard.sdk.dataprep import QUANTILES, profile_table, schema_of, table_digest, to_arrow


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "x": rng.normal(size=500),
            "n": rng.integers(0, 1000, size=500),
            "city": rng.choice(["oslo", "lima", "pune"], size=500),
            "flag": rng.random(500) > 0.5,
        }
    )


def test_pandas_polars_and_arrow_views_of_one_table_share_a_digest() -> None:
    df = _frame()
    digest = table_digest(to_arrow(df))
    assert table_digest(to_arrow(pl.from_pandas(df))) == digest
    assert table_digest(pa.Table.from_pandas(df, preserve_index=False)) == digest


def test_layout_does_not_change_the_digest() -> None:
    table = to_arrow(_frame())
    digest = table_digest(table)
    rechunked = pa.concat_tables([table.slice(0, 17), table.slice(17, 200), table.slice(217)])
    assert rechunked.column("x").num_chunks == 3
    assert table_digest(rechunked) == digest
    encoded = table.set_column(2, "city", table.column("city").dictionary_encode())
    assert table_digest(encoded) == digest
    large = table.set_column(2, "city", table.column("city").cast(pa.large_string()))
    assert table_digest(large) == digest
    sliced = pa.concat_tables([table, table]).slice(len(table))  # a view with a non-zero offset
    assert table_digest(sliced) == digest


def test_bytes_under_null_slots_are_not_content() -> None:
    values = pa.array([1, 2, 3], pa.int64())
    # the same logical array [1, null, 3], once with 2 and once with 99 under the null slot
    validity = pa.py_buffer(bytes([0b101]))
    a = pa.Array.from_buffers(pa.int64(), 3, [validity, values.buffers()[1]])
    b = pa.Array.from_buffers(pa.int64(), 3, [validity, pa.array([1, 99, 3], pa.int64()).buffers()[1]])
    assert a.to_pylist() == b.to_pylist() == [1, None, 3]
    assert table_digest(pa.table({"v": a})) == table_digest(pa.table({"v": b}))


def test_any_changed_cell_order_name_or_type_changes_the_digest() -> None:
    df = _frame()
    digest = table_digest(to_arrow(df))
    last = df.copy()
    last.loc[len(df) - 1, "x"] += 1e-9  # the very last row: no sampling shortcut
    assert table_digest(to_arrow(last)) != digest
    assert table_digest(to_arrow(df.iloc[::-1].reset_index(drop=True))) != digest
    assert table_digest(to_arrow(df.rename(columns={"x": "y"}))) != digest
    assert table_digest(to_arrow(df.astype({"n": "float64"}))) != digest
    assert table_digest(to_arrow(df[["n", "x", "city", "flag"]])) != digest
    nulled = df.copy()
    nulled["city"] = nulled["city"].astype(object)
    nulled.loc[3, "city"] = None
    assert table_digest(to_arrow(nulled)) != digest


cells = st.one_of(st.none(), st.integers(-(2**40), 2**40))
texts = st.one_of(st.none(), st.text(max_size=8))


@settings(max_examples=60, deadline=None)
@given(
    ints=st.lists(cells, min_size=1, max_size=40),
    data=st.data(),
)
def test_digest_is_chunking_invariant_and_sees_every_cell(ints: list[int | None], data: st.DataObject) -> None:
    strs = data.draw(st.lists(texts, min_size=len(ints), max_size=len(ints)))
    table = pa.table({"i": pa.array(ints, pa.int64()), "s": pa.array(strs, pa.string())})
    digest = table_digest(table)
    cut = data.draw(st.integers(0, len(ints)))
    assert table_digest(pa.concat_tables([table.slice(0, cut), table.slice(cut)])) == digest
    row = data.draw(st.integers(0, len(ints) - 1))
    changed = list(ints)
    changed[row] = (ints[row] or 0) + 1 if ints[row] is not None else 0
    assert table_digest(table.set_column(0, "i", pa.array(changed, pa.int64()))) != digest
    other = list(strs)
    other[row] = None if strs[row] is not None else ""
    assert table_digest(table.set_column(1, "s", pa.array(other, pa.string()))) != digest


def test_profile_matches_numpy() -> None:
    df = _frame()
    df.loc[:49, "x"] = np.nan  # 10% missing
    prof = profile_table(to_arrow(df))
    x = df["x"].dropna().to_numpy()
    px = prof["x"]
    assert px["type"] == "double"
    assert math.isclose(px["missing"] + px.get("nan", 0.0), 0.1)
    assert px["min"] == x.min() and px["max"] == x.max()
    assert math.isclose(px["mean"], x.mean()) and math.isclose(px["std"], x.std())
    expected_q = np.quantile(x, QUANTILES)
    assert [px["quantiles"][str(q)] for q in QUANTILES] == pytest.approx(list(expected_q))
    assert sum(px["histogram"]["counts"]) == len(x)
    assert px["distinct"] == len(np.unique(x))
    counts = df["city"].value_counts()
    top = prof["city"]["top"]
    assert [t["value"] for t in top] == list(counts.index)
    assert [t["count"] for t in top] == list(counts.to_numpy())
    assert prof["city"]["distinct"] == 3
    assert prof["n"]["min"] == df["n"].min() and isinstance(prof["n"]["min"], int)
    assert {t["value"] for t in prof["flag"]["top"]} == {True, False}


def test_profile_of_empty_and_all_null_columns() -> None:
    prof = profile_table(pa.table({"a": pa.array([None, None], pa.float64())}))
    assert prof["a"] == {"type": "double", "missing": 1.0}
    empty = profile_table(pa.table({"b": pa.array([], pa.string())}))
    assert empty["b"] == {"type": "string", "missing": 0.0}


def test_arrays_and_unsupported_objects() -> None:
    one = to_arrow(np.arange(5))
    assert one is not None and one.column_names == ["value"]
    two = to_arrow(np.ones((4, 3)))
    assert two is not None and schema_of(two) == tuple({"name": str(i), "type": "double"} for i in range(3))
    assert to_arrow(np.ones((2, 2, 2))) is None  # logged as an n-d array, not a table
    with pytest.raises(InvalidArgument) as err:
        to_arrow({"not": "data"})
    assert err.value.field == "data"
