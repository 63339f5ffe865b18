"""``/``: a plain HTML overview of the newest runs, so a person opening the hub sees something.
(The full web UI is its own piece of work; this page has no JavaScript and no assets.)"""

from __future__ import annotations

import datetime as dt
import html
import math

from fastapi import APIRouter, Depends
from starlette.responses import HTMLResponse

from shipyard.api.deps import Executor, executor, in_thread, principal, services
from shipyard.domain.principals import Principal
from shipyard.domain.tracking import Run
from shipyard.services import Services

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shipyard</title>
<style>body{{font:14px system-ui,sans-serif;margin:2rem;color:#1a1a1a}}table{{border-collapse:collapse}}
td,th{{padding:.35rem .7rem;border-bottom:1px solid #ddd;text-align:left}}th{{background:#f4f4f4}}
.FINISHED{{color:#137333}}.FAILED{{color:#c5221f}}.RUNNING{{color:#1967d2}}.KILLED{{color:#b06000}}
code{{font-size:12px}}</style></head><body><h1>Shipyard</h1>
<p>{summary} · API: <a href="/docs">/docs</a> · CLI: <code>shipyard runs list</code></p>
<table><thead><tr><th>experiment</th><th>run</th><th>status</th><th>started</th><th>params</th>
<th>metrics (latest)</th></tr></thead><tbody>{rows}</tbody></table></body></html>"""


def _fmt(v: float) -> str:
    return str(v) if math.isnan(v) or math.isinf(v) else f"{v:.4g}"


def _row(run: Run, exp_names: dict[str, str]) -> str:
    started = dt.datetime.fromtimestamp(run.start_time / 1000).strftime("%Y-%m-%d %H:%M:%S")
    params = ", ".join(f"{k}={v}" for k, v in sorted(run.params.items()))
    metrics = ", ".join(f"{k}={_fmt(m.value)}" for k, m in sorted(run.metrics.items()))
    experiment = html.escape(exp_names.get(run.experiment_id, run.experiment_id))
    name = f"{html.escape(run.name)} <code>{run.id[:8]}</code>"
    return (
        f'<tr><td>{experiment}</td><td>{name}</td><td class="{run.status.value}">{run.status.value}</td>'
        f"<td>{started}</td><td>{html.escape(params)}</td><td>{html.escape(metrics)}</td></tr>"
    )


@router.get("/", response_class=HTMLResponse)
async def index(
    svc: Services = Depends(services), who: Principal = Depends(principal), pool: Executor = Depends(executor)
) -> HTMLResponse:
    def work() -> str:
        exps = {e.id: e.name for e in svc.tracking.list_experiments(who)}
        runs = svc.tracking.search_runs(who, max_results=100).items
        summary = f"{len(exps)} experiments, newest {len(runs)} runs"
        rows = "".join(_row(r, exps) for r in runs) or '<tr><td colspan="6">No runs yet.</td></tr>'
        return _PAGE.format(summary=summary, rows=rows)

    return HTMLResponse(await in_thread(pool, work))
