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
