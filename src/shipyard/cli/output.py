"""Printing for the CLI: Rich tables for people, JSON for scripts."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import orjson
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def fmt_time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(start: int, end: int | None) -> str:
    if end is None:
        return "-"
    secs = (end - start) / 1000
    return f"{secs:.1f}s" if secs < 120 else f"{secs / 60:.1f}m"


def fmt_value(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return str(v)
    return f"{v:.6g}"


STATUS_STYLE = {"RUNNING": "cyan", "FINISHED": "green", "FAILED": "red", "KILLED": "yellow"}


def fmt_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def describe_version(digest: str, version: Any) -> str:
    """One line for a dataset version: short digest, kind, rows x columns, size."""
    if version is None:
        return f"sha256:{digest[:12]}"
    shape = f"{version.rows:,} rows" if version.rows is not None else version.kind.value
    if version.schema:
        shape += f" x {len(version.schema)} cols"
    return f"sha256:{digest[:12]}  {version.format}  {shape}  {fmt_bytes(version.size)}"


_BARS = " \u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


def sparkline(counts: list[int]) -> str:
    """A histogram as one line of block characters."""
    top = max(counts, default=0)
    if top <= 0:
        return ""
    return "".join(_BARS[0 if c == 0 else max(1, round(c / top * (len(_BARS) - 1)))] for c in counts)
