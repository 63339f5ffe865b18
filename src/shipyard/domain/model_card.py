"""Model cards: what is known about a model version, in Markdown and HTML.

Everything on the card comes from the registry and the run that made the version (its datasets
and their profiles, metrics, commit, manifest, signature, exports and their parity), except two
sections people write: *intended use* and *limitations*, kept as the version's tags
``card.intended_use`` and ``card.limitations`` (or the model's tags, for every version).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.domain.datasets import DatasetInput
from shipyard.domain.registry import ModelVersion, RegisteredModel
from shipyard.domain.signature import Signature
from shipyard.domain.tracking import Run

__all__ = ["INTENDED_USE", "LIMITATIONS", "ModelCard", "Section", "build_card"]

INTENDED_USE = "card.intended_use"
LIMITATIONS = "card.limitations"
_MAX_PROFILE_COLUMNS = 30


@dataclass(frozen=True)
class Section:
    title: str
    paragraphs: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class ModelCard:
    title: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for s in self.sections:
            out += [f"## {s.title}", ""]
            for p in s.paragraphs:
                out += [p, ""]
            if s.headers:
                out.append("| " + " | ".join(_md(h) for h in s.headers) + " |")
                out.append("|" + "---|" * len(s.headers))
                out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in s.rows]
                out.append("")
        return "\n".join(out).rstrip() + "\n"

    def to_html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        for s in self.sections:
            body.append(f"<h2>{html.escape(s.title)}</h2>")
            body += [f"<p>{html.escape(p)}</p>" for p in s.paragraphs]
            if s.headers:
                head = "".join(f"<th>{html.escape(h)}</th>" for h in s.headers)
                rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in s.rows)
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        style = (
            "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
            "table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
            "text-align:left;font-size:.9rem}th{background:#f4f4f4}h2{margin-top:2rem}"
        )
        return (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>'
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
        )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _time(ms: int | None) -> str:
    if not ms:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _num(v: Any) -> str:
    if v is None:
        return ""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _written(version: ModelVersion, model: RegisteredModel, key: str, how: str) -> str:
    text = version.tags.get(key) or model.tags.get(key)
    return text or f"Not written yet. Add it with: {how}"


def _data_sections(datasets: Sequence[DatasetInput]) -> list[Section]:
    if not datasets:
        return [Section("Training data", ("The run logged no datasets (run.log_dataset(...) records them).",))]
    rows = []
    for d in datasets:
        v = d.version
        shape = "" if v is None else (f"{v.rows:,} rows x {len(v.schema)} columns" if v.rows is not None else v.kind)
        rows.append((f"{d.name} ({d.role})", f"sha256:{d.digest[:16]}", shape, "" if v is None else v.source))
    sections = [Section("Training data", headers=("dataset", "version", "shape", "source"), rows=tuple(rows))]
    for d in datasets:
        profile = d.version.profile if d.version is not None else {}
        cols = [c for c in profile if c != "_table"][:_MAX_PROFILE_COLUMNS]
        if not cols:
            continue
        prow = tuple(
            (
                c,
                str(profile[c].get("type", "")),
                f"{profile[c].get('missing', 0.0) + profile[c].get('nan', 0.0):.1%}",
                _num(profile[c].get("min")),
                _num(profile[c].get("mean")),
                _num(profile[c].get("max")),
            )
            for c in cols
        )
        headers = ("column", "type", "missing", "min", "mean", "max")
        sections.append(Section(f"Profile of {d.name} ({d.role})", headers=headers, rows=prow))
    return sections


def build_card(
    model: RegisteredModel, version: ModelVersion, run: Run | None, datasets: Sequence[DatasetInput]
) -> ModelCard:
    """The card of ``version`` from what the registry and its run know."""
    ref = version.ref
    summary = [
        f"{ref}: a {version.flavor} model. Bundle sha256:{version.bundle_digest}.",
        f"Registered {_time(version.created_at)} by {version.created_by or '-'}; "
        f"aliases: {', '.join(version.aliases) or 'none'}.",
    ]
    if version.description or model.description:
        summary.insert(0, version.description or model.description)
    sections = [Section("Summary", tuple(summary))]
    how_use = f'shipyard models card {ref} --intended-use "..."'
    sections.append(Section("Intended use", (_written(version, model, INTENDED_USE, how_use),)))
    sections += _data_sections(datasets)
    if run is not None:
        metrics = sorted((k, m.value) for k, m in run.metrics.items())
        if metrics:
            sections.append(
                Section("Metrics", headers=("metric", "value"), rows=tuple((k, _num(v)) for k, v in metrics))
            )
    if version.signature:
        sig = Signature.from_dict(version.signature)
        sections.append(Section("Signature (inputs)", headers=("name", "type"), rows=tuple(sig.describe())))
    lineage = [("model version", ref), ("bundle", f"sha256:{version.bundle_digest}")]
    if run is not None:
        lineage += [("run", f"{run.name} ({run.id})"), ("experiment", run.experiment_id)]
        lineage += [("code commit", run.tags.get("shipyard.git.commit", "-"))]
        lineage += [("run manifest", "sha256:" + run.tags.get("shipyard.manifest.sha256", "-"))]
    lineage += [(f"dataset {d.name} ({d.role})", f"sha256:{d.digest}") for d in datasets]
    sections.append(Section("Lineage", headers=("what", "which"), rows=tuple(lineage)))
    for name, facts in version.variants.items():
        parity = facts.get("parity") or {}
        rows = tuple((k, _num(v)) for k, v in parity.items())
        note = f"{name} export: bundle sha256:{facts.get('bundle_digest', '')}."
        sections.append(Section(f"Export: {name}", (note,), ("check", "value"), rows))
    how_lim = f'shipyard models card {ref} --limitations "..."'
    sections.append(Section("Limitations", (_written(version, model, LIMITATIONS, how_lim),)))
    return ModelCard(f"{version.name} v{version.version}", tuple(sections))
