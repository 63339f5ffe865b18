"""Reference sketches (built once from the training data) and current-side accumulators (fed in batches).

A column is **numeric** when its Arrow type is an integer, a float or a decimal, and **categorical**
when it is a string, a dictionary or a boolean (two categories, ``"true"`` and ``"false"``: drift
in a flag is a change of mix, which chi-square and Jensen-Shannon measure directly, while a KS or
Wasserstein test on 0/1 says little). Other types (timestamps, lists, binary) are not sketched.

Counts: ``n`` is the number of rows seen, missing ones included; ``missing`` counts nulls and NaN
(and, on the reference, infinities, which have no place on a numeric scale); ``count`` (= the
values the tests use) is ``n - missing`` minus, on the current side, ``type_violations``: rows whose
value is not of the reference's kind (a string where numbers were, a number where categories
were, an infinity in a numeric column). Such rows are counted, never fatal.

* :class:`NumericSketch`: up to ``max_bins`` bins at the reference's quantiles; per bin its count
  and the sum of its values, so both sides' CDFs *and their integrals* are exact at every edge
  (which bounds the binned KS and Wasserstein, see :mod:`.stats`); min, max, mean, std; and the
  sorted values themselves when there are at most ``exact_limit`` of them.
* :class:`CategoricalSketch`: the ``max_categories`` most frequent values with their counts, and
  the count of the rest ("other"). Past that cap, values the current data shows outside the kept
  categories fall in "other" too: they cannot be told apart from the reference's rare values, so
  they are not reported as unseen.
* :class:`NumericAccumulator` / :class:`CategoricalAccumulator`: take NumPy arrays, pyarrow Arrays
  or ChunkedArrays, batch after batch, in memory independent of the number of rows (bin counts,
  sums, a capped list of unseen categories), keeping exact values only while there are at most
  ``exact_limit`` of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "EXACT_LIMIT",
    "MAX_BINS",
    "MAX_CATEGORIES",
    "CategoricalAccumulator",
    "CategoricalSketch",
    "Kind",
    "NumericAccumulator",
    "NumericSketch",
    "accumulator_for",
    "column_kind",
    "sketch_from_dict",
]

Kind = Literal["numeric", "categorical"]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

MAX_BINS = 1000
MAX_CATEGORIES = 1000
EXACT_LIMIT = 10_000
MAX_UNSEEN_KEPT = 1000  # distinct unseen categories remembered by name; the rest only counted
_SLICE = 8192


def column_kind(dtype: pa.DataType) -> Kind | None:
    """``"numeric"``, ``"categorical"`` or None (not comparable) for an Arrow type."""
    if pa.types.is_dictionary(dtype):
        value = dtype.value_type
        return "categorical" if _is_text(value) or pa.types.is_boolean(value) else column_kind(value)
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "numeric"
    if _is_text(dtype) or pa.types.is_boolean(dtype) or pa.types.is_null(dtype):
        return "categorical"
    return None


def _is_text(dtype: pa.DataType) -> bool:
    return bool(pa.types.is_string(dtype) or pa.types.is_large_string(dtype))


def _chunks(values: Any) -> list[Any]:
    """Arrow arrays for any supported input; an unconvertible one becomes a list of ``[len]``."""
    if isinstance(values, pa.ChunkedArray):
        return list(values.chunks)
    if isinstance(values, pa.Array):
        return [values]
    array = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if array.dtype.kind in "fiub":
        return [pa.array(array.ravel())]
    try:
        return [pa.array(array.ravel(), from_pandas=True)]
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return [[int(array.size)]]  # mixed Python objects: every row is a type violation


def _floats(chunk: Any) -> Floats | None:
    """Float64 values with NaN where missing, or None when the chunk does not hold numbers."""
    dtype = chunk.type
    if pa.types.is_dictionary(dtype):
        chunk, dtype = chunk.dictionary_decode(), dtype.value_type
    if pa.types.is_null(dtype):
        return np.full(len(chunk), np.nan)
    if not (
        pa.types.is_integer(dtype)
        or pa.types.is_floating(dtype)
        or pa.types.is_decimal(dtype)
        or pa.types.is_boolean(dtype)
    ):
        return None
    if not pa.types.is_float64(dtype):
        chunk = pc.cast(chunk, pa.float64())
    out: Floats = chunk.to_numpy(zero_copy_only=False)
    return out


def _category_counts(chunk: Any) -> tuple[Any, Ints] | None:
    """Distinct non-null values (an Arrow string array) and their counts, or None for non-categories."""
    dtype = chunk.type
    if pa.types.is_dictionary(dtype):
        if not (_is_text(dtype.value_type) or pa.types.is_boolean(dtype.value_type)):
            return None
        indices = chunk.indices.drop_null().to_numpy(zero_copy_only=False)
        counts = np.bincount(indices, minlength=len(chunk.dictionary)).astype(np.int64)
        seen = counts > 0
        return chunk.dictionary.cast(pa.string()).filter(pa.array(seen)), counts[seen]
    if pa.types.is_null(dtype):
        return pa.array([], pa.string()), np.zeros(0, np.int64)
    if not (_is_text(dtype) or pa.types.is_boolean(dtype)):
        return None
    if not pa.types.is_string(dtype):
        chunk = chunk.cast(pa.string())
    counted = pc.value_counts(chunk)
    values, counts = counted.field("values"), counted.field("counts")
    valid = values.is_valid()
    return values.filter(valid), counts.filter(valid).to_numpy(zero_copy_only=False).astype(np.int64)


def _nulls(chunk: Any) -> int:
    return int(chunk.null_count) if not isinstance(chunk, list) else 0


# Reference sketches ------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class NumericSketch:
    """A numeric reference column: quantile bins with counts and sums, moments, and small samples whole.

    ``edges`` are the distinct values at the reference's quantiles, ``edges[0]`` its minimum and
    ``edges[-1]`` its maximum. Bin 0 holds the values equal to the minimum and bin k the values in
    ``(edges[k-1], edges[k]]``; ``counts`` and ``sums`` have one entry per bin.
    """

    kind: ClassVar[Kind] = "numeric"
    n: int
    missing: int
    edges: Floats
    counts: Ints
    sums: Floats
    mean: float
    std: float
    values: Floats | None = None

    @property
    def count(self) -> int:
        """Values the tests use (rows that are not missing)."""
        return self.n - self.missing

    @classmethod
    def from_values(cls, values: Any, *, max_bins: int = MAX_BINS, exact_limit: int = EXACT_LIMIT) -> NumericSketch:
        """Sketch a numeric column (NumPy array, pyarrow Array or ChunkedArray, or a list)."""
        parts = [_floats(c) if not isinstance(c, list) else None for c in _chunks(values)]
        if any(p is None for p in parts):
            raise TypeError("a numeric sketch needs numbers")
        x = np.concatenate([p for p in parts if p is not None]) if parts else np.zeros(0)
        finite = x[np.isfinite(x)]
        s = np.sort(finite)
        if s.size == 0:
            empty = np.zeros(0)
            return cls(int(x.size), int(x.size), empty, np.zeros(0, np.int64), empty, 0.0, 0.0, None)
        positions = np.round(np.linspace(0, s.size - 1, min(max_bins, s.size) + 1)).astype(np.int64)
        edges = np.unique(s[positions])
        right = np.searchsorted(s, edges, side="right")
        starts = np.concatenate([[0], right[:-1]])
        counts = (right - starts).astype(np.int64)
        sums = np.add.reduceat(s, starts)  # every bin holds at least its own edge value
        return cls(
            n=int(x.size),
            missing=int(x.size - s.size),
            edges=edges,
            counts=counts,
            sums=sums.astype(np.float64),
            mean=float(np.mean(s)),
            std=float(np.std(s)),
            values=s if s.size <= exact_limit else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form; :func:`sketch_from_dict` reads it back."""
        has = self.edges.size > 0
        return {
            "kind": self.kind,
            "n": self.n,
            "missing": self.missing,
            "min": float(self.edges[0]) if has else None,
            "max": float(self.edges[-1]) if has else None,
            "mean": self.mean,
            "std": self.std,
            "edges": self.edges.tolist(),
            "counts": self.counts.tolist(),
            "sums": self.sums.tolist(),
            "values": self.values.tolist() if self.values is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericSketch:
        values = data.get("values")
        return cls(
            n=int(data["n"]),
            missing=int(data["missing"]),
            edges=np.asarray(data["edges"], dtype=np.float64),
            counts=np.asarray(data["counts"], dtype=np.int64),
            sums=np.asarray(data["sums"], dtype=np.float64),
            mean=float(data["mean"]),
            std=float(data["std"]),
            values=np.asarray(values, dtype=np.float64) if values is not None else None,
        )


@dataclass(frozen=True, eq=False)
class CategoricalSketch:
    """A categorical reference column: counts of its most frequent values, and of the rest (``other``)."""

    kind: ClassVar[Kind] = "categorical"
    n: int
    missing: int
    categories: dict[str, int]
    other: int = 0

    @property
    def count(self) -> int:
        """Values the tests use (rows that are not missing)."""
        return self.n - self.missing

    @classmethod
    def from_values(cls, values: Any, *, max_categories: int = MAX_CATEGORIES) -> CategoricalSketch:
        """Sketch a categorical column (strings, dictionary-encoded strings or booleans)."""
        totals: dict[str, int] = {}
        n = missing = 0
        for chunk in _chunks(values):
            found = None if isinstance(chunk, list) else _category_counts(chunk)
            if found is None:
                raise TypeError("a categorical sketch needs strings, dictionaries or booleans")
            n += len(chunk)
            missing += chunk.null_count
            for value, count in zip(found[0].to_pylist(), found[1].tolist(), strict=True):
                totals[value] = totals.get(value, 0) + int(count)
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = dict(ranked[:max_categories])
        return cls(n=n, missing=missing, categories=kept, other=sum(c for _, c in ranked[max_categories:]))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form; :func:`sketch_from_dict` reads it back."""
        return {
            "kind": self.kind,
            "n": self.n,
            "missing": self.missing,
            "categories": dict(self.categories),
            "other": self.other,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalSketch:
        categories = {str(k): int(v) for k, v in data["categories"].items()}
        return cls(int(data["n"]), int(data["missing"]), categories, int(data.get("other", 0)))


Sketch = NumericSketch | CategoricalSketch


def sketch_from_dict(data: Mapping[str, Any]) -> Sketch:
    """Read back a sketch written by ``to_dict()``."""
    kind = data.get("kind")
    if kind == "numeric":
        return NumericSketch.from_dict(data)
    if kind == "categorical":
        return CategoricalSketch.from_dict(data)
    raise ValueError(f"unknown sketch kind {kind!r}; expected 'numeric' or 'categorical'")


# Current-side accumulators ------------------------------------------------------------------------
class _BinLocator:
    """``np.searchsorted(edges, x, side="left")``, several times faster on large batches.

    A uniform grid of cells spans the edges between their 1st and 99th percentiles (so that a long
    tail does not squeeze the bulk into a few cells); ``cell(x)`` is monotone in x, so for a cell
    that holds no edge the answer is the same for every x in it and comes from a table. Only the
    values in a cell holding an edge (a few percent, with about 100 grid cells per edge) and the
    values beyond the grid take the binary search. The result is identical to ``searchsorted``'s.
    """

    def __init__(self, edges: Floats, cells: int = 1 << 17) -> None:
        self.edges = edges
        self.cells = cells
        trim = edges.size // 100
        self.lo = float(edges[trim]) if edges.size else 0.0
        span = float(edges[edges.size - 1 - trim]) - self.lo if edges.size else 0.0
        self.scale = cells / span if span > 0 and np.isfinite(cells / span) else 0.0
        where = self._cell(edges)
        self.occupied = np.zeros(cells, dtype=bool)
        self.occupied[where] = True
        self.occupied[[0, cells - 1]] = True  # the clipped ends hold everything beyond the grid
        self.before = np.searchsorted(where, np.arange(cells), side="left").astype(np.int32)

    def _cell(self, x: Floats) -> npt.NDArray[np.intp]:
        scaled = (x - self.lo) * self.scale
        np.clip(scaled, 0, self.cells - 1, out=scaled)
        return scaled.astype(np.intp)

    def __call__(self, x: Floats) -> npt.NDArray[np.int64]:
        if self.scale == 0.0 or x.size < 256:
            return np.searchsorted(self.edges, x, side="left")
        cell = self._cell(x)
        out = self.before[cell].astype(np.int64)
        hard = self.occupied[cell]
        if hard.any():
            out[hard] = np.searchsorted(self.edges, x[hard], side="left")
        return out


@dataclass(eq=False)
class NumericAccumulator:
    """Streams a numeric current column over a reference sketch's bins.

    ``counts`` and ``sums`` have ``len(edges) + 2`` cells: below the reference minimum, the
    reference's bins, above its maximum.
    """

    sketch: NumericSketch
    exact_limit: int = EXACT_LIMIT
    n: int = 0
    missing: int = 0
    type_violations: int = 0
    sum_squares: float = 0.0
    min: float = np.inf
    max: float = -np.inf
    counts: Ints = field(init=False)
    sums: Floats = field(init=False)
    _locate: _BinLocator = field(init=False, repr=False)
    _values: list[Floats] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        edges = self.sketch.edges
        lowest = np.nextafter(edges[:1], -np.inf)  # so that bin 1 holds exactly the minimum
        self._locate = _BinLocator(np.concatenate([lowest, edges]))
        self.counts = np.zeros(edges.size + 2, np.int64)
        self.sums = np.zeros(edges.size + 2, np.float64)
        self._values = [] if self.exact_limit > 0 else None

    @property
    def count(self) -> int:
        """Values the tests use (neither missing nor type violations)."""
        return self.n - self.missing - self.type_violations

    @property
    def values(self) -> Floats | None:
        """All the values, sorted, while there are at most ``exact_limit`` of them; else None."""
        if self._values is None:
            return None
        return np.sort(np.concatenate(self._values)) if self._values else np.zeros(0)

    def add_missing(self, rows: int) -> None:
        """Count rows in which the column is absent."""
        self.n += rows
        self.missing += rows

    def update(self, values: Any) -> None:
        """Add a batch: a NumPy array, a pyarrow Array or ChunkedArray, or a list."""
        for chunk in _chunks(values):
            x = None if isinstance(chunk, list) else _floats(chunk)
            if x is None:
                rows = chunk[0] if isinstance(chunk, list) else len(chunk)
                self.n += rows
                self.missing += _nulls(chunk)
                self.type_violations += rows - _nulls(chunk)
                continue
            # slices of NumPy's buffer size keep every temporary in cache: 3-4x faster on big batches
            for start in range(0, x.size, _SLICE):
                self._add(x[start : start + _SLICE])

    def _add(self, x: Floats) -> None:
        self.n += x.size
        finite = np.isfinite(x)
        if not finite.all():
            nan = int(np.count_nonzero(np.isnan(x)))
            self.missing += nan
            self.type_violations += int(x.size - np.count_nonzero(finite)) - nan
            x = x[finite]
        if x.size == 0:
            return
        cells = self._locate(x)
        self.counts += np.bincount(cells, minlength=self.counts.size)
        self.sums += np.bincount(cells, weights=x, minlength=self.sums.size)
        self.sum_squares += float(np.dot(x, x))
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))
        if self._values is not None:
            kept = sum(v.size for v in self._values)
            self._values = [*self._values, np.array(x)] if kept + x.size <= self.exact_limit else None


@dataclass(eq=False)
class CategoricalAccumulator:
    """Streams a categorical current column over a reference sketch's categories.

    ``counts`` has one cell per reference category (in the sketch's order) and a last one for
    "other": values beyond the sketch's kept categories when the reference had more.
    """

    sketch: CategoricalSketch
    n: int = 0
    missing: int = 0
    type_violations: int = 0
    unseen: dict[str, int] = field(default_factory=dict)
    unseen_uncounted: int = 0  # unseen values past MAX_UNSEEN_KEPT distinct names
    counts: Ints = field(init=False)
    _known: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._known = pa.array(list(self.sketch.categories), pa.string())
        self.counts = np.zeros(len(self.sketch.categories) + 1, np.int64)

    @property
    def count(self) -> int:
        """Values the tests use (neither missing nor type violations)."""
        return self.n - self.missing - self.type_violations

    @property
    def unseen_total(self) -> int:
        """Values in categories the reference never had."""
        return sum(self.unseen.values()) + self.unseen_uncounted

    def add_missing(self, rows: int) -> None:
        """Count rows in which the column is absent."""
        self.n += rows
        self.missing += rows

    def update(self, values: Any) -> None:
        """Add a batch: a NumPy array, a pyarrow Array or ChunkedArray, or a list."""
        for chunk in _chunks(values):
            found = None if isinstance(chunk, list) else _category_counts(chunk)
            rows = chunk[0] if isinstance(chunk, list) else len(chunk)
            self.n += rows
            self.missing += _nulls(chunk)
            if found is None:
                self.type_violations += rows - _nulls(chunk)
                continue
            self._add(*found)

    def _add(self, distinct: Any, counts: Ints) -> None:
        index = pc.fill_null(pc.index_in(distinct, value_set=self._known), -1).to_numpy(zero_copy_only=False)
        known = index >= 0
        k = self.counts.size - 1
        self.counts[:k] += np.bincount(index[known], weights=counts[known], minlength=k).astype(np.int64)
        if known.all():
            return
        if self.sketch.other > 0:  # the reference's tail: new values cannot be told from rare ones
            self.counts[k] += int(counts[~known].sum())
            return
        names = distinct.filter(pa.array(~known)).to_pylist()
        for name, count in zip(names, counts[~known].tolist(), strict=True):
            if name in self.unseen or len(self.unseen) < MAX_UNSEEN_KEPT:
                self.unseen[name] = self.unseen.get(name, 0) + int(count)
            else:
                self.unseen_uncounted += int(count)


Accumulator = NumericAccumulator | CategoricalAccumulator


def accumulator_for(sketch: Sketch, *, exact_limit: int = EXACT_LIMIT) -> Accumulator:
    """An empty current-side accumulator matching a reference sketch."""
    if isinstance(sketch, NumericSketch):
        return NumericAccumulator(sketch, exact_limit=exact_limit)
    return CategoricalAccumulator(sketch)


def sketch_column(
    values: Any,
    kind: Kind,
    *,
    max_bins: int = MAX_BINS,
    max_categories: int = MAX_CATEGORIES,
    exact_limit: int = EXACT_LIMIT,
) -> Sketch:
    """Sketch one reference column of the given kind."""
    if kind == "numeric":
        return NumericSketch.from_values(values, max_bins=max_bins, exact_limit=exact_limit)
    return CategoricalSketch.from_values(values, max_categories=max_categories)


def infer_kind(values: Any) -> Kind | None:
    """The kind of a column from its type (see the module docstring)."""
    chunks = [c for c in _chunks(values) if not isinstance(c, list)]
    return column_kind(chunks[0].type) if chunks else None


def iter_columns(data: Any) -> Iterable[tuple[str, Any]]:
    """``(name, values)`` pairs of a pyarrow Table or RecordBatch, a mapping of arrays, or anything
    ``pyarrow.table()`` accepts (a pandas DataFrame, say)."""
    if isinstance(data, Mapping):
        return [(str(k), v) for k, v in data.items()]
    table = data if isinstance(data, pa.Table | pa.RecordBatch) else pa.table(data)
    return list(zip(table.schema.names, table.columns, strict=True))
