"""Formatting and inline SVG charts for the monitoring report (standard library only).

Each chart function returns one ``<svg>`` string with no external reference (no ``xmlns`` URL, no
fonts, no images); every string from the input is escaped with :func:`esc`. Numbers are formatted
by :func:`fmt_num` to about three significant digits, with ``k``/``M``/``G`` or scientific notation
for very large or small values. Each bar or point carries an SVG ``<title>`` with the exact values,
which browsers show as a tooltip.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

REFERENCE_COLOUR = "#3b6ea8"
CURRENT_COLOUR = "#e8871e"
WIDTH = 760
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 34, 42
_LABEL_W, _ROW_H = 180, 26
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def esc(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute; control characters become U+FFFD."""
    text = "" if value is None else str(value)
    return html.escape(_UNSAFE.sub("\ufffd", text), quote=True)


def mapping(value: object) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one (every input key may be missing or null)."""
    return value if isinstance(value, Mapping) else {}


def seq(value: object) -> list[Any]:
    """The value as a list if it is a list or tuple, else an empty list."""
    return list(value) if isinstance(value, list | tuple) else []


def as_float(value: object) -> float | None:
    """A real number as a float (NaN and infinities kept); None for anything else, booleans included."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def as_count(value: object) -> float:
    """A finite, non-negative count; anything else counts as zero."""
    number = as_float(value)
    return number if number is not None and math.isfinite(number) and number > 0 else 0.0


def _fixed(number: float, magnitude: int, digits: int) -> str:
    text = f"{number:.{max(0, digits - 1 - magnitude)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_num(value: object, digits: int = 3) -> str:
    """About ``digits`` significant digits: ``0.0123``, ``12.3``, ``45.6k``, ``1.2e-05`` → ``1.2e-5``."""
    number = as_float(value)
    if number is None:
        return "—"
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    if number == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(number)))
    if -3 <= magnitude < 4:
        return _fixed(number, magnitude, digits)
    for power, suffix in ((9, "G"), (6, "M"), (3, "k")):
        if 4 <= magnitude < 12 and magnitude >= power:
            return _fixed(number / 10**power, magnitude - power, digits) + suffix
    mantissa, exponent = f"{number:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{int(exponent)}"


def fmt_share(value: object) -> str:
    """A share in [0, 1] as a percentage: ``0.1234`` → ``12.3%``; None → ``—``."""
    number = as_float(value)
    if number is None or not math.isfinite(number):
        return fmt_num(number)
    return fmt_num(number * 100) + "%"


def fmt_int(value: object) -> str:
    """A whole number with thousands separators: ``1234567`` → ``1,234,567``."""
    number = as_float(value)
    if number is None or not math.isfinite(number):
        return fmt_num(number)
    return f"{round(number):,}"


