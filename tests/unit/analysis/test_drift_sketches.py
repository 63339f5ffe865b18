"""Sketches and accumulators: kinds, JSON round trips, streaming equivalence, data-quality fields."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.analysis.drift import compare, compare_tables, reference_sketches
from shipyard.analysis.sketches import (
    CategoricalSketch,
    NumericSketch,
    accumulator_for,
    sketch_from_dict,
)


def test_kinds_follow_the_arrow_type() -> None:
    table = pa.table(
        {
            "i": pa.array([1, 2, 3], pa.int16()),
            "f": [0.5, 1.5, None],
            "s": ["a", "b", None],
            "d": pa.array(["x", "y", "x"]).dictionary_encode(),
            "b": [True, False, True],
            "t": pa.array([1, 2, 3], pa.timestamp("ms")),
        }
    )
    sketches = reference_sketches(table)
    assert {k: v.kind for k, v in sketches.items()} == {
        "i": "numeric",
        "f": "numeric",
        "s": "categorical",
        "d": "categorical",
        "b": "categorical",
    }
    assert sketches["b"].categories == {"true": 2, "false": 1}  # type: ignore[union-attr]
    assert (sketches["f"].n, sketches["f"].missing) == (3, 1)


def test_numeric_sketch_keeps_small_samples_whole_and_bins_large_ones() -> None:
    rng = np.random.default_rng(1)
    small = NumericSketch.from_values(rng.normal(size=500))
    assert small.values is not None and small.values.size == 500
    large = NumericSketch.from_values(rng.normal(size=50_000))
    assert large.values is None
    assert large.edges.size == 1001 and large.counts.sum() == 50_000
    assert large.counts[1:].max() <= 60  # about 1/1000 of the reference per bin
    assert large.sums.sum() == pytest.approx(large.mean * 50_000)


def test_categorical_sketch_caps_categories_with_an_other_bucket() -> None:
    values = [f"c{i}" for i in range(30) for _ in range(i + 1)]
    sketch = CategoricalSketch.from_values(values, max_categories=10)
    assert len(sketch.categories) == 10 and "c29" in sketch.categories
    assert sum(sketch.categories.values()) + sketch.other == len(values)


def test_sketches_round_trip_through_json() -> None:
    rng = np.random.default_rng(2)
    y = np.r_[rng.normal(size=300), [np.nan] * 19_700]  # a small sample, kept whole
    table = pa.table({"x": rng.normal(size=20_000), "y": y, "c": rng.choice(["a", "b"], 20_000)})
    sketches = reference_sketches(table)
    restored = {k: sketch_from_dict(json.loads(json.dumps(v.to_dict()))) for k, v in sketches.items()}
    batch = pa.record_batch({"x": rng.normal(0.1, size=5000), "c": rng.choice(["a", "b", "z"], 5000)})
    assert compare_tables(restored, [batch]) == compare_tables(sketches, [batch])
    with pytest.raises(ValueError, match="unknown sketch kind"):
        sketch_from_dict({"kind": "text"})


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 6), st.sampled_from([0, 10_000]))
def test_streaming_in_batches_equals_one_batch(seed: int, parts: int, exact_limit: int) -> None:
    rng = np.random.default_rng(seed)
    ref = reference_sketches({"x": rng.normal(size=1200), "c": rng.choice(["a", "b", "c"], 1200)})
    x = rng.normal(0.2, size=4000)
    x[rng.random(4000) < 0.05] = np.nan
    c = rng.choice(["a", "b", "c", "d"], 4000)
    whole = compare_tables(ref, [pa.record_batch({"x": x, "c": c})], exact_limit=exact_limit)
    cuts = np.sort(rng.integers(0, 4000, parts - 1))
    batches = [pa.record_batch({"x": xs, "c": cs}) for xs, cs in zip(np.split(x, cuts), np.split(c, cuts), strict=True)]
    streamed = compare_tables(ref, batches, exact_limit=exact_limit)
    for a, b in zip(whole, streamed, strict=True):
        assert a["current"] == b["current"] and a["quality"] == b["quality"]
        for ta, tb in zip(a["tests"], b["tests"], strict=True):
            assert ta["statistic"] == pytest.approx(tb["statistic"], rel=1e-9, abs=1e-12)


def test_accumulators_take_numpy_arrow_and_chunked_inputs() -> None:
    sketch = NumericSketch.from_values(np.arange(100.0))
    acc = accumulator_for(sketch)
    acc.update(np.arange(10))
    acc.update(pa.array([10.0, None, 12.0]))
    acc.update(pa.chunked_array([pa.array([13, 14], pa.int32()), pa.array([15], pa.int32())]))
    acc.update([16.0, 17.0])
    assert (acc.n, acc.missing, acc.count) == (18, 1, 17)
    assert acc.values is not None and acc.values.tolist() == [float(v) for v in range(18) if v != 11]


def test_numeric_quality_missing_out_of_range_and_type_violations() -> None:
    sketch = NumericSketch.from_values(np.linspace(0, 10, 1000))
    acc = accumulator_for(sketch)
    acc.update(np.array([np.nan, -1.0, 11.0, 5.0, np.inf, 0.0, 10.0, 3.0]))  # 1 missing, 1 inf, 2 outside
    acc.update(pa.array(["1.5", "oops", None]))  # strings where numbers were: 2 violations, 1 missing
    acc.add_missing(2)  # a batch without the column
    result = compare("x", sketch, acc)
    quality = result["quality"]
    assert acc.n == 13
    assert quality["missing_share"] == pytest.approx(4 / 13)
    assert quality["type_violations"] == 3
    assert quality["out_of_range_share"] == pytest.approx(2 / 6)
    assert quality["unseen_categories"] == [] and quality["unseen_share"] is None
    edges = result["current"]["histogram"]["edges"]
    assert edges[0] == -1.0 and edges[-1] == 11.0  # the outer bins show the out-of-range values
    assert sum(result["current"]["histogram"]["counts"]) == 6
    assert result["reference"]["histogram"]["counts"][0] == 0 and result["reference"]["histogram"]["counts"][-1] == 0


def test_categorical_quality_unseen_and_type_violations() -> None:
    sketch = CategoricalSketch.from_values(["a"] * 50 + ["b"] * 50)
    acc = accumulator_for(sketch)
    acc.update(pa.array(["a", "b", "new", "new", "other", None]))
    acc.update(np.array([1.0, 2.0]))  # numbers where categories were
    acc.update(pa.array(["a", "newer"]).dictionary_encode())
    result = compare("c", sketch, acc)
    quality = result["quality"]
    assert quality["unseen_categories"] == ["new", "newer", "other"]
    assert quality["unseen_share"] == pytest.approx(4 / 7)
    assert quality["type_violations"] == 2
    assert quality["missing_share"] == pytest.approx(1 / 10)
    assert quality["out_of_range_share"] is None
    assert result["current"]["categories"] == {"a": 2, "b": 1, "(unseen)": 4}
    assert result["reference"]["categories"] == {"a": 50, "b": 50, "(unseen)": 0}


def test_mixed_python_objects_count_as_violations_without_crashing() -> None:
    sketch = NumericSketch.from_values(np.arange(10.0))
    acc = accumulator_for(sketch)
    acc.update(np.array([1.0, "x", None], dtype=object))
    assert acc.type_violations == 3 and acc.count == 0
    result = compare("x", sketch, acc)
    assert result["tests"] == [] and result["drift"] is False


def test_a_column_absent_from_the_current_data_is_all_missing() -> None:
    ref = reference_sketches({"x": np.arange(100.0), "c": ["a", "b"] * 50})
    (x, c) = compare_tables(ref, [pa.record_batch({"other": [1, 2, 3]})])
    for result in (x, c):
        assert result["current"]["n"] == 3 and result["quality"]["missing_share"] == 1.0
        assert result["tests"] == [] and "no current values" in result["chosen_because"]


def test_constant_and_empty_reference_columns() -> None:
    constant = NumericSketch.from_values(np.full(100, 3.0))
    acc = accumulator_for(constant)
    acc.update(np.array([3.0, 3.0, 4.0]))
    result = compare("k", constant, acc)
    assert all(np.isfinite(t["statistic"]) for t in result["tests"])
    normed = next(t for t in result["tests"] if t["method"] == "wasserstein")["statistic"]
    assert normed == pytest.approx((1 / 3) / 3.0)  # std 0: divided by |mean|
    empty = NumericSketch.from_values(np.full(5, np.nan))
    acc = accumulator_for(empty)
    acc.update(np.array([1.0, 2.0]))
    result = compare("e", empty, acc)
    assert result["tests"] == [] and result["quality"]["out_of_range_share"] is None
    json.dumps(result)
