"""The pure statistics equal SciPy's on the same inputs (SciPy is a dev dependency only)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from shipyard.analysis import stats

small_samples = st.lists(st.integers(-20, 20), min_size=1, max_size=40).map(lambda v: np.sort(np.array(v) / 4.0))


@settings(max_examples=150, deadline=None)
@given(small_samples, small_samples)
def test_ks_statistic_and_exact_p_value_equal_scipy(a: np.ndarray, b: np.ndarray) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = sps.ks_2samp(a, b)
    d = stats.ks_statistic(a, b)
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    p_value = stats.ks_p_value(d, a.size, b.size)
    if any("Switching to method=asymp" in str(w.message) for w in caught):
        # SciPy's exact formula rounded just past 1 and it fell back to its asymptotic value; the
        # exact probability is 1 (every ordering reaches the smallest possible statistic)
        assert p_value == pytest.approx(1.0, abs=1e-12)
    else:
        assert p_value == pytest.approx(expected.pvalue, rel=1e-8, abs=1e-13)


@pytest.mark.parametrize(
    ("n1", "n2", "shift"), [(1000, 1000, 0.05), (3000, 700, 0.1), (2500, 4000, 0.15), (17, 5000, 1.0)]
)
def test_exact_ks_p_value_on_larger_samples(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    a, b = np.sort(rng.normal(size=n1)), np.sort(rng.normal(shift, size=n2))
    expected = sps.ks_2samp(a, b)
    d = stats.ks_statistic(a, b)
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert stats.ks_p_value(d, n1, n2) == pytest.approx(expected.pvalue, rel=1e-7, abs=1e-14)


@pytest.mark.parametrize(("n1", "n2"), [(20_000, 100_000), (15_000, 12_000), (100_000, 1_000_000)])
@pytest.mark.parametrize("shift", [0.0, 0.01, 0.02])
def test_asymptotic_ks_p_value_is_close_to_scipy(n1: int, n2: int, shift: float) -> None:
    """Beyond 10,000 values SciPy uses kstwo.sf(d, round(en)); Kolmogorov's limit with Stephens'
    correction stays within a few percent of it (and p-values this large matter only roughly)."""
    rng = np.random.default_rng(7)
    a, b = np.sort(rng.normal(size=n1)), np.sort(rng.normal(shift, size=n2))
    expected = sps.ks_2samp(a, b)
    d = stats.ks_statistic(a, b)
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert stats.ks_p_value(d, n1, n2) == pytest.approx(expected.pvalue, rel=0.05, abs=1e-3)


@pytest.mark.parametrize("x", [0.05, 0.3, 0.7, 1.0, 1.17, 1.19, 1.5, 2.5, 4.0])
def test_kolmogorov_limit_distribution(x: float) -> None:
    assert stats.kolmogorov_sf(x) == pytest.approx(sps.kstwobign.sf(x), rel=1e-10, abs=1e-15)


@settings(max_examples=150, deadline=None)
@given(small_samples, small_samples)
def test_wasserstein_equals_scipy(a: np.ndarray, b: np.ndarray) -> None:
    assert stats.wasserstein(a, b) == pytest.approx(sps.wasserstein_distance(a, b), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("df", [1, 2, 3, 7, 30, 200, 999])
@pytest.mark.parametrize("x", [0.0, 0.01, 0.5, 1.0, 3.0, 10.0, 60.0, 250.0, 1050.0])
def test_chi2_survival_function_equals_scipy(df: int, x: float) -> None:
    assert stats.chi2_sf(x, df) == pytest.approx(sps.chi2.sf(x, df), rel=1e-9, abs=1e-300)


@settings(max_examples=150, deadline=None)
@given(st.floats(0.05, 400.0), st.floats(0.0, 800.0))
def test_gamma_q_over_random_arguments(a: float, x: float) -> None:
    from scipy.special import gammaincc

    assert stats.gamma_q(a, x) == pytest.approx(gammaincc(a, x), rel=1e-8, abs=1e-300)


counts = st.lists(st.integers(0, 60), min_size=2, max_size=12)


@settings(max_examples=150, deadline=None)
@given(counts, counts)
def test_chi2_homogeneity_equals_chi2_contingency(a: list[int], b: list[int]) -> None:
    k = min(len(a), len(b))
    x, y = np.array(a[:k], float), np.array(b[:k], float)
    statistic, p_value, df = stats.chi2_homogeneity(x, y)
    keep = (x + y) > 0
    if keep.sum() < 2 or x.sum() == 0 or y.sum() == 0:
        assert (statistic, p_value, df) == (0.0, 1.0, 0)
        return
    expected = sps.chi2_contingency(np.array([x[keep], y[keep]]), correction=False)
    assert statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-8, abs=1e-300)
    assert df == expected.dof


def test_chi2_homogeneity_p_value_via_chisquare_on_one_side() -> None:
    """The same statistic split by rows: each row's goodness of fit against the pooled expectation."""
    a, b = np.array([30.0, 50, 20]), np.array([45.0, 35, 40])
    share = (a + b) / (a + b).sum()
    by_row = sps.chisquare(a, share * a.sum()).statistic + sps.chisquare(b, share * b.sum()).statistic
    statistic, p_value, df = stats.chi2_homogeneity(a, b)
    assert statistic == pytest.approx(by_row)
    assert p_value == pytest.approx(sps.chi2.sf(by_row, df))


@settings(max_examples=150, deadline=None)
@given(counts, counts)
def test_jensen_shannon_equals_scipy(a: list[int], b: list[int]) -> None:
    k = min(len(a), len(b))
    x, y = np.array(a[:k], float), np.array(b[:k], float)
    if x.sum() == 0 or y.sum() == 0:
        return
    assert stats.jensen_shannon(x, y) == pytest.approx(jensenshannon(x, y, base=2), abs=1e-7)


def test_psi_follows_its_definition_with_an_epsilon_for_empty_bins() -> None:
    ref, cur = np.array([50.0, 30, 20, 0]), np.array([40.0, 30, 20, 10])
    p = np.maximum(ref / ref.sum(), 1e-4)
    q = np.maximum(cur / cur.sum(), 1e-4)
    assert stats.psi(ref, cur) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    assert np.isfinite(stats.psi(ref, cur))
    assert stats.psi(ref, ref) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 2_000), st.integers(1, 2_000))
def test_binned_ks_brackets_the_exact_statistic(seed: int, n1: int, n2: int) -> None:
    rng = np.random.default_rng(seed)
    a = np.sort(rng.normal(size=n1).round(1))
    b = np.sort(rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 2), size=n2).round(1))
    edges = np.unique(np.quantile(np.concatenate([a, b]), np.linspace(0, 1, 30), method="inverted_cdf"))
    edges = np.concatenate([[min(a[0], b[0]) - 1], edges, [max(a[-1], b[-1])]])
    cdf_a = np.searchsorted(a, edges, side="right") / n1
    cdf_b = np.searchsorted(b, edges, side="right") / n2
    estimate, bound = stats.binned_ks(cdf_a, cdf_b)
    exact = stats.ks_statistic(a, b)
    assert estimate <= exact + 1e-12
    assert exact <= bound + 1e-12
