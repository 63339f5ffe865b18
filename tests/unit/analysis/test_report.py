"""The monitoring report: one self-contained, well-formed HTML page in which every input string is escaped."""

from __future__ import annotations

import html
import math
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.analysis.report import render_report, write_report
from shipyard.analysis.report_svg import REFERENCE_COLOUR, category_rows, fmt_num, ticks

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_HOUR = 3_600_000


class _Page(HTMLParser):
    """Records tags, attributes and text, and every nesting error (an end tag that closes nothing open)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attrs.extend(attrs)
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attrs.extend(attrs)

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.errors.append(f"</{tag}> while open: {self.stack[-3:]}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Page:
    """Parse the page and require it well formed: every opened tag closed, in order."""
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    assert page.startswith("<!DOCTYPE html>")
    return parser


# --- realistic results, built from seeded data -------------------------------------------------


def numeric_feature(name: str, seed: int, shift: float, p_value: float | None, drift: bool) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    reference, current = rng.normal(50.0, 10.0, 5000), rng.normal(50.0 + shift, 10.0, 800)
    edges = np.histogram_bin_edges(reference, bins=12)
    ref_counts = np.histogram(reference, edges)[0]
    cur_counts = np.histogram(np.clip(current, edges[0], edges[-1]), edges)[0]
    cdf_gap = np.abs(np.cumsum(ref_counts) / ref_counts.sum() - np.cumsum(cur_counts) / cur_counts.sum())
    outside = float(np.mean((current < edges[0]) | (current > edges[-1])))
    return {
        "name": name,
        "kind": "numeric",
        "role": "input",
        "tests": [
            {"method": "ks", "statistic": float(cdf_gap.max()), "p_value": p_value, "threshold": 0.05, "drift": drift},
            {"method": "wasserstein", "statistic": abs(shift) / 10, "p_value": None, "threshold": 0.1, "drift": drift},
        ],
        "chosen_because": "numeric with 5000 reference rows: KS for shape, Wasserstein for magnitude",
        "drift": drift,
        "reference": {"n": 5000, "missing": 0, "histogram": {"edges": edges.tolist(), "counts": ref_counts.tolist()}},
        "current": {"n": 800, "missing": 12, "histogram": {"edges": edges.tolist(), "counts": cur_counts.tolist()}},
        "quality": {"missing_share": 12 / 812, "out_of_range_share": outside, "unseen_categories": [],
                    "unseen_share": None, "type_violations": 0},
    }  # fmt: skip


def categorical_feature(name: str, seed: int, categories: list[str], drift: bool) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(len(categories)))
    reference = rng.choice(categories, size=3000, p=weights)
    current = rng.choice([*categories, "brand-new"], size=600, p=[*(weights * 0.9), 0.1] if drift else [*weights, 0])
    counts = [dict(zip(*np.unique(sample, return_counts=True), strict=True)) for sample in (reference, current)]
    ref_counts, cur_counts = ({str(k): int(v) for k, v in c.items()} for c in counts)
    unseen = sorted(set(cur_counts) - set(ref_counts))
    return {
        "name": name,
        "kind": "categorical",
        "role": "prediction" if name == "predicted_class" else "input",
        "tests": [{"method": "chi2", "statistic": 41.7 if drift else 3.2, "p_value": 1e-7 if drift else 0.52,
                   "threshold": 0.05, "drift": drift}],
        "chosen_because": "categorical with few values: chi-squared test of the category counts",
        "drift": drift,
        "reference": {"n": 3000, "missing": 0, "categories": ref_counts},
        "current": {"n": 600, "missing": 0, "categories": cur_counts},
        "quality": {"missing_share": 0.0, "out_of_range_share": None, "unseen_categories": unseen,
                    "unseen_share": sum(cur_counts[u] for u in unseen) / 600, "type_violations": 0},
    }  # fmt: skip


def realistic_result() -> dict[str, Any]:
    features = [
        numeric_feature("age", 1, 0.3, 0.412, False),
        numeric_feature("income", 2, 9.0, 0.000123, True),
        categorical_feature("country", 3, ["DE", "FR", "GB", "NL", "PL"], False),
        numeric_feature("session_seconds", 4, 0.0, 0.0312, False),
        categorical_feature("predicted_class", 5, [f"class_{i:02d}" for i in range(30)], True),
    ]
    over_time = [
        {"start_ms": _T0 + i * _HOUR, "end_ms": _T0 + (i + 1) * _HOUR, "rows": 200 + i,
         "metrics": {"accuracy": 0.91 - 0.02 * i, "f1": 0.88 - 0.03 * i, "auc": 0.95 if i == 0 else None}}
        for i in range(4)
    ]  # fmt: skip
    return {
        "monitor": {"id": "mon_7f3a", "name": "churn-daily", "model": "churn", "version": "7"},
        "window": {"start_ms": _T0, "end_ms": _T0 + 4 * _HOUR, "rows": 3200, "reference_rows": 5000},
        "computed_at_ms": _T0 + 4 * _HOUR + 60_000,
        "summary": {"features": 5, "drifted": 2, "share": 0.4, "dataset_drift": False},
        "features": features,
        "quality": {"missing_columns": ["tenure"], "extra_columns": ["debug_flag"],
                    "violations": [{"column": "age", "kind": "type", "share": 0.002}]},
        "performance": {"task": "classification", "labelled_rows": 640,
                        "metrics": {"accuracy": 0.85, "f1": 0.79}, "reference_metrics": {"accuracy": 0.91, "f1": 0.88},
                        "over_time": over_time},
        "alerts": [{"rule": "feature-drift", "severity": "warning", "message": "2 features drifted", "at_ms": _T0}],
    }  # fmt: skip


# --- the tests -----------------------------------------------------------------------------------


def test_realistic_report_is_well_formed_with_one_chart_per_feature_and_per_metric_over_time() -> None:
    page = parse(render_report(realistic_result()))
    # 5 feature charts + accuracy and f1 over time; auc has only one finite point, so no chart.
    assert page.tags["svg"] == 5 + 2
    assert page.tags["table"] >= 1 + 5 + 1 + 1
    text = "".join(page.text)
    assert "2 of 5 features drifted (40%)" in text
    assert "dataset drift: no" in text
    assert "2026-01-01 00:00:00 UTC → 2026-01-01 04:00:00 UTC" in text
    assert "3,200 current · 5,000 reference" in text
    for expected in ("churn-daily", "version 7", "2 features drifted", "tenure", "debug_flag", "accuracy over time"):
        assert expected in text


def test_the_page_references_nothing_outside_itself() -> None:
    page_text = render_report(realistic_result())
    page = parse(page_text)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    for name, value in page.attrs:
        assert name not in {"src", "srcset", "xmlns", "xlink:href"}
        if name == "href":
            assert value is not None and value.startswith("#")
    for forbidden in ("http://", "https://", "//cdn", "url(", "@import", "@font-face"):
        assert forbidden not in page_text


def test_feature_names_and_p_values_appear_in_the_table() -> None:
    page = render_report(realistic_result())
    table = re.search(r'<table class="feature-table">.*?</table>', page, re.S)
    assert table is not None
    cells = [html.unescape(c) for c in re.findall(r'<td class="num">(.*?)</td>', table.group(0))]
    for expected in ("0.412", "1.23e-4", "0.0312", "1e-7", "0.52"):
        assert expected in cells
    for name in ("age", "income", "country", "session_seconds", "predicted_class"):
        assert f">{name}</a>" in table.group(0)


def test_drifted_features_come_first_in_the_table_and_the_cards() -> None:
    page = render_report(realistic_result())
    table = re.search(r'<table class="feature-table">.*?</table>', page, re.S)
    assert table is not None
    order = re.findall(r'<a href="#feature-\d+">(.*?)</a>', table.group(0))
    assert order == ["income", "predicted_class", "age", "country", "session_seconds"]
    cards = re.findall(r'<article class="[^"]*" id="feature-\d+"><div class="card-head"><h3>(.*?)</h3>', page)
    assert cards == order


def test_a_script_in_a_feature_name_or_category_is_rendered_inert() -> None:
    result = realistic_result()
    attack = "<script>alert(1)</script>"
    result["monitor"]["name"] = '"><script>alert(2)</script>'
    result["features"][0]["name"] = attack
    result["features"][2]["reference"]["categories"]["<img src=x onerror=alert(3)>"] = 50
    result["features"][2]["quality"]["unseen_categories"] = ["<b>bold</b>"]
    result["alerts"][0]["message"] = "<svg onload=alert(4)>"
    page_text = render_report(result)
    page = parse(page_text)
    assert "<script" not in page_text.lower()
    assert "<img" not in page_text and "<b>" not in page_text and "<svg onload" not in page_text
    assert not {"script", "img", "b"} & set(page.tags)
    assert html.escape(attack) in page_text
    assert attack in page.text  # the browser shows the name as text
    assert not [name for name, _ in page.attrs if name.startswith("on")]


def test_shares_not_counts_are_drawn_so_different_sample_sizes_compare() -> None:
    feature = numeric_feature("x", 1, 0.0, 0.5, False)
    feature["reference"]["histogram"] = {"edges": [0.0, 1.0, 2.0], "counts": [10, 30]}
    feature["current"]["histogram"] = {"edges": [0.0, 1.0, 2.0], "counts": [1000, 3000]}
    page = render_report({"features": [feature]})
    bars = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="(#\w+)"/>', page)
    heights: dict[str, list[str]] = {}
    for height, colour in bars:
        heights.setdefault(colour, []).append(height)
    assert len(heights) == 2
    ref_heights = heights.pop(REFERENCE_COLOUR)
    assert ref_heights == next(iter(heights.values()))
    assert float(ref_heights[1]) == pytest.approx(3 * float(ref_heights[0]), rel=0.01)
    assert "reference 25% (10 of 40) · current 25% (1,000 of 4,000)" in page


def test_categories_beyond_the_top_20_are_grouped_as_other() -> None:
    reference = {"categories": {f"c{i}": 100 - i for i in range(30)}}
    current = {"categories": {f"c{i}": 1 for i in range(25)}}
    rows = category_rows(reference, current)
    assert len(rows) == 21
    assert [row.label for row in rows[:3]] == ["c0", "c1", "c2"]
    assert rows[-1].other and rows[-1].label == "other (10 categories)"
    assert rows[-1].ref == sum(100 - i for i in range(20, 30))
    assert rows[-1].cur == 5
    page = parse(render_report({"features": [{"name": "c", "kind": "categorical", "reference": reference,
                                              "current": current}]}))  # fmt: skip
    assert "other (10 categories)" in page.text


def degenerate_results() -> list[dict[str, Any]]:
    zero = {"n": 0, "missing": 0, "histogram": {"edges": [0.0, 1.0, 2.0], "counts": [0, 0]}}
    nan = math.nan
    one_bin = {
        "name": "one bin",
        "kind": "numeric",
        "reference": {"histogram": {"edges": [5, 5], "counts": [9]}},
        "current": {"histogram": {"edges": [5, 5], "counts": [0]}},
        "tests": [{"method": "psi", "statistic": nan, "p_value": None, "threshold": nan, "drift": None}],
    }
    huge = {
        "name": "huge",
        "kind": "numeric",
        "drift": True,
        "reference": {"n": 10**15, "histogram": {"edges": [-math.inf, -1e300, 0, 3e12, math.inf],
                                                  "counts": [1, 10**15, 5e14, 3]}},
        "current": {"n": 7, "histogram": {"edges": [0, 1], "counts": [7, 1, 2, 3, 4, 5, 6]}},  # mismatched lengths
        "tests": [{"method": "ks", "statistic": 1e308, "p_value": 0.0, "threshold": 1e-300}],
    }  # fmt: skip
    bad_counts = {
        "name": "no categories",
        "kind": "categorical",
        "reference": {"categories": {}},
        "current": {"categories": {"a": -5, "b": "many", "c": None}},
    }
    flat: dict[str, Any] = {"task": "regression", "metrics": {}, "reference_metrics": None,
            "over_time": [{"metrics": {"rmse": 1.0}}, {"metrics": {"rmse": 1.0}}]}  # fmt: skip
    nulls = {"name": "x", "kind": None, "tests": None, "reference": None, "current": None, "quality": None}
    return [
        {"features": []},
        {"features": None},
        {"features": [{}]},
        {"monitor": None, "window": None, "summary": None, "quality": None, "performance": None, "alerts": None,
         "features": [nulls]},
        {"window": {"rows": 0, "reference_rows": 0},
         "features": [{"name": "zero", "kind": "numeric", "reference": zero, "current": zero,
                       "tests": [{"method": "ks"}]}]},
        {"features": [one_bin]},
        {"features": [huge], "computed_at_ms": 10**20,
         "window": {"start_ms": -(10**18), "end_ms": nan, "rows": 10**12}},
        {"features": [bad_counts], "performance": flat},
    ]  # fmt: skip


@pytest.mark.parametrize("result", degenerate_results())
def test_degenerate_inputs_render_a_well_formed_page(result: dict[str, Any]) -> None:
    page_text = render_report(result)
    page = parse(page_text)
    features = result.get("features") or []
    performance = result.get("performance") or {}
    assert page.tags["svg"] == len(features) + (1 if performance.get("over_time") else 0)
    assert "nan%" not in page_text.lower()
    if not features:
        assert "No features were monitored." in page.text


def test_numbers_are_formatted_compactly() -> None:
    cases = {
        0: "0", 0.0123456: "0.0123", 12.345: "12.3", 1234.4: "1234", 45_678: "45.7k", 2_500_000: "2.5M",
        1.5e9: "1.5G", 2.5e13: "2.5e13", 1e-7: "1e-7", -0.5: "-0.5", 0.05: "0.05", math.nan: "NaN",
        math.inf: "∞", None: "—", True: "—", "0.3": "—",
    }  # fmt: skip
    assert {value: fmt_num(value) for value in cases} == cases
    assert ticks(0, 0.37) == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
    assert ticks(0.9, 0.9)[0] < 0.9 < ticks(0.9, 0.9)[-1]


def test_write_report_writes_utf8(tmp_path: Path) -> None:
    target = write_report(realistic_result(), tmp_path / "reports" / "churn.html")
    assert target == tmp_path / "reports" / "churn.html"
    text = target.read_bytes().decode("utf-8")
    assert '<meta charset="utf-8">' in text and "→" in text


def test_control_characters_and_lone_surrogates_cannot_break_the_page(tmp_path: Path) -> None:
    name = "bad\x00name\x1b\ud800"
    sides = {"reference": {"categories": {"\x07bell": 3}}, "current": {"categories": {"\x07bell": 1}}}
    result = {"features": [{"name": name, "kind": "categorical", **sides}]}
    page_text = render_report(result)
    parse(page_text)
    assert not re.search("[\x00\x07\x1b\ud800]", page_text)
    write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")


_texts = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_name=_texts, raw_category=_texts)
def test_any_feature_name_or_category_renders_escaped(raw_name: str, raw_category: str) -> None:
    name, category = f"«{raw_name}»", f"«{raw_category}»"  # delimited, so a raw occurrence is unambiguous
    result = {"features": [
        {"name": name, "kind": "categorical", "drift": True, "reference": {"categories": {category: 3, "x": 1}},
         "current": {"categories": {category: 1}}, "quality": {"unseen_categories": [category]}},
        {"name": name, "kind": "numeric", "reference": {"histogram": {"edges": [0, 1], "counts": [2]}}},
    ]}  # fmt: skip
    page_text = render_report(result)
    page = parse(page_text)
    assert page.tags["svg"] == 2
    assert name in page.text  # the table cell and card heading show exactly the name
    assert category in page.text  # the unseen-categories list shows exactly the value
    assert any(chunk.startswith(f"{category}: reference ") for chunk in page.text)  # the bar's tooltip
    for raw in (name, category):
        assert html.escape(raw) in page_text
        if set(raw) & set("<>&\"'"):
            assert raw not in page_text


_CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.mark.slow
@pytest.mark.skipif(_CHROMIUM is None, reason="needs a chromium binary")
def test_headless_chromium_renders_the_report_offline(tmp_path: Path) -> None:
    page = write_report(realistic_result(), tmp_path / "report.html")
    shot = tmp_path / "report.png"
    command = [
        str(_CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri(),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 2000)
    assert len(data) > 40_000  # text, tables and charts, not a blank page