def fmt_time(value: object, pattern: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    """Epoch milliseconds as a UTC time; ``—`` when missing or out of range."""
    number = as_float(value)
    if number is None or not math.isfinite(number):
        return "—"
    try:
        return datetime.fromtimestamp(number / 1000, tz=UTC).strftime(pattern)
    except (OverflowError, OSError, ValueError):
        return fmt_num(number)


def ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round axis ticks covering [low, high] (a flat range is widened so the axis stays readable)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if high - low <= abs(high) * 1e-12:
        pad = abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [i * step for i in range(first, last + 1)]


def _open(height: int, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{esc(label)}">'
        f"<title>{esc(label)}</title>"
    )


def _legend(items: Sequence[tuple[str, str]], x: float = _LEFT, dashed: int = -1) -> str:
    parts = []
    for index, (colour, text) in enumerate(items):
        if index == dashed:
            line = f'<line x1="{x}" x2="{x + 12}" y1="16" y2="16" stroke="{colour}"'
            parts.append(f'{line} stroke-width="2" stroke-dasharray="3 2"/>')
        else:
            parts.append(f'<rect x="{x}" y="10" width="12" height="12" rx="2" fill="{colour}"/>')
        parts.append(f'<text class="legend" x="{x + 17}" y="20">{esc(text)}</text>')
        x += 30 + 7 * len(text)
    return "".join(parts)


def _y_axis(axis: list[float], y_of: Callable[[float], float], label: Callable[[float], str], right: float) -> str:
    parts = []
    for value in axis:
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{right:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(label(value))}</text>')
    return "".join(parts)


def empty_svg(label: str, message: str) -> str:
    """A small placeholder chart saying why there is nothing to draw."""
    return (
        f'{_open(60, label)}<text class="empty" x="{WIDTH / 2}" y="34" text-anchor="middle">{esc(message)}</text></svg>'
    )


def _shares(counts: Sequence[float]) -> list[float]:
    total = sum(counts)
    return [count / total if total > 0 else 0.0 for count in counts]


def _hist_counts(side: object) -> list[float]:
    return [as_count(count) for count in seq(mapping(mapping(side).get("histogram")).get("counts"))]


def _edge_labels(edges: list[Any], bins: int) -> list[str]:
    return [fmt_num(edges[i]) if i < len(edges) else "?" for i in range(bins + 1)]


def _x_label_indices(bins: int, most: int = 9) -> list[int]:
    step = max(1, math.ceil((bins + 1) / most))
    indices = list(range(0, bins + 1, step))
    if indices[-1] != bins:
        if bins - indices[-1] < step / 2 and len(indices) > 1:
            indices.pop()
        indices.append(bins)
    return indices


def _hist_bars(ref: list[float], cur: list[float], labels: list[str], scale: float, plot_h: float) -> str:
    ref_share, cur_share = _shares(ref), _shares(cur)
    slot = (WIDTH - _LEFT - _RIGHT) / len(ref)
    base, gap, bar = _TOP + plot_h, slot * 0.1, slot * 0.4
    ref_n, cur_n = fmt_int(sum(ref)), fmt_int(sum(cur))
    parts = []
    for i in range(len(ref)):
        x = _LEFT + i * slot
        closing = "]" if i == len(ref) - 1 else ")"
        tip = (
            f"[{labels[i]}, {labels[i + 1]}{closing} reference {fmt_share(ref_share[i])} ({fmt_int(ref[i])} of {ref_n})"
            f" · current {fmt_share(cur_share[i])} ({fmt_int(cur[i])} of {cur_n})"
        )
        parts.append(f"<g><title>{esc(tip)}</title>")
        for offset, share, colour in ((gap, ref_share[i], REFERENCE_COLOUR), (gap + bar, cur_share[i], CURRENT_COLOUR)):
            h = share * scale
            parts.append(
                f'<rect x="{x + offset:.2f}" y="{base - h:.2f}" width="{bar:.2f}" height="{h:.2f}" fill="{colour}"/>'
            )
        parts.append(f'<rect class="hover" x="{x:.2f}" y="{_TOP}" width="{slot:.2f}" height="{plot_h}"/></g>')
    return "".join(parts)


def _hist_x_axis(labels: list[str], base: float) -> str:
    bins = len(labels) - 1
    slot = (WIDTH - _LEFT - _RIGHT) / bins
    parts = [f'<line class="axis" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{base}" y2="{base}"/>']
    for i in _x_label_indices(bins):
        x = _LEFT + i * slot
        parts.append(f'<line class="axis" x1="{x:.2f}" x2="{x:.2f}" y1="{base}" y2="{base + 4}"/>')
        parts.append(f'<text class="tick" x="{x:.2f}" y="{base + 17}" text-anchor="middle">{esc(labels[i])}</text>')
    return "".join(parts)


def histogram_svg(name: str, reference: object, current: object) -> str:
    """Reference and current histograms as side-by-side bars of shares, one equal-width slot per bin.

    Shares (count / total) make samples of different sizes comparable; slots of equal width keep
    quantile bins and open-ended outer bins (edges of ±inf) readable. Tick labels are the bin edges.
    """
    edges = seq(mapping(mapping(reference).get("histogram")).get("edges"))
    ref, cur = _hist_counts(reference), _hist_counts(current)
    bins = max(len(ref), len(cur), len(edges) - 1)
    if bins <= 0:
        return empty_svg(f"{name}: no histogram", "No histogram data")
    ref, cur = ref + [0.0] * (bins - len(ref)), cur + [0.0] * (bins - len(cur))
    height = 260
    plot_h = height - _TOP - _BOTTOM
    axis = ticks(0.0, max([*_shares(ref), *_shares(cur), 0.0]) or 1.0)
    scale = plot_h / axis[-1]
    labels = _edge_labels(edges, bins)
    return "".join(
        [
            _open(height, f"{name}: reference vs current distribution (share of rows per bin)"),
            _y_axis(axis, lambda v: _TOP + plot_h - v * scale, fmt_share, WIDTH - _RIGHT),
            _hist_bars(ref, cur, labels, scale, plot_h),
            _hist_x_axis(labels, _TOP + plot_h),
            _legend(
                [
                    (REFERENCE_COLOUR, f"reference (n={fmt_int(sum(ref))})"),
                    (CURRENT_COLOUR, f"current (n={fmt_int(sum(cur))})"),
                ]
            ),
            "</svg>",
        ]
    )


class _CategoryRow(NamedTuple):
    label: str
    ref: float
    cur: float
    other: bool


def _category_counts(side: object) -> dict[str, float]:
    counts: dict[str, float] = {}
    for key, count in mapping(mapping(side).get("categories")).items():
        counts[str(key)] = counts.get(str(key), 0.0) + as_count(count)
    return counts


def category_rows(reference: object, current: object, top: int = 20) -> list[_CategoryRow]:
    """The ``top`` categories by reference share + current share, then one "other" row for the rest."""
    ref, cur = _category_counts(reference), _category_counts(current)
    ref_total, cur_total = sum(ref.values()), sum(cur.values())

    def weight(key: str) -> float:
        return (ref.get(key, 0.0) / ref_total if ref_total else 0.0) + (
            cur.get(key, 0.0) / cur_total if cur_total else 0.0
        )

    keys = sorted(dict.fromkeys([*ref, *cur]), key=weight, reverse=True)
    rows = [_CategoryRow(key, ref.get(key, 0.0), cur.get(key, 0.0), False) for key in keys[:top]]
    rest = keys[top:]
    if rest:
        label = f"other ({len(rest)} categories)"
        rows.append(_CategoryRow(label, sum(ref.get(k, 0.0) for k in rest), sum(cur.get(k, 0.0) for k in rest), True))
    return rows


def _truncate(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _category_bar(row: _CategoryRow, y: float, totals: tuple[float, float], scale: float) -> str:
    ref_share = row.ref / totals[0] if totals[0] else 0.0
    cur_share = row.cur / totals[1] if totals[1] else 0.0
    tip = (
        f"{row.label}: reference {fmt_share(ref_share)} ({fmt_int(row.ref)} of {fmt_int(totals[0])})"
        f" · current {fmt_share(cur_share)} ({fmt_int(row.cur)} of {fmt_int(totals[1])})"
    )
    css = "cat other" if row.other else "cat"
    return (
        f'<g><title>{esc(tip)}</title><text class="{css}" x="{_LABEL_W - 8}" y="{y + 17:.1f}" text-anchor="end">'
        f"{esc(_truncate(row.label))}</text>"
        f'<rect x="{_LABEL_W}" y="{y + 4:.1f}" width="{ref_share * scale:.2f}" height="9" fill="{REFERENCE_COLOUR}"/>'
        f'<rect x="{_LABEL_W}" y="{y + 14:.1f}" width="{cur_share * scale:.2f}" height="9" fill="{CURRENT_COLOUR}"/>'
        f'<rect class="hover" x="0" y="{y:.1f}" width="{WIDTH}" height="{_ROW_H}"/></g>'
    )


def categories_svg(name: str, reference: object, current: object, top: int = 20) -> str:
    """Grouped horizontal bars, reference vs current share per category (top ``top`` plus "other")."""
    rows = category_rows(reference, current, top)
    if not rows:
        return empty_svg(f"{name}: no categories", "No category counts")
    totals = (sum(r.ref for r in rows), sum(r.cur for r in rows))
    shares = [r.ref / totals[0] for r in rows if totals[0]] + [r.cur / totals[1] for r in rows if totals[1]]
    axis = ticks(0.0, max([*shares, 0.0]) or 1.0)
    scale = (WIDTH - _LABEL_W - _RIGHT) / axis[-1]
    bottom = _TOP + len(rows) * _ROW_H
    parts = [_open(bottom + 26, f"{name}: reference vs current share per category")]
    for value in axis:
        x = _LABEL_W + value * scale
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{bottom}"/>')
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{esc(fmt_share(value))}</text>'
        )
    parts.extend(_category_bar(row, _TOP + i * _ROW_H, totals, scale) for i, row in enumerate(rows))
    parts.append(
        _legend(
            [
                (REFERENCE_COLOUR, f"reference (n={fmt_int(totals[0])})"),
                (CURRENT_COLOUR, f"current (n={fmt_int(totals[1])})"),
            ],
            x=_LABEL_W,
        )
    )
    return "".join(parts) + "</svg>"


def _line_x(times: Sequence[float | None]) -> list[float]:
    plot_w = WIDTH - _LEFT - _RIGHT
    known = [t for t in times if t is not None and math.isfinite(t)]
    if not known or len(known) < len(times) or max(known) <= min(known):
        return [_LEFT + i / max(1, len(times) - 1) * plot_w for i in range(len(times))]
    low, span = min(known), max(known) - min(known)
    return [_LEFT + (t - low) / span * plot_w for t in known]


def _line_marks(xs: list[float], values: Sequence[float], tips: Sequence[str], y_of: Callable[[float], float]) -> str:
    path = " ".join(f"{x:.1f},{y_of(v):.1f}" for x, v in zip(xs, values, strict=True))
    parts = [f'<polyline points="{path}" fill="none" stroke="{CURRENT_COLOUR}" stroke-width="2"/>']
    for x, v, tip in zip(xs, values, tips, strict=True):
        circle = f'<circle cx="{x:.1f}" cy="{y_of(v):.1f}" r="4" fill="{CURRENT_COLOUR}">'
        parts.append(f"{circle}<title>{esc(tip)}</title></circle>")
    return "".join(parts)


def _reference_line(reference: float, y: float) -> str:
    line = f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{REFERENCE_COLOUR}"'
    return (
        f'{line} stroke-width="2" stroke-dasharray="6 4"><title>reference {esc(fmt_num(reference, 4))}</title></line>'
    )


def line_svg(
    label: str, times: Sequence[float | None], values: Sequence[float], tips: Sequence[str], reference: float | None
) -> str:
    """A metric over time: one point per window (``times`` in epoch ms), a dashed line at the reference value."""
    height = 230
    plot_h = height - _TOP - _BOTTOM
    base = _TOP + plot_h
    extent = [*values, *([reference] if reference is not None else [])]
    axis = ticks(min(extent), max(extent))

    def y_of(v: float) -> float:
        return base - (v - axis[0]) / (axis[-1] - axis[0]) * plot_h

    xs = _line_x(times)
    parts = [_open(height, f"{label} over time"), _y_axis(axis, y_of, fmt_num, WIDTH - _RIGHT)]
    parts.append(f'<line class="axis" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{base}" y2="{base}"/>')
    if reference is not None:
        parts.append(_reference_line(reference, y_of(reference)))
    parts.append(_line_marks(xs, values, tips, y_of))
    for x, moment, anchor in ((xs[0], times[0], "start"), (xs[-1], times[-1], "end")):
        when = esc(fmt_time(moment, "%Y-%m-%d %H:%M"))
        parts.append(f'<text class="tick" x="{x:.1f}" y="{base + 17}" text-anchor="{anchor}">{when}</text>')
    legend = [(CURRENT_COLOUR, "current windows")]
    if reference is not None:
        legend.append((REFERENCE_COLOUR, "reference"))
    parts.append(_legend(legend, dashed=1))
    return "".join(parts) + "</svg>"
