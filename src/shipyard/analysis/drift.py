"""Drift and data quality per feature: a reference sketch against a streamed current accumulator.

Sketch the reference once (the training data), stream the current data (the inference log) batch
by batch, and compare::

    import pyarrow.dataset as ds
    from shipyard.analysis.drift import compare_tables, reference_sketches

    reference = reference_sketches(training_table)          # {column: sketch}; to_dict() for JSON
    results = compare_tables(reference, ds.dataset("log/").to_batches(columns=list(reference)))
    drifted = [r["name"] for r in results if r["drift"]]

Each result has this JSON-able shape (see :func:`compare`)::

    {"name", "kind": "numeric"|"categorical", "role": "input"|"prediction",
     "tests": [{"method", "statistic", "p_value" (float or None), "threshold", "drift"}],
     "chosen_because", "drift" (the first test's verdict),
     "reference": {"n", "missing", "histogram": {"edges", "counts"}} or {"n", "missing", "categories"},
     "current": the same shape over the same bins or categories,
     "quality": {"missing_share", "out_of_range_share", "unseen_categories", "unseen_share",
                 "type_violations"}}

Methods (``tests[].method``) and their default thresholds (:data:`DEFAULT_THRESHOLDS`):

* ``ks``: two-sample Kolmogorov-Smirnov; drift when the p-value < 0.05.
* ``wasserstein``: Wasserstein distance divided by the reference's standard deviation; drift at
  >= 0.1. (Divided by ``|mean|`` when the reference is constant, by 1 when that is 0 too.)
* ``psi``: population stability index over 10 reference-quantile bins (numeric) or the categories
  (categorical); drift at >= 0.2 (0.1-0.2 is usually read as a moderate shift).
* ``chi2``: chi-square test of homogeneity over those same bins or categories; drift when p < 0.05.
* ``jensen_shannon``: Jensen-Shannon distance (base 2) over those bins or categories; drift at >= 0.1.

:func:`choose_tests` picks the order by kind and sample size (the first decides), and the result
records why in ``chosen_because``. KS and Wasserstein are exact (equal to SciPy's) when both sides
have at most :data:`~.sketches.EXACT_LIMIT` values, and otherwise computed from the reference's
quantile bins, where the binned KS statistic ``D_b`` brackets the exact one as
``D_b <= D <= D_b + (largest share of either sample in one bin)`` (the reason string gives the
bound for the data at hand); see :func:`.stats.binned_ks` and :func:`.stats.binned_wasserstein`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from shipyard.analysis import stats
from shipyard.analysis.sketches import (
    EXACT_LIMIT,
    MAX_BINS,
    MAX_CATEGORIES,
    Accumulator,
    CategoricalAccumulator,
    CategoricalSketch,
    Floats,
    Kind,
    NumericAccumulator,
    NumericSketch,
    Sketch,
    accumulator_for,
    infer_kind,
    iter_columns,
    sketch_column,
)
from shipyard.errors import InvalidArgument

__all__ = [
    "DEFAULT_THRESHOLDS",
    "SMALL_SAMPLE",
    "binned_statistics",
    "choose_tests",
    "compare",
    "compare_tables",
    "reference_sketches",
]

DEFAULT_THRESHOLDS: dict[str, float] = {"ks": 0.05, "chi2": 0.05, "wasserstein": 0.1, "jensen_shannon": 0.1, "psi": 0.2}
P_VALUE_METHODS = frozenset({"ks", "chi2"})
METHODS: dict[str, tuple[str, ...]] = {
    "numeric": ("ks", "wasserstein", "psi", "chi2", "jensen_shannon"),
    "categorical": ("chi2", "jensen_shannon", "psi"),
}
SMALL_SAMPLE = 1000
"""Up to this many values on the smaller side, a p-value test decides; beyond, a distance does."""
COARSE_BINS = 10
DISPLAY_BINS = 25
DISPLAY_CATEGORIES = 20
OTHER, UNSEEN = "(other)", "(unseen)"


def choose_tests(kind: str, n_reference: int, n_current: int) -> tuple[list[str], str]:
    """The default tests for a column, the deciding one first, and why.

    Small samples are judged by a p-value (KS for numbers, chi-square for categories). With more
    than :data:`SMALL_SAMPLE` values on both sides a p-value flags shifts too small to matter, so a
    distance with a fixed threshold decides instead (normalised Wasserstein for numbers,
    Jensen-Shannon for categories), as Evidently does; PSI is always reported.
    """
    if kind not in METHODS:
        raise InvalidArgument(f"unknown column kind {kind!r}; expected 'numeric' or 'categorical'", field="kind")
    if min(n_reference, n_current) <= 0:
        side = "reference" if n_reference <= 0 else "current"
        return [], f"no {side} values to compare"
    small = min(n_reference, n_current) <= SMALL_SAMPLE
    sizes = f"{n_reference:,} reference and {n_current:,} current values"
    if kind == "numeric" and small:
        return ["ks", "wasserstein", "psi"], (
            f"numeric, {sizes} (smaller side <= {SMALL_SAMPLE:,}): the two-sample Kolmogorov-Smirnov "
            "p-value decides; normalised Wasserstein and PSI reported"
        )
    if kind == "numeric":
        return ["wasserstein", "ks", "psi"], (
            f"numeric, {sizes} (both > {SMALL_SAMPLE:,}): at this size p-values flag negligible shifts, "
            "so the Wasserstein distance normalised by the reference std decides; KS and PSI reported"
        )
    if small:
        return ["chi2", "jensen_shannon", "psi"], (
            f"categorical, {sizes} (smaller side <= {SMALL_SAMPLE:,}): the chi-square test's p-value "
            "decides; Jensen-Shannon distance and PSI reported"
        )
    return ["jensen_shannon", "chi2", "psi"], (
        f"categorical, {sizes} (both > {SMALL_SAMPLE:,}): at this size p-values flag negligible shifts, "
        "so the Jensen-Shannon distance decides; chi-square and PSI reported"
    )


def compare(
    name: str,
    reference: Sketch,
    current: Accumulator,
    *,
    role: str = "input",
    tests: Sequence[str] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Drift tests and data quality of one feature (or prediction), as a JSON-able dict.

    Args:
        name: the column's name, copied to the result.
        reference: the reference sketch.
        current: the current accumulator built from that sketch (:func:`.sketches.accumulator_for`).
        role: ``"input"`` or ``"prediction"`` (outputs go through the same tests).
        tests: methods to run, the deciding one first; default: :func:`choose_tests`.
        thresholds: per-method overrides of :data:`DEFAULT_THRESHOLDS`.
    """
    if role not in ("input", "prediction"):
        raise InvalidArgument(f"role must be 'input' or 'prediction', not {role!r}", field="role")
    limits = _thresholds(thresholds)
    kind: Kind = reference.kind
    if tests is None:
        methods, reason = choose_tests(kind, reference.count, current.count)
    else:
        methods, reason = list(tests), "tests chosen by the caller"
        unknown = [m for m in methods if m not in METHODS[kind]]
        if unknown:
            raise InvalidArgument(f"{unknown} cannot test a {kind} column; choose from {METHODS[kind]}", field="tests")
        if min(reference.count, current.count) <= 0:
            methods, reason = [], choose_tests(kind, reference.count, current.count)[1]
    parts: _NumericComparison | _CategoricalComparison
    if isinstance(reference, NumericSketch) and isinstance(current, NumericAccumulator):
        parts = _NumericComparison(reference, current)
    elif isinstance(reference, CategoricalSketch) and isinstance(current, CategoricalAccumulator):
        parts = _CategoricalComparison(reference, current)
    else:
        raise InvalidArgument(f"the accumulator for {name!r} does not match its {kind} reference sketch")
    results = [_verdict(m, *parts.statistic(m), limits[m]) for m in methods]
    if methods and parts.note:
        reason = f"{reason}; {parts.note}"
    return {
        "name": name,
        "kind": kind,
        "role": role,
        "tests": results,
        "chosen_because": reason,
        "drift": bool(results[0]["drift"]) if results else False,
        "reference": parts.reference_view(),
        "current": parts.current_view(),
        "quality": parts.quality(),
    }


