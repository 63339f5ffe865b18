"""Statistical behaviour of the drift engine: nominal false-positive rates, injected shifts found on
the exact and the streamed (binned) paths, binned statistics within their documented bounds."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from shipyard.analysis.drift import binned_statistics, choose_tests, compare, compare_tables, reference_sketches
from shipyard.analysis.sketches import CategoricalSketch, NumericSketch, accumulator_for
from shipyard.errors import InvalidArgument

ALPHA = 0.05
TRIALS = 400
# 400 Bernoulli(0.05) trials: sd 0.011; 3 sd either side (the tests are seeded, so never flaky)
LOW, HIGH = ALPHA - 3 * np.sqrt(ALPHA * (1 - ALPHA) / TRIALS), ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / TRIALS)
CATS = np.array(["red", "green", "blue", "black", "white"])


def _numeric(values: np.ndarray, current: np.ndarray, **kwargs: object) -> dict:
    sketch = NumericSketch.from_values(values, **kwargs)  # type: ignore[arg-type]
    acc = accumulator_for(sketch, exact_limit=int(kwargs.get("exact_limit", 10_000)))  # type: ignore[call-overload]
    acc.update(current)
    return compare("x", sketch, acc)


def _categorical(values: np.ndarray, current: np.ndarray) -> dict:
    sketch = CategoricalSketch.from_values(values)
    acc = accumulator_for(sketch)
    acc.update(current)
    return compare("c", sketch, acc)


def _test(result: dict, method: str) -> dict:
    return next(t for t in result["tests"] if t["method"] == method)


# False-positive rate under no drift ----------------------------------------------------------------------
def test_ks_false_positive_rate_is_nominal() -> None:
    rng = np.random.default_rng(11)
    rejected = 0
    for _ in range(TRIALS):
        result = _numeric(rng.normal(size=300), rng.normal(size=200))
        assert result["tests"][0]["method"] == "ks"
        rejected += result["drift"]
    assert LOW <= rejected / TRIALS <= HIGH


def test_chi2_false_positive_rate_is_nominal() -> None:
    rng = np.random.default_rng(12)
    mix = [0.4, 0.3, 0.15, 0.1, 0.05]
    rejected = 0
    for _ in range(TRIALS):
        result = _categorical(rng.choice(CATS, 400, p=mix), rng.choice(CATS, 300, p=mix))
        assert result["tests"][0]["method"] == "chi2"
        rejected += result["drift"]
    assert LOW <= rejected / TRIALS <= HIGH


def test_binned_ks_false_positive_rate_is_at_most_nominal() -> None:
    """Without exact values the binned statistic is a lower bound of the exact one, so the test can
    only be more conservative; with fine bins it stays close to nominal."""
    rng = np.random.default_rng(13)
    rejected = 0
    for _ in range(TRIALS // 2):
        result = _numeric(rng.normal(size=12_000), rng.normal(size=11_000), exact_limit=0)
        rejected += _test(result, "ks")["drift"]
    assert rejected / (TRIALS // 2) <= HIGH


# Injected shifts ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("loc", "scale"), [(0.3, 1.0), (0.0, 1.6)], ids=["mean", "variance"])
def test_exact_path_detects_numeric_shifts(loc: float, scale: float) -> None:
    rng = np.random.default_rng(21)
    result = _numeric(rng.normal(size=800), rng.normal(loc, scale, size=600))
    assert "exact" in result["chosen_because"]
    assert result["drift"] and result["tests"][0]["method"] == "ks"
    assert _test(result, "ks")["p_value"] < 0.01


def test_exact_path_detects_category_mix_change() -> None:
    rng = np.random.default_rng(22)
    result = _categorical(rng.choice(CATS, 800), rng.choice(CATS, 600, p=[0.35, 0.25, 0.2, 0.1, 0.1]))
    assert result["drift"] and result["tests"][0]["method"] == "chi2"


def _stream(rng: np.random.Generator, loc: float, scale: float, mix: list[float] | None) -> Iterator[pa.RecordBatch]:
    for _ in range(10):
        n = 100_000
        codes = rng.choice(len(CATS), n, p=mix)
        yield pa.record_batch(
            {
                "num": rng.normal(loc, scale, n),
                "cat": pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(CATS)),
            }
        )


@pytest.fixture(scope="module")
def reference() -> dict:
    rng = np.random.default_rng(30)
    table = pa.table({"num": rng.normal(size=100_000), "cat": rng.choice(CATS, 100_000)})
    return reference_sketches(table)


@pytest.mark.parametrize(
    ("loc", "scale", "mix", "drifted"),
    [
        (0.0, 1.0, None, set()),
        (0.25, 1.0, None, {"num"}),
        (0.0, 1.5, None, {"num"}),
        (0.0, 1.0, [0.3, 0.25, 0.2, 0.15, 0.1], {"cat"}),
    ],
    ids=["none", "mean", "variance", "mix"],
)
def test_streamed_million_rows_detect_injected_shifts(
    reference: dict, loc: float, scale: float, mix: list[float] | None, drifted: set[str]
) -> None:
    results = compare_tables(reference, _stream(np.random.default_rng(31), loc, scale, mix))
    assert {r["name"] for r in results if r["drift"]} == drifted
    num = next(r for r in results if r["name"] == "num")
    assert num["tests"][0]["method"] == "wasserstein" and "bins" in num["chosen_because"]
    assert num["current"]["n"] == 1_000_000
    assert sum(num["current"]["histogram"]["counts"]) == 1_000_000
    assert num["reference"]["histogram"]["edges"] == num["current"]["histogram"]["edges"]


# Binned against exact --------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    st.integers(0, 2**31),
    st.sampled_from(["normal", "lognormal", "integers", "mixture"]),
    st.integers(50, 20_000),
    st.integers(1, 20_000),
)
def test_binned_ks_and_wasserstein_stay_within_their_bounds(seed: int, family: str, n_ref: int, n_cur: int) -> None:
    rng = np.random.default_rng(seed)

    def draw(n: int, shift: float) -> np.ndarray:
        if family == "normal":
            return rng.normal(shift, 1 + shift, n)
        if family == "lognormal":
            return rng.lognormal(shift, 1.5, n)
        if family == "integers":
            return rng.integers(0, 8, n).astype(float) + np.round(shift)
        return np.where(rng.random(n) < 0.3, 0.0, rng.normal(5 + shift, 2, n))

    ref, cur = draw(n_ref, 0.0), draw(n_cur, rng.uniform(-1, 1))
    sketch = NumericSketch.from_values(ref, max_bins=int(rng.integers(5, 1000)), exact_limit=0)
    acc = accumulator_for(sketch, exact_limit=0)
    for part in np.array_split(cur, 3):
        acc.update(part)
    found = binned_statistics(sketch, acc)  # type: ignore[arg-type]
    ks, ks_upper = found["ks"]
    exact_ks = sps.ks_2samp(ref, cur).statistic
    assert ks - 1e-9 <= exact_ks <= ks_upper + 1e-9
    w, w_error = found["wasserstein"]
    assert abs(w - sps.wasserstein_distance(ref, cur)) <= w_error + 1e-9 * max(1.0, w)


def test_binned_bounds_are_tight_with_quantile_bins() -> None:
    """With 1,000 reference-quantile bins the binned KS is within about 2/1000 of the exact one."""
    rng = np.random.default_rng(40)
    ref, cur = rng.normal(size=100_000), rng.normal(0.1, 1.1, size=200_000)
    sketch = NumericSketch.from_values(ref, exact_limit=0)
    acc = accumulator_for(sketch, exact_limit=0)
    acc.update(cur)
    found = binned_statistics(sketch, acc)  # type: ignore[arg-type]
    assert found["ks"][1] - found["ks"][0] < 0.003
    assert found["ks"][0] == pytest.approx(sps.ks_2samp(ref, cur).statistic, abs=0.003)
    assert found["wasserstein"][0] == pytest.approx(sps.wasserstein_distance(ref, cur), rel=1e-3)


def test_exact_path_equals_scipy() -> None:
    rng = np.random.default_rng(41)
    ref, cur = rng.normal(size=900), rng.normal(0.1, size=700)
    result = _numeric(ref, cur)
    expected = sps.ks_2samp(ref, cur)
    assert _test(result, "ks")["statistic"] == pytest.approx(expected.statistic, abs=1e-12)
    assert _test(result, "ks")["p_value"] == pytest.approx(expected.pvalue, rel=1e-8)
    normed = sps.wasserstein_distance(ref, cur) / np.std(ref)
    assert _test(result, "wasserstein")["statistic"] == pytest.approx(normed, rel=1e-10)


# The chooser, the shape, the options ----------------------------------------------------------------------
def test_choose_tests_by_kind_and_size() -> None:
    assert choose_tests("numeric", 500, 10**6)[0] == ["ks", "wasserstein", "psi"]
    assert choose_tests("numeric", 5000, 5000)[0] == ["wasserstein", "ks", "psi"]
    assert choose_tests("categorical", 100, 100)[0] == ["chi2", "jensen_shannon", "psi"]
    assert choose_tests("categorical", 10**5, 10**6)[0] == ["jensen_shannon", "chi2", "psi"]
    methods, reason = choose_tests("numeric", 10, 0)
    assert methods == [] and "no current values" in reason
    with pytest.raises(InvalidArgument):
        choose_tests("text", 1, 1)


def test_result_shape_is_json_and_records_the_choice() -> None:
    rng = np.random.default_rng(50)
    result = _numeric(rng.normal(size=2000), rng.normal(size=1500))
    assert json.loads(json.dumps(result)) == result
    assert set(result) == {
        "name",
        "kind",
        "role",
        "tests",
        "chosen_because",
        "drift",
        "reference",
        "current",
        "quality",
    }
    assert [t["method"] for t in result["tests"]] == ["wasserstein", "ks", "psi"]
    for test in result["tests"]:
        assert set(test) == {"method", "statistic", "p_value", "threshold", "drift"}
    assert "Wasserstein" in result["chosen_because"]
    assert set(result["quality"]) == {
        "missing_share",
        "out_of_range_share",
        "unseen_categories",
        "unseen_share",
        "type_violations",
    }
    assert set(result["reference"]) == {"n", "missing", "histogram"}
    assert 15 <= len(result["reference"]["histogram"]["counts"]) <= 30


def test_tests_and_thresholds_can_be_chosen() -> None:
    rng = np.random.default_rng(51)
    sketch = NumericSketch.from_values(rng.normal(size=2000))
    acc = accumulator_for(sketch)
    acc.update(rng.normal(0.05, size=2000))
    result = compare(
        "x", sketch, acc, role="prediction", tests=["psi", "jensen_shannon", "chi2"], thresholds={"psi": 0}
    )
    assert result["role"] == "prediction" and result["chosen_because"].startswith("tests chosen by the caller")
    assert [t["method"] for t in result["tests"]] == ["psi", "jensen_shannon", "chi2"]
    assert result["drift"] and result["tests"][0]["threshold"] == 0.0
    with pytest.raises(InvalidArgument):
        compare("x", sketch, acc, tests=["anova"])
    with pytest.raises(InvalidArgument):
        compare("x", sketch, acc, thresholds={"anova": 1.0})
    with pytest.raises(InvalidArgument):
        compare("x", sketch, acc, role="target")
    cat = CategoricalSketch.from_values(["a", "b"])
    with pytest.raises(InvalidArgument):
        compare("c", cat, accumulator_for(cat), tests=["ks"])
    with pytest.raises(InvalidArgument):
        compare("x", sketch, accumulator_for(cat))


def test_prediction_columns_get_the_prediction_role() -> None:
    ref = reference_sketches({"a": np.arange(50.0), "prediction": np.arange(50.0), "prediction_1": ["x"] * 50})
    batch = pa.record_batch({"a": np.arange(50.0), "prediction": np.arange(50.0), "prediction_1": ["x"] * 50})
    roles = {r["name"]: r["role"] for r in compare_tables(ref, [batch])}
    assert roles == {"a": "input", "prediction": "prediction", "prediction_1": "prediction"}
    only = compare_tables(ref, [batch], {"a": "input"})
    assert [r["name"] for r in only] == ["a"]
    with pytest.raises(InvalidArgument):
        compare_tables(ref, [batch], {"zzz": "input"})
