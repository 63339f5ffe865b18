"""Render a monitoring result as one self-contained HTML page.

The page has no scripts, web fonts, images or URLs of any kind: inline CSS and inline SVG only, so
it opens from a file without a network and prints. Every string taken from the result (monitor,
feature and category names, messages) is escaped. Any key of the result may be missing or null.

Example:
    >>> page = render_report({"features": [], "summary": {"dataset_drift": False}})
    >>> page.startswith("<!DOCTYPE html>") and "0 of 0 features drifted" in page
    True
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipyard.analysis.report_svg import (
    as_float,
    categories_svg,
    empty_svg,
    esc,
    fmt_int,
    fmt_num,
    fmt_share,
    fmt_time,
    histogram_svg,
    line_svg,
    mapping,
    seq,
)

__all__ = ["render_report", "write_report"]

_CSS = """
:root{--ink:#1f2328;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa;--bad:#b42318;--ok:#1a7f37;--warn:#7d4e00}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1080px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:26px;margin:0 0 8px}h2{font-size:19px;margin:0 0 12px}h3{font-size:16px;margin:0}
section,header.top{background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:0 0 16px}
.eyebrow{margin:0;color:var(--muted);font-size:13px;text-transform:uppercase;letter-spacing:.06em}
dl.meta{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:8px 24px;margin:8px 0 0}
dl.meta dt{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
dl.meta dd{margin:0;overflow-wrap:anywhere}
.headline{font-size:18px;margin:0;display:flex;flex-wrap:wrap;gap:10px;align-items:center}
.badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600;
 border:1px solid transparent;white-space:nowrap;vertical-align:middle}
.badge.bad{background:var(--bad);color:#fff}.badge.ok{background:var(--ok);color:#fff}
.badge.warn{background:#fff1c2;color:var(--warn);border-color:#d4a72c}
.badge.neutral{background:#eaeef2;color:var(--ink);border-color:var(--line)}
.tag{display:inline-block;font-size:12px;color:var(--muted);border:1px solid var(--line);
 border-radius:4px;padding:0 6px}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em;background:#fafbfc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{overflow-wrap:anywhere;max-width:260px}
tr.drifted td:first-child{box-shadow:inset 3px 0 0 var(--bad)}
a{color:#0b5cad}
.card{border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin:0 0 14px;break-inside:avoid}
.card.drifted{border-left:5px solid var(--bad)}
.card-head{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-bottom:8px}
.card-head h3{overflow-wrap:anywhere}
.note{color:var(--muted);font-size:13px;margin:6px 0}
.empty{color:var(--muted);font-style:italic;margin:0}
ul.alerts{list-style:none;padding:0;margin:0}ul.alerts li{padding:6px 0;border-bottom:1px solid var(--line)}
code{font-size:13px;background:#eef1f4;border-radius:3px;padding:0 4px;overflow-wrap:anywhere}
svg.chart{display:block;width:100%;max-width:760px;height:auto;margin:6px 0}
svg.chart text{font-size:11px;fill:var(--muted)}svg.chart text.legend{font-size:12px;fill:var(--ink)}
svg.chart text.cat{font-size:12px;fill:var(--ink)}svg.chart text.other{font-style:italic}
svg.chart .grid{stroke:#e6e9ed}svg.chart .axis{stroke:#8c959f}
svg.chart .hover{fill:#000;fill-opacity:0}svg.chart g:hover .hover{fill-opacity:.05}
section.performance h3{margin-top:20px}
footer{color:var(--muted);font-size:12px;text-align:center}
@media print{body{background:#fff;font-size:12px}main{max-width:none;padding:0}
 section,header.top{border:none;padding:0;margin-bottom:18px}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}a{color:inherit;text-decoration:none}
 tr,.card{break-inside:avoid}}
"""

_SEVERITY = {"critical": "bad", "error": "bad", "high": "bad", "warning": "warn", "warn": "warn", "medium": "warn"}


def _badge(drift: object) -> str:
    if drift is True:
        return '<span class="badge bad">DRIFT</span>'
    if drift is False:
        return '<span class="badge ok">OK</span>'
    return '<span class="badge neutral">unknown</span>'


def _num_cell(text: str) -> str:
    return f'<td class="num">{esc(text)}</td>'


def _section(css: str, title: str, body: str) -> str:
    return f'<section class="{css}"><h2>{esc(title)}</h2>{body}</section>'


def _table(columns: Sequence[str], rows: Sequence[str], css: str = "") -> str:
    head = "".join(f'<th class="num">{c}</th>' if c in _NUMERIC_COLUMNS else f"<th>{c}</th>" for c in columns)
    body = "".join(rows)
    return f'<div class="wrap"><table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _header(result: Mapping[str, Any]) -> str:
    monitor, window = mapping(result.get("monitor")), mapping(result.get("window"))
    name = monitor.get("name") or monitor.get("id") or "Monitor"
    version = monitor.get("version")
    model = esc(monitor.get("model") or "—") + (f" · version {esc(version)}" if version not in (None, "") else "")
    rows = f"{esc(fmt_int(window.get('rows')))} current · {esc(fmt_int(window.get('reference_rows')))} reference"
    items = [
        ("Monitor", esc(monitor.get("id") or "—")),
        ("Model", model),
        ("Window (UTC)", f"{esc(fmt_time(window.get('start_ms')))} → {esc(fmt_time(window.get('end_ms')))}"),
        ("Rows", rows),
        ("Computed at", esc(fmt_time(result.get("computed_at_ms")))),
    ]
    meta = "".join(f"<div><dt>{label}</dt><dd>{value}</dd></div>" for label, value in items)
    eyebrow = '<p class="eyebrow">Shipyard monitoring report</p>'
    return f'<header class="top">{eyebrow}<h1>{esc(name)}</h1><dl class="meta">{meta}</dl></header>'


def _summary(result: Mapping[str, Any], features: Sequence[Mapping[str, Any]]) -> str:
    summary = mapping(result.get("summary"))
    total = as_float(summary.get("features"))
    total = len(features) if total is None else total
    drifted = as_float(summary.get("drifted"))
    drifted = sum(1 for f in features if f.get("drift") is True) if drifted is None else drifted
    share = as_float(summary.get("share"))
    share = (drifted / total if total else None) if share is None else share
    dataset = summary.get("dataset_drift")
    if dataset is True:
        badge, verdict = '<span class="badge bad">Dataset drift</span>', "yes"
    elif dataset is False and drifted:
        badge, verdict = '<span class="badge warn">Some features drifted</span>', "no"
    elif dataset is False:
        badge, verdict = '<span class="badge ok">No drift</span>', "no"
    else:
        badge, verdict = '<span class="badge neutral">Drift unknown</span>', "unknown"
    noun = "feature" if total == 1 else "features"
    line = f"{fmt_int(drifted)} of {fmt_int(total)} {noun} drifted ({fmt_share(share)}) · dataset drift: {verdict}"
    rows = as_float(mapping(result.get("window")).get("rows"))
    empty = '<p class="note">The current window has no rows.</p>' if rows == 0 else ""
    return _section("summary", "Summary", f'<p class="headline">{badge}<span>{esc(line)}</span></p>{empty}')


def _alerts(result: Mapping[str, Any]) -> str:
    alerts = [mapping(a) for a in seq(result.get("alerts"))]
    if not alerts:
        return ""
    items = []
    for alert in alerts:
        severity = str(alert.get("severity") or "alert")
        css = _SEVERITY.get(severity.lower(), "neutral")
        items.append(
            f'<li><span class="badge {css}">{esc(severity)}</span> <strong>{esc(alert.get("rule") or "")}</strong> '
            f'{esc(alert.get("message") or "")} <span class="note">{esc(fmt_time(alert.get("at_ms")))}</span></li>'
        )
    return _section("alerts", f"Alerts ({len(alerts)})", f'<ul class="alerts">{"".join(items)}</ul>')


def _kind(feature: Mapping[str, Any]) -> str:
    kind = feature.get("kind")
    if kind in ("numeric", "categorical"):
        return str(kind)
    reference = mapping(feature.get("reference"))
    if "categories" in reference:
        return "categorical"
    return "numeric" if "histogram" in reference else "unknown"


def _range_share(feature: Mapping[str, Any]) -> str:
    quality = mapping(feature.get("quality"))
    key = "unseen_share" if _kind(feature) == "categorical" else "out_of_range_share"
    return fmt_share(quality.get(key))


def _feature_row(index: int, feature: Mapping[str, Any]) -> str:
    test = mapping(next(iter(seq(feature.get("tests"))), None))
    css = ' class="drifted"' if feature.get("drift") is True else ""
    return (
        f'<tr{css}><td class="name"><a href="#feature-{index}">{esc(_name(feature, index))}</a></td>'
        f"<td>{esc(feature.get('role') or '—')}</td><td>{esc(_kind(feature))}</td>"
        f"<td>{esc(test.get('method') or '—')}</td>{_num_cell(fmt_num(test.get('statistic')))}"
        f"{_num_cell(fmt_num(test.get('p_value')))}{_num_cell(fmt_num(test.get('threshold')))}"
        f"<td>{_badge(feature.get('drift'))}</td>"
        f"{_num_cell(fmt_share(mapping(feature.get('quality')).get('missing_share')))}"
        f"{_num_cell(_range_share(feature))}</tr>"
    )


def _feature_table(features: Sequence[Mapping[str, Any]]) -> str:
    if not features:
        return _section("features", "Features", '<p class="empty">No features were monitored.</p>')
    columns = ("Feature", "Role", "Kind", "Test", "Statistic", "p-value", "Threshold", "Drift", "Missing")
    rows = [_feature_row(index, feature) for index, feature in enumerate(features)]
    table = _table([*columns, "Out of range / unseen"], rows, "feature-table")
    return _section("features", f"Features ({len(features)}, drifted first)", table)


_NUMERIC_COLUMNS = frozenset(
    {"Statistic", "p-value", "Threshold", "Missing", "Out of range / unseen", "Current", "Reference", "Change"}
)


def _name(feature: Mapping[str, Any], index: int) -> str:
    name = feature.get("name")
    return f"feature {index + 1}" if name is None else str(name)


def _chart(feature: Mapping[str, Any], name: str) -> str:
    kind = _kind(feature)
    if kind == "categorical":
        return categories_svg(name, feature.get("reference"), feature.get("current"))
    if kind == "numeric":
        return histogram_svg(name, feature.get("reference"), feature.get("current"))
    return empty_svg(f"{name}: no distribution", "No distribution data")


def _samples(feature: Mapping[str, Any]) -> str:
    parts = []
    for side in ("reference", "current"):
        data = mapping(feature.get(side))
        parts.append(f"{side}: n = {fmt_int(data.get('n'))}, missing {fmt_int(data.get('missing'))}")
    return f'<p class="note">{esc(" · ".join(parts))}</p>'


def _tests_table(tests: Sequence[Mapping[str, Any]]) -> str:
    if not tests:
        return '<p class="empty">No tests were run for this feature.</p>'
    rows = [
        f"<tr><td>{esc(test.get('method') or '—')}</td>{_num_cell(fmt_num(test.get('statistic'), 4))}"
        f"{_num_cell(fmt_num(test.get('p_value'), 4))}{_num_cell(fmt_num(test.get('threshold'), 4))}"
        f"<td>{_badge(test.get('drift'))}</td></tr>"
        for test in tests
    ]
    return _table(("Test", "Statistic", "p-value", "Threshold", "Result"), rows, "tests")


def _quality_note(feature: Mapping[str, Any]) -> str:
    quality = mapping(feature.get("quality"))
    if not quality:
        return ""
    notes = [f"missing {esc(fmt_share(quality.get('missing_share')))}"]
    for key, label in (("out_of_range_share", "out of range"), ("unseen_share", "unseen categories")):
        if as_float(quality.get(key)) is not None:
            notes.append(f"{label} {esc(fmt_share(quality.get(key)))}")
    violations = as_float(quality.get("type_violations"))
    if violations:
        notes.append(f"{esc(fmt_int(violations))} type violations")
    unseen = seq(quality.get("unseen_categories"))
    text = "Data quality: " + ", ".join(notes)
    if unseen:
        more = f" and {len(unseen) - 20} more" if len(unseen) > 20 else ""
        text += "; unseen values: " + ", ".join(f"<code>{esc(value)}</code>" for value in unseen[:20]) + more
    return f'<p class="note">{text}</p>'


def _feature_card(index: int, feature: Mapping[str, Any]) -> str:
    name = _name(feature, index)
    css = "card drifted" if feature.get("drift") is True else "card"
    tags = "".join(f'<span class="tag">{esc(tag)}</span>' for tag in (feature.get("role"), _kind(feature)) if tag)
    head = f'<div class="card-head"><h3>{esc(name)}</h3>{_badge(feature.get("drift"))}{tags}</div>'
    tests = _tests_table([mapping(test) for test in seq(feature.get("tests"))])
    why = feature.get("chosen_because")
    why_html = f'<p class="note"><strong>Why these tests:</strong> {esc(why)}</p>' if why else ""
    body = f"{_chart(feature, name)}{_samples(feature)}{tests}{why_html}{_quality_note(feature)}"
    return f'<article class="{css}" id="feature-{index}">{head}{body}</article>'


def _feature_cards(features: Sequence[Mapping[str, Any]]) -> str:
    if not features:
        return ""
    cards = "\n".join(_feature_card(index, feature) for index, feature in enumerate(features))
    return _section("cards", "Feature details", cards)


def _feature_issues(features: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    rows = []
    for index, feature in enumerate(features):
        name, quality = _name(feature, index), mapping(feature.get("quality"))
        missing, out = as_float(quality.get("missing_share")), as_float(quality.get("out_of_range_share"))
        if missing:
            rows.append((name, "missing values", f"{fmt_share(missing)} of rows"))
        if out:
            rows.append((name, "out of range", f"{fmt_share(out)} of rows outside the reference range"))
        unseen = seq(quality.get("unseen_categories"))
        if unseen:
            values = "1 value" if len(unseen) == 1 else f"{len(unseen)} values"
            rows.append((name, "unseen categories", f"{values}, {fmt_share(quality.get('unseen_share'))} of rows"))
        violations = as_float(quality.get("type_violations"))
        if violations:
            rows.append((name, "type violations", f"{fmt_int(violations)} values of the wrong type"))
    return rows


def _quality(result: Mapping[str, Any], features: Sequence[Mapping[str, Any]]) -> str:
    quality = mapping(result.get("quality"))
    absent = "in the reference, absent from the current data"
    rows = [(str(c), "missing column", absent) for c in seq(quality.get("missing_columns"))]
    rows += [(str(c), "extra column", "not in the reference") for c in seq(quality.get("extra_columns"))]
    for item in map(mapping, seq(quality.get("violations"))):
        share = f"{fmt_share(item.get('share'))} of rows"
        rows.append((str(item.get("column") or "—"), str(item.get("kind") or "violation"), share))
    rows += _feature_issues(features)
    if not rows:
        return _section("quality", "Data quality", '<p class="empty">No data-quality issues found.</p>')
    cells = [f'<tr><td class="name">{esc(c)}</td><td>{esc(k)}</td><td>{esc(d)}</td></tr>' for c, k, d in rows]
    return _section("quality", f"Data quality ({len(rows)} issues)", _table(("Column", "Issue", "Detail"), cells))


def _finite(value: object) -> float | None:
    number = as_float(value)
    return number if number is not None and math.isfinite(number) else None


def _metrics_table(metrics: Mapping[str, Any], reference: Mapping[str, Any]) -> str:
    names = list(dict.fromkeys([*metrics, *reference]))
    if not names:
        return '<p class="empty">No metrics were computed.</p>'
    rows = []
    for name in names:
        current, base = _finite(metrics.get(name)), _finite(reference.get(name))
        change = "—" if current is None or base is None else ("+" if current > base else "") + fmt_num(current - base)
        rows.append(
            f"<tr><td>{esc(name)}</td>{_num_cell(fmt_num(metrics.get(name), 4))}"
            f"{_num_cell(fmt_num(reference.get(name), 4))}{_num_cell(change)}</tr>"
        )
    return _table(("Metric", "Current", "Reference", "Change"), rows, "metrics")


def _span(window: Mapping[str, Any]) -> str:
    return f"{fmt_time(window.get('start_ms'))} → {fmt_time(window.get('end_ms'))}"


def _metric_charts(windows: Sequence[Mapping[str, Any]], reference: Mapping[str, Any]) -> str:
    names = dict.fromkeys(str(key) for window in windows for key in mapping(window.get("metrics")))
    charts = []
    for name in names:
        points = [(w, v) for w in windows if (v := _finite(mapping(w.get("metrics")).get(name))) is not None]
        if len(points) < 2:
            continue
        tips = [f"{_span(w)}: {name} = {fmt_num(v, 4)} ({fmt_int(w.get('rows'))} rows)" for w, v in points]
        times = [as_float(w.get("start_ms")) for w, _ in points]
        svg = line_svg(name, times, [v for _, v in points], tips, _finite(reference.get(name)))
        charts.append(f"<h3>{esc(name)} over time</h3>{svg}")
    return "".join(charts)


def _performance(result: Mapping[str, Any]) -> str:
    performance = result.get("performance")
    if not isinstance(performance, Mapping):
        note = "No labelled data: performance was not computed for this window."
        return _section("performance", "Performance", f'<p class="empty">{note}</p>')
    metrics, reference = mapping(performance.get("metrics")), mapping(performance.get("reference_metrics"))
    task = esc(performance.get("task") or "—")
    note = f'<p class="note">Task: {task} · labelled rows: {esc(fmt_int(performance.get("labelled_rows")))}</p>'
    windows = [mapping(window) for window in seq(performance.get("over_time"))]
    body = f"{note}{_metrics_table(metrics, reference)}{_metric_charts(windows, reference)}"
    return _section("performance", "Performance", body)


def render_report(result: Mapping[str, Any]) -> str:
    """Render a monitoring result (the JSON-able dict a monitor run produces) as one HTML page.

    Sections, in order: header, summary, alerts (if any), the feature table (drifted first), one
    card per feature with its chart and tests, data-quality issues, performance.

    Args:
        result: the monitoring result; only ``features`` is expected, every other key may be missing.

    Returns:
        A complete, self-contained HTML document.
    """
    result = mapping(result)
    features = [mapping(feature) for feature in seq(result.get("features"))]
    ordered = sorted(features, key=lambda feature: feature.get("drift") is not True)
    monitor = mapping(result.get("monitor"))
    title = f"Monitoring report: {monitor.get('name') or monitor.get('id') or 'monitor'}"
    sections = [
        _header(result),
        _summary(result, features),
        _alerts(result),
        _feature_table(ordered),
        _feature_cards(ordered),
        _quality(result, ordered),
        _performance(result),
    ]
    head = (
        '<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>"
    )
    footer = "<footer>Generated by Shipyard. Self-contained: no scripts, fonts or network needed.</footer>"
    body = "\n".join([*sections, footer])
    document = f"<head>\n{head}\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>"
    return f'<!DOCTYPE html>\n<html lang="en">\n{document}\n</html>\n'


def write_report(result: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Render ``result`` and write it to ``path`` as UTF-8 (creating parent folders); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(result), encoding="utf-8")
    return target