def binned_statistics(reference: NumericSketch, current: NumericAccumulator) -> dict[str, tuple[float, float]]:
    """The binned KS and Wasserstein of a numeric column, with how far each may be from the exact value.

    Returns ``{"ks": (estimate, upper_bound), "wasserstein": (estimate, error_bound)}``, raw (not
    normalised): the exact KS statistic lies in ``[estimate, upper_bound]`` and the exact Wasserstein
    distance within ``error_bound`` of its estimate. Both sides need values.
    """
    if not (reference.count and current.count and reference.edges.size):
        raise InvalidArgument("binned statistics need values on both sides")
    parts = _NumericComparison(reference, current)
    parts._exact = None
    return {"ks": stats.binned_ks(*parts._cdfs_with_low_tail()), "wasserstein": parts._binned_wasserstein()}


def _thresholds(overrides: Mapping[str, float] | None) -> dict[str, float]:
    limits = dict(DEFAULT_THRESHOLDS)
    for method, value in (overrides or {}).items():
        if method not in limits:
            raise InvalidArgument(f"no test named {method!r}; known: {sorted(limits)}", field="thresholds")
        limits[method] = float(value)
    return limits


def _verdict(method: str, statistic: float, p_value: float | None, threshold: float) -> dict[str, Any]:
    drift = (p_value < threshold) if p_value is not None else (statistic >= threshold)
    return {
        "method": method,
        "statistic": float(statistic),
        "p_value": float(p_value) if p_value is not None else None,
        "threshold": float(threshold),
        "drift": bool(drift),
    }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


