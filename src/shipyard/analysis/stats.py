"""Two-sample test statistics and their p-values, in NumPy only (SciPy is not a runtime dependency).

Every function here is pure: arrays and counts in, floats out. The exact functions take *sorted*
samples and give the same numbers as SciPy on the same inputs (the unit tests check it):

* :func:`ks_statistic` / :func:`ks_p_value`: two-sample Kolmogorov-Smirnov, two-sided. The p-value
  is exact (the lattice-path distribution of the statistic, as ``scipy.stats.ks_2samp(method=
  "auto")`` when both samples have at most :data:`KS_EXACT_MAX_N` values) or asymptotic (Kolmogorov's
  limiting distribution with Stephens' small-sample correction, within about 1% of SciPy's
  ``kstwo``-based value).
* :func:`wasserstein`: the 1-Wasserstein (earth mover's) distance between two empirical
  distributions (``scipy.stats.wasserstein_distance``).
* :func:`chi2_homogeneity`: Pearson's chi-square test that two count vectors come from one
  distribution (``scipy.stats.chi2_contingency(correction=False)`` on the 2 x k table); its p-value
  is :func:`chi2_sf`, the regularized upper incomplete gamma function.
* :func:`jensen_shannon`: the Jensen-Shannon *distance* in base 2, in [0, 1]
  (``scipy.spatial.distance.jensenshannon(p, q, base=2)``).
* :func:`psi`: the population stability index over shared bins, with empty bins floored at
  ``epsilon`` (the usual convention: < 0.1 stable, 0.1-0.2 moderate shift, > 0.2 significant).

The binned variants (:func:`binned_ks`, :func:`binned_wasserstein`) work on cumulative counts at
shared bin edges, so a large sample never has to be held in memory; each returns its estimate with
a bound on its distance from the exact statistic (see their docstrings).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = [
    "KS_EXACT_MAX_N",
    "binned_ks",
    "binned_wasserstein",
    "chi2_homogeneity",
    "chi2_sf",
    "gamma_q",
    "jensen_shannon",
    "kolmogorov_sf",
    "ks_p_value",
    "ks_statistic",
    "psi",
    "wasserstein",
]

Floats = npt.NDArray[np.float64]

KS_EXACT_MAX_N = 10_000
"""Largest sample for which :func:`ks_p_value` computes the exact distribution (SciPy's limit too)."""

_EPS = 1e-15
_TINY = 1e-300


# Kolmogorov-Smirnov --------------------------------------------------------------------------------
def ks_statistic(a: Floats, b: Floats) -> float:
    """The two-sample KS statistic: the largest distance between the two empirical CDFs.

    Args:
        a: the first sample, sorted ascending, non-empty.
        b: the second sample, sorted ascending, non-empty.
    """
    both = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, both, side="right") / a.size
    cdf_b = np.searchsorted(b, both, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def ks_p_value(statistic: float, n1: int, n2: int) -> float:
    """Two-sided p-value of the KS statistic for samples of ``n1`` and ``n2`` values.

    Exact when both samples have at most :data:`KS_EXACT_MAX_N` values, asymptotic beyond.
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError("the KS test needs two non-empty samples")
    if max(n1, n2) <= KS_EXACT_MAX_N:
        g = math.gcd(n1, n2)
        h = round(statistic * (n1 // g) * n2)  # the statistic is a multiple of 1 / lcm(n1, n2)
        return _ks_exact_sf(h, n1, n2)
    en = n1 * n2 / (n1 + n2)
    root = math.sqrt(en)
    return kolmogorov_sf((root + 0.12 + 0.11 / root) * statistic)


def _ks_exact_sf(h: int, n1: int, n2: int) -> float:
    """P(D >= h / lcm(n1, n2)) under the null, by counting lattice paths.

    A random ordering of the pooled sample is a monotone path from (0, 0) to (m, n); the statistic
    reaches d exactly when the path touches a cell with |i/m - j/n| >= d. Rows of the grid are
    walked once (each row of paths that stayed inside is a cumulative sum of the row before, kept
    scaled to avoid overflow), and the probability of every first touch is added up, so small
    p-values keep their relative precision.
    """
    if h <= 0:
        return 1.0
    m, n = sorted((n1, n2))  # loop over the shorter side
    band = h * math.gcd(m, n)  # inside means |i*n - j*m| < band
    log_fact = np.array([math.lgamma(k + 1.0) for k in range(m + n + 1)])
    log_total = log_fact[m + n] - log_fact[m] - log_fact[n]

    def log_rest(i: int, j: npt.NDArray[np.int64]) -> Floats:
        r, c = m - i, n - j
        out: Floats = log_fact[r + c] - log_fact[r] - log_fact[c] - log_total
        return out

    lo, hi = 0, min(n, (band - 1) // m)
    row = np.ones(hi - lo + 1)
    log_scale = 0.0
    p = 0.0
    if hi < n:
        p += float(np.exp(log_scale + log_rest(0, np.array([hi + 1])))[0]) * row[-1]
    for i in range(1, m + 1):
        new_lo = max(0, (i * n - band) // m + 1)
        new_hi = min(n, (i * n + band - 1) // m)
        # paths leaving the band by a step from row i-1 into row i
        js = np.arange(lo, hi + 1)
        out = (js < new_lo) | (js > new_hi)
        if out.any():
            p += float(np.sum(row[out] * np.exp(log_scale + log_rest(i, js[out]))))
        if new_lo > new_hi:
            break
        nxt = np.zeros(new_hi - new_lo + 1)
        keep = row[max(new_lo - lo, 0) :]
        nxt[: keep.size] = keep[: nxt.size]
        nxt = np.cumsum(nxt)
        top = float(nxt[-1])
        if top <= 0.0:  # no path is left inside the band
            break
        nxt /= top
        log_scale += math.log(top)
        row, lo, hi = nxt, new_lo, new_hi
        # paths leaving the band by a step along row i
        if hi < n:
            p += float(np.exp(log_scale + log_rest(i, np.array([hi + 1])))[0]) * row[-1]
    return min(1.0, max(0.0, p))


def kolmogorov_sf(x: float) -> float:
    """Survival function of Kolmogorov's limiting distribution: P(K > x)."""
    if x <= 0:
        return 1.0
    if x < 1.18:  # the theta-function form converges fast for small x
        k = np.arange(1, 8)
        cdf = math.sqrt(2 * math.pi) / x * float(np.sum(np.exp(-((2 * k - 1) ** 2) * math.pi**2 / (8 * x * x))))
        return min(1.0, max(0.0, 1.0 - cdf))
    k = np.arange(1, 101)
    terms = np.exp(-2.0 * k * k * x * x) * np.where(k % 2 == 1, 2.0, -2.0)
    return min(1.0, max(0.0, float(np.sum(terms))))


# Wasserstein -------------------------------------------------------------------------------------------
def wasserstein(a: Floats, b: Floats) -> float:
    """The 1-Wasserstein distance between two samples (sorted ascending, non-empty): the area
    between their empirical CDFs."""
    both = np.sort(np.concatenate([a, b]))
    widths = np.diff(both)
    cdf_a = np.searchsorted(a, both[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, both[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


# Binned versions ----------------------------------------------------------------------------------------
def binned_ks(cdf_a: Floats, cdf_b: Floats) -> tuple[float, float]:
    """KS statistic from two CDFs known only at shared edges, and an upper bound on the exact one.

    ``cdf_a[k]`` and ``cdf_b[k]`` are the two empirical CDFs at the k-th edge (ascending edges; the
    first edge lies below both samples' values or at the smallest one, the last at or above both
    maxima, or the tails are included as edges). The exact statistic D satisfies
    ``estimate <= D <= bound``: between two edges each CDF only rises, by at most the share of its
    sample in that bin, so within bin k the difference stays inside
    ``[cdf_a[k-1] - cdf_b[k], cdf_a[k] - cdf_b[k-1]]``. With bins that each hold 1/B of the
    reference, the bound is at most the estimate plus 1/B plus the largest share of the other
    sample in one bin.
    """
    diff = cdf_a - cdf_b
    estimate = float(np.max(np.abs(diff)))
    lo = cdf_a[:-1] - cdf_b[1:]
    hi = cdf_a[1:] - cdf_b[:-1]
    bound = max(estimate, float(np.max(np.abs(lo), initial=0.0)), float(np.max(np.abs(hi), initial=0.0)))
    return estimate, bound


def binned_wasserstein(
    edges: Floats, cdf_a: Floats, cdf_b: Floats, area_a: Floats, area_b: Floats
) -> tuple[float, float]:
    """The Wasserstein distance between two samples known by bins, and a bound on its error.

    ``edges`` are the K bin edges; ``cdf_*`` the CDFs at the edges; ``area_*[k]`` the exact integral
    of each CDF over bin k, ``(edges[k], edges[k+1]]`` (known from the bin's count and sum of
    values: ``width * F(left) + (count * right - sum) / n``). The integral of ``|F_a - F_b|`` over a
    bin equals ``|area_a - area_b|`` whenever the difference keeps one sign inside the bin, which it
    must unless ``cdf_a[k] - cdf_b[k+1] < 0 < cdf_a[k+1] - cdf_b[k]``; only those bins can be off,
    each by at most its width times that range. Returns ``(estimate, error_bound)``; the areas
    outside the outermost edges are the caller's to add (they are exact when the tails' sums are
    known).
    """
    widths = np.diff(edges)
    estimate = float(np.sum(np.abs(area_a - area_b)))
    lo = cdf_a[:-1] - cdf_b[1:]
    hi = cdf_a[1:] - cdf_b[:-1]
    may_cross = (lo < 0) & (hi > 0)
    bound = float(np.sum(widths[may_cross] * (hi[may_cross] - lo[may_cross])))
    return estimate, bound


# Chi-square ---------------------------------------------------------------------------------------------
def gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a)."""
    if a <= 0:
        raise ValueError("gamma_q needs a > 0")
    if x <= 0:
        return 1.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:  # series for the lower function P, then Q = 1 - P
        term = total = 1.0 / a
        ap = a
        for _ in range(100_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return min(1.0, max(0.0, 1.0 - total * math.exp(log_prefix)))
    # continued fraction for Q (modified Lentz)
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    frac = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        frac *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return min(1.0, max(0.0, math.exp(log_prefix) * frac))


def chi2_sf(x: float, df: float) -> float:
    """Survival function of the chi-square distribution with ``df`` degrees of freedom."""
    return gamma_q(df / 2.0, x / 2.0)


def chi2_homogeneity(a: Floats, b: Floats) -> tuple[float, float, int]:
    """Pearson's chi-square test that two count vectors over the same cells share one distribution.

    Cells empty on both sides are dropped. Returns ``(statistic, p_value, degrees_of_freedom)``;
    with fewer than two non-empty cells there is nothing to test and the result is (0, 1, 0).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    keep = (a + b) > 0
    a, b = a[keep], b[keep]
    na, nb = float(a.sum()), float(b.sum())
    if a.size < 2 or na == 0 or nb == 0:
        return 0.0, 1.0, 0
    share = (a + b) / (na + nb)
    exp_a, exp_b = share * na, share * nb
    statistic = float(np.sum((a - exp_a) ** 2 / exp_a) + np.sum((b - exp_b) ** 2 / exp_b))
    df = int(a.size - 1)
    return statistic, chi2_sf(statistic, df), df


# Distances over shared bins -----------------------------------------------------------------------------
def jensen_shannon(a: Floats, b: Floats) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two count or probability vectors."""
    p = np.asarray(a, dtype=np.float64)
    q = np.asarray(b, dtype=np.float64)
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0

    def kl_to_m(v: Floats) -> float:
        pos = v > 0
        return float(np.sum(v[pos] * np.log2(v[pos] / m[pos])))

    divergence = (kl_to_m(p) + kl_to_m(q)) / 2.0
    return math.sqrt(max(divergence, 0.0))


def psi(reference: Floats, current: Floats, epsilon: float = 1e-4) -> float:
    """Population stability index of ``current`` against ``reference`` (counts over shared bins).

    Shares of zero are floored at ``epsilon`` so an empty bin gives a large but finite term.
    """
    p = np.asarray(reference, dtype=np.float64)
    q = np.asarray(current, dtype=np.float64)
    p = np.maximum(p / p.sum(), epsilon)
    q = np.maximum(q / q.sum(), epsilon)
    return float(np.sum((q - p) * np.log(q / p)))