class _NumericComparison:
    """The statistics of one numeric column, from its sketch and accumulator."""

    def __init__(self, ref: NumericSketch, cur: NumericAccumulator) -> None:
        self.ref, self.cur = ref, cur
        self.note = ""
        self._exact: tuple[Floats, Floats] | None = None
        a, b = ref.values, cur.values
        if a is not None and b is not None and a.size and b.size:
            self._exact = (a, b)
            self.note = "KS and Wasserstein exact"
        elif ref.count and cur.count:
            ks, ks_bound = stats.binned_ks(*self._cdfs_with_low_tail())
            self.note = (
                f"KS and Wasserstein from {ref.edges.size - 1:,} reference-quantile bins "
                f"(exact KS within [{ks:.4f}, {ks_bound:.4f}])"
            )

    def _cdfs(self) -> tuple[Floats, Floats]:
        """Both CDFs at the reference's edges."""
        ref_cdf = np.cumsum(self.ref.counts) / self.ref.count
        cur_cdf = np.cumsum(self.cur.counts[:-1])[1:] / self.cur.count
        return ref_cdf, cur_cdf

    def _cdfs_with_low_tail(self) -> tuple[Floats, Floats]:
        """Both CDFs just below the reference minimum and at each edge."""
        ref_cdf, cur_cdf = self._cdfs()
        below = self.cur.counts[0] / self.cur.count
        return np.concatenate([[0.0], ref_cdf]), np.concatenate([[below], cur_cdf])

    def _wasserstein(self) -> float:
        if self._exact is not None:
            return stats.wasserstein(*self._exact)
        return self._binned_wasserstein()[0]

    def _binned_wasserstein(self) -> tuple[float, float]:
        """The estimate (tails exact) and its error bound."""
        edges, ref, cur = self.ref.edges, self.ref, self.cur
        ref_cdf, cur_cdf = self._cdfs()
        widths = np.diff(edges)
        area_ref = widths * ref_cdf[:-1] + (ref.counts[1:] * edges[1:] - ref.sums[1:]) / ref.count
        cells, sums = cur.counts[2:-1], cur.sums[2:-1]
        area_cur = widths * cur_cdf[:-1] + (cells * edges[1:] - sums) / cur.count
        inside, bound = stats.binned_wasserstein(edges, ref_cdf, cur_cdf, area_ref, area_cur)
        below = (cur.counts[0] * edges[0] - cur.sums[0]) / cur.count
        above = (cur.sums[-1] - cur.counts[-1] * edges[-1]) / cur.count
        return inside + float(below) + float(above), bound

    def _coarse(self) -> tuple[Floats, Floats]:
        """Counts of both sides over about 10 bins of equal reference mass."""
        ref = self.ref.counts
        before = np.cumsum(ref) - ref
        group = np.minimum(before * COARSE_BINS // self.ref.count, COARSE_BINS - 1)
        ref_coarse = np.bincount(group, weights=ref, minlength=COARSE_BINS)
        cur_group = np.concatenate([[0], group, [COARSE_BINS - 1]])
        cur_coarse = np.bincount(cur_group, weights=self.cur.counts, minlength=COARSE_BINS)
        keep = ref_coarse > 0
        return ref_coarse[keep].astype(np.float64), cur_coarse[keep].astype(np.float64)

    def statistic(self, method: str) -> tuple[float, float | None]:
        if method == "ks":
            if self._exact is not None:
                d = stats.ks_statistic(*self._exact)
            else:
                d = stats.binned_ks(*self._cdfs_with_low_tail())[0]
            return d, stats.ks_p_value(d, self.ref.count, self.cur.count)
        if method == "wasserstein":
            scale = self.ref.std or abs(self.ref.mean) or 1.0
            return self._wasserstein() / scale, None
        ref, cur = self._coarse()
        if method == "psi":
            return stats.psi(ref, cur), None
        if method == "chi2":
            statistic, p_value, _ = stats.chi2_homogeneity(ref, cur)
            return statistic, p_value
        return stats.jensen_shannon(ref, cur), None

    def _display_bins(self) -> tuple[list[float], list[int], list[int]]:
        edges, cur = self.ref.edges, self.cur
        if edges.size == 0:
            lo, hi = (cur.min, cur.max) if cur.count else (0.0, 0.0)
            return [lo, hi], [0], [cur.count]
        targets = np.linspace(edges[0], edges[-1], DISPLAY_BINS + 1)
        pick = np.unique(np.searchsorted(edges, targets, side="left").clip(0, edges.size - 1))
        ref_cum = np.cumsum(self.ref.counts)
        cur_cum = np.cumsum(cur.counts[1:-1])
        if pick.size == 1:
            shown, ref_counts, cur_counts = [edges[0], edges[0]], [ref_cum[0]], [cur_cum[0]]
        else:
            shown = edges[pick].tolist()
            ref_counts = np.diff(np.concatenate([[0], ref_cum[pick[1:]]])).tolist()
            cur_counts = np.diff(np.concatenate([[0], cur_cum[pick[1:]]])).tolist()
        if cur.counts[0]:
            shown, ref_counts, cur_counts = [cur.min, *shown], [0, *ref_counts], [int(cur.counts[0]), *cur_counts]
        if cur.counts[-1]:
            shown, ref_counts, cur_counts = [*shown, cur.max], [*ref_counts, 0], [*cur_counts, int(cur.counts[-1])]
        return [float(e) for e in shown], [int(c) for c in ref_counts], [int(c) for c in cur_counts]

    def reference_view(self) -> dict[str, Any]:
        edges, ref_counts, _ = self._display_bins()
        return {"n": self.ref.n, "missing": self.ref.missing, "histogram": {"edges": edges, "counts": ref_counts}}

    def current_view(self) -> dict[str, Any]:
        edges, _, cur_counts = self._display_bins()
        return {"n": self.cur.n, "missing": self.cur.missing, "histogram": {"edges": edges, "counts": cur_counts}}

    def quality(self) -> dict[str, Any]:
        outside = int(self.cur.counts[0] + self.cur.counts[-1]) if self.ref.edges.size else 0
        return {
            "missing_share": _share(self.cur.missing, self.cur.n) or 0.0,
            "out_of_range_share": _share(outside, self.cur.count) if self.ref.edges.size else None,
            "unseen_categories": [],
            "unseen_share": None,
            "type_violations": self.cur.type_violations,
        }


class _CategoricalComparison:
    """The statistics of one categorical column: cells are the reference's categories, its "other"
    bucket and one cell for values it never had."""

    def __init__(self, ref: CategoricalSketch, cur: CategoricalAccumulator) -> None:
        self.ref, self.cur = ref, cur
        self.note = ""
        self._ref_cells = np.array([*ref.categories.values(), ref.other, 0], dtype=np.float64)
        self._cur_cells = np.array([*cur.counts.tolist(), cur.unseen_total], dtype=np.float64)

    def statistic(self, method: str) -> tuple[float, float | None]:
        if method == "chi2":
            statistic, p_value, _ = stats.chi2_homogeneity(self._ref_cells, self._cur_cells)
            return statistic, p_value
        if method == "psi":
            return stats.psi(self._ref_cells, self._cur_cells), None
        return stats.jensen_shannon(self._ref_cells, self._cur_cells), None

    def _display(self) -> tuple[dict[str, int], dict[str, int]]:
        names = list(self.ref.categories)
        shown = names[:DISPLAY_CATEGORIES]
        ref = {k: int(self.ref.categories[k]) for k in shown}
        cur = {k: int(c) for k, c in zip(shown, self.cur.counts.tolist(), strict=False)}
        ref_rest = self.ref.count - sum(ref.values())
        cur_rest = int(self.cur.counts.sum()) - sum(cur.values())
        if ref_rest or cur_rest:
            ref[OTHER], cur[OTHER] = ref_rest, cur_rest
        if self.cur.unseen_total:
            ref[UNSEEN], cur[UNSEEN] = 0, self.cur.unseen_total
        return ref, cur

    def reference_view(self) -> dict[str, Any]:
        return {"n": self.ref.n, "missing": self.ref.missing, "categories": self._display()[0]}

    def current_view(self) -> dict[str, Any]:
        return {"n": self.cur.n, "missing": self.cur.missing, "categories": self._display()[1]}

    def quality(self) -> dict[str, Any]:
        ranked = sorted(self.cur.unseen.items(), key=lambda kv: (-kv[1], kv[0]))
        return {
            "missing_share": _share(self.cur.missing, self.cur.n) or 0.0,
            "out_of_range_share": None,
            "unseen_categories": [name for name, _ in ranked[:20]],
            "unseen_share": _share(self.cur.unseen_total, self.cur.count),
            "type_violations": self.cur.type_violations,
        }


def reference_sketches(
    data: Any,
    *,
    max_bins: int = MAX_BINS,
    max_categories: int = MAX_CATEGORIES,
    exact_limit: int = EXACT_LIMIT,
) -> dict[str, Sketch]:
    """Sketch every comparable column of a reference table.

    Args:
        data: a pyarrow Table or RecordBatch, a mapping of column name to array (NumPy, pyarrow or
            list), or anything ``pyarrow.table()`` accepts (a pandas DataFrame, say).
        max_bins: quantile bins kept per numeric column.
        max_categories: most frequent categories kept per categorical column.
        exact_limit: numeric columns with at most this many values also keep them all.

    Integers, floats and decimals are numeric; strings, dictionaries and booleans categorical;
    columns of other types (timestamps, lists, binary) are left out.
    """
    out: dict[str, Sketch] = {}
    for name, values in iter_columns(data):
        kind = infer_kind(values)
        if kind is None:
            continue
        out[name] = sketch_column(
            values, kind, max_bins=max_bins, max_categories=max_categories, exact_limit=exact_limit
        )
    return out


def default_role(name: str) -> str:
    """``"prediction"`` for the inference log's output columns, ``"input"`` otherwise."""
    return "prediction" if name == "prediction" or name.startswith("prediction_") else "input"


def compare_tables(
    reference: Mapping[str, Sketch],
    batches: Iterable[Any],
    columns_roles: Mapping[str, str] | None = None,
    *,
    tests: Mapping[str, Sequence[str]] | None = None,
    thresholds: Mapping[str, float] | None = None,
    exact_limit: int = EXACT_LIMIT,
) -> list[dict[str, Any]]:
    """Stream current batches through one accumulator per column and compare each with its sketch.

    Args:
        reference: sketches by column (:func:`reference_sketches`).
        batches: pyarrow RecordBatches or Tables (``pyarrow.dataset(...).to_batches()``, say). A
            column absent from a batch counts that batch's rows as missing.
        columns_roles: the columns to compare and their roles (``"input"`` or ``"prediction"``);
            default: every reference column, ``prediction`` and ``prediction_*`` as predictions.
        tests: per-column test lists overriding :func:`choose_tests`.
        thresholds: per-method threshold overrides.
        exact_limit: current columns keep exact values up to this many.

    Returns:
        One :func:`compare` result per column, in the order of ``columns_roles`` (or ``reference``).
    """
    roles = dict(columns_roles) if columns_roles is not None else {k: default_role(k) for k in reference}
    missing = [k for k in roles if k not in reference]
    if missing:
        raise InvalidArgument(f"no reference sketch for {missing}", field="columns_roles")
    accumulators = {k: accumulator_for(reference[k], exact_limit=exact_limit) for k in roles}
    for batch in batches:
        names = set(batch.schema.names)
        for column, acc in accumulators.items():
            if column in names:
                acc.update(batch.column(column))
            else:
                acc.add_missing(batch.num_rows)
    tests = tests or {}
    return [
        compare(k, reference[k], accumulators[k], role=roles[k], tests=tests.get(k), thresholds=thresholds)
        for k in roles
    ]
