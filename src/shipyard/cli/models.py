"""shipyard models ..."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from shipyard.cli.common import JsonOpt, TrackingOpt, client_for, command
from shipyard.cli.output import console, fmt_time, print_json

app = typer.Typer(help="Models: registry versions, aliases and portable bundles.", no_args_is_help=True)

DOCKERFILE = """\
# Serves the bundle in ./bundle. Build: docker build -t {tag} .
FROM python:{python}-slim
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY bundle/ bundle/
EXPOSE 8080
# Beyond loopback the server needs API keys: pass SHIPYARD_SERVE_API_KEYS (comma-separated) at run time.
CMD ["shipyard", "serve", "{name}/{version}=bundle", "--host", "0.0.0.0", "--port", "8080"]
"""


@app.command("list")
@command
def list_models(tracking_uri: TrackingOpt = None, json: JsonOpt = False) -> None:
    """List registered models with their latest version and aliases.

    Example: shipyard models list
    """
    from shipyard.schemas import model_to_wire

    models = client_for(tracking_uri).list_models()
    if json:
        print_json({"models": [model_to_wire(m) for m in models]})
        return
    if not models:
        console.print(
            'No models yet. Register one: run.log_model(clf, input_example=X[:5], registered_model_name="churn")'
        )
        return
    table = Table(title=f"Models ({len(models)})")
    for col in ("name", "latest", "aliases", "updated", "description"):
        table.add_column(col, overflow="fold")
    for m in models:
        aliases = ", ".join(f"{a}→v{v}" for a, v in sorted(m.aliases.items()))
        latest = f"v{m.latest_version}" if m.latest_version else "-"
        table.add_row(m.name, latest, aliases, fmt_time(m.updated_at), m.description)
    console.print(table)
    console.print("Details: shipyard models show NAME  (or models:/NAME@ALIAS)")


@app.command("show")
@command
def show_model(
    ref: Annotated[str, typer.Argument(help="A model name, or a version: models:/NAME/3, models:/NAME@ALIAS.")],
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show a model and its versions, or one version: signature, bundle, lineage, variants.

    Example: shipyard models show churn  |  shipyard models show models:/churn@production
    """
    from shipyard.domain.registry import parse_model_ref
    from shipyard.schemas import model_to_wire, model_version_to_wire

    client = client_for(tracking_uri)
    parsed = parse_model_ref(ref)
    if parsed.latest and not ref.endswith("latest"):  # a bare name: the model and all its versions
        model = client.get_model(parsed.name)
        versions = client.list_model_versions(parsed.name)
        if json:
            print_json({"model": model_to_wire(model), "versions": [model_version_to_wire(v) for v in versions]})
            return
        console.print(f"[bold]{model.name}[/bold]  {model.description}")
        table = Table(title="Versions")
        for col in ("version", "flavor", "aliases", "run", "bundle", "created"):
            table.add_column(col, overflow="fold")
        for v in reversed(versions):
            table.add_row(
                f"v{v.version}",
                v.flavor,
                ", ".join(v.aliases),
                v.run_id[:8],
                v.bundle_digest[:8],
                fmt_time(v.created_at),
            )
        console.print(table)
        return
    version = client.get_model_version(ref)
    datasets = client.get_run_datasets(version.run_id)
    if json:
        print_json({"version": model_version_to_wire(version), "datasets": [d.digest for d in datasets]})
        return
    _print_version(version, datasets)


def _print_version(version: Any, datasets: list[Any]) -> None:
    from shipyard.domain.signature import Signature

    console.print(f"[bold]{version.ref}[/bold]  {version.flavor}  aliases: {', '.join(version.aliases) or '-'}")
    console.print(f"bundle sha256:{version.bundle_digest}")
    console.print(f"from run {version.run_id} ({version.artifact_path}/) · {fmt_time(version.created_at)}")
    if version.signature:
        sig = Signature.from_dict(version.signature)
        table = Table(title="Signature: inputs", title_justify="left")
        table.add_column("name")
        table.add_column("type")
        for name, dtype in sig.describe():
            table.add_row(name, dtype)
        console.print(table)
    if datasets:
        console.print("trained on: " + ", ".join(f"{d.name} ({d.role}) sha256:{d.digest[:12]}" for d in datasets))
    for name, facts in version.variants.items():
        parity = facts.get("parity", {})
        console.print(f"variant {name}: sha256:{facts['bundle_digest'][:12]}  parity {parity}")


@app.command("register")
@command
def register(
    source: Annotated[str, typer.Argument(help="runs:/RUN_ID/ARTIFACT_PATH of a logged bundle.")],
    name: Annotated[str, typer.Argument(help="Registered model name (created if new).")],
    description: Annotated[str, typer.Option("--description", "-d", help="What this version is.")] = "",
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Register a bundle logged by a run as the model's next version.

    Example: shipyard models register runs:/3f2a.../model churn
    """
    from shipyard.schemas import model_version_to_wire

    version = client_for(tracking_uri).register_model(source, name, description=description)
    if json:
        print_json(model_version_to_wire(version))
        return
    console.print(f"Registered [bold]{version.ref}[/bold] ({version.flavor}).")
    console.print(f"Promote it: shipyard models alias {name} production {version.version}")


@app.command("import")
@command
def import_model(
    path: Annotated[Path, typer.Argument(help="An MLflow model folder (with an MLmodel file).", exists=True)],
    name: Annotated[str, typer.Argument(help="Registered model name (created if new).")],
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Import an MLflow model folder as the next version of a model (its signature and input
    example come along; the folder is stored as is inside the bundle).

    Example: shipyard models import mlruns/0/abc.../artifacts/model churn
    """
    from shipyard.schemas import model_version_to_wire
    from shipyard.sdk.fluent import register_model

    version = register_model(path, name, client=client_for(tracking_uri))
    if json:
        print_json(model_version_to_wire(version))
        return
    console.print(
        f"Imported {path} as [bold]{version.ref}[/bold] (flavor mlflow, sha256:{version.bundle_digest[:12]})."
    )


@app.command("alias")
@command
def alias(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="e.g. production, staging, champion.")],
    version: Annotated[int | None, typer.Argument(help="The version to point at (omit with --delete).")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Point an alias at a version (atomically), or delete it.

    Example: shipyard models alias churn production 3
    """
    client = client_for(tracking_uri)
    if delete:
        client.delete_model_alias(name, alias_name)
        console.print(f"Deleted alias {alias_name} of {name}.")
        return
    if version is None:
        raise typer.BadParameter("give the version to point at, or --delete", param_hint="VERSION")
    before = client.get_model(name).aliases.get(alias_name)
    client.set_model_alias(name, alias_name, version)
    moved = f" (was v{before})" if before else ""
    console.print(f"models:/{name}@{alias_name} → v{version}{moved}")


@app.command("card")
@command
def card(
    ref: Annotated[str, typer.Argument(help="models:/NAME/VERSION or models:/NAME@ALIAS.")],
    intended_use: Annotated[str | None, typer.Option("--intended-use", help="Set the intended use.")] = None,
    limitations: Annotated[str | None, typer.Option("--limitations", help="Set the known limitations.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the Markdown card here.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML card here.")] = None,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Print (or write) a version's model card; --intended-use and --limitations edit it.

    The rest comes from what Shipyard knows: training data and its profile, metrics, signature,
    lineage (run, commit, manifest, datasets) and ONNX parity.

    Example: shipyard models card models:/churn@production --intended-use "Rank accounts by churn risk" --html card.html
    """
    from shipyard.domain.model_card import INTENDED_USE, LIMITATIONS

    client = client_for(tracking_uri)
    version = client.get_model_version(ref)
    edits = {k: v for k, v in ((INTENDED_USE, intended_use), (LIMITATIONS, limitations)) if v is not None}
    if edits:
        client.update_model_version(version.name, version.version, tags=edits)
    model_card = client.model_card(version.ref)
    if output is None and html is None:
        print(model_card.to_markdown(), end="")  # plain: Markdown for a file or a pager, never re-wrapped
    if output is not None:
        output.write_text(model_card.to_markdown(), encoding="utf-8")
        console.print(f"Wrote {output}")
    if html is not None:
        html.write_text(model_card.to_html(), encoding="utf-8")
        console.print(f"Wrote {html}")


@app.command("build")
@command
def build(
    ref: Annotated[str, typer.Argument(help="models:/NAME/VERSION or models:/NAME@ALIAS.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="New folder for the build context.")],
    variant: Annotated[str | None, typer.Option("--variant", help="Build a variant, e.g. onnx.")] = None,
    archive: Annotated[bool, typer.Option("--archive", help="Also write the bundle as one .tar.gz file.")] = False,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Write a self-contained, verified bundle plus a Dockerfile that serves it.

    OUTPUT/bundle holds the bundle (manifest.json, model files, input example, model card),
    OUTPUT/requirements.txt its exact requirements, OUTPUT/Dockerfile an OCI build context,
    OUTPUT/MODEL_CARD.md and .html the full model card.

    Example: shipyard models build models:/churn@production -o build/churn --archive
    """
    from shipyard.flavors.bundle import pack_bundle, verify_bundle

    client = client_for(tracking_uri)
    version = client.get_model_version(ref)
    if output.exists() and any(output.iterdir()):
        raise typer.BadParameter(f"{output} is not empty", param_hint="--output")
    bundle = client.download_bundle(version.ref, output / "bundle", variant=variant)
    manifest = verify_bundle(bundle)
    (output / "requirements.txt").write_text("\n".join(manifest.requirements) + "\n", encoding="utf-8")
    python = ".".join(manifest.python_version.split(".")[:2]) or "3.11"
    tag = f"{version.name.lower()}:{version.version}"
    dockerfile = DOCKERFILE.format(python=python, tag=tag, name=version.name, version=version.version)
    (output / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    model_card = client.model_card(version.ref)
    (output / "MODEL_CARD.md").write_text(model_card.to_markdown(), encoding="utf-8")
    (output / "MODEL_CARD.html").write_text(model_card.to_html(), encoding="utf-8")
    console.print(f"Built {version.ref} ({manifest.flavor}, sha256:{manifest.digest[:12]}) into {output}/")
    if archive:
        path = pack_bundle(bundle, output / f"{version.name}-{version.version}.tar.gz")
        console.print(f"Single-file bundle: {path}")
    console.print(f"Next: docker build -t {tag} {output}")


@app.command("export")
@command
def export(
    ref: Annotated[str, typer.Argument(help="models:/NAME/VERSION or models:/NAME@ALIAS.")],
    format: Annotated[str, typer.Option("--format", "-f", help="Only onnx for now.")] = "onnx",
    rtol: Annotated[float, typer.Option("--rtol", min=0.0, help="Relative tolerance of the parity check.")] = 1e-5,
    atol: Annotated[float, typer.Option("--atol", min=0.0, help="Absolute tolerance of the parity check.")] = 1e-6,
    allow_mismatch: Annotated[
        bool, typer.Option("--allow-mismatch", help="Record the export even if it fails the parity check.")
    ] = False,
    trust: Annotated[bool, typer.Option("--trust", help="Allow loading pickled originals.")] = False,
    tracking_uri: TrackingOpt = None,
    json: JsonOpt = False,
) -> None:
    """Convert a version to ONNX, check it against the original, and record it as a variant.

    The export runs next to the original on the input example and on generated rows; labels must
    agree and numbers must be within --rtol/--atol. Exit code 3 when they are not (nothing is
    recorded unless --allow-mismatch).

    Example: shipyard models export models:/churn/3 --format onnx
    """
    if format != "onnx":
        raise typer.BadParameter("only onnx is supported", param_hint="--format")
    client = client_for(tracking_uri)
    result = client.export_onnx(ref, rtol=rtol, atol=atol, allow_mismatch=allow_mismatch, trust=trust)
    p = result.parity
    if json:
        print_json({"ref": result.version.ref, "recorded": result.recorded, "parity": p.to_dict()})
    else:
        table = Table(title=f"ONNX parity, {result.version.ref} ({p.rows} rows: the input example + generated)")
        table.add_column("check")
        table.add_column("value", justify="right")
        if p.labels_agree is not None:
            table.add_row("labels that agree", f"{p.labels_agree:.2%}")
        table.add_row("max absolute error", f"{p.max_abs_err:.3g}")
        table.add_row("max relative error (outputs >= 0.01)", f"{p.max_rel_err:.3g}")
        table.add_row("tolerance", f"rtol {p.rtol:g}, atol {p.atol:g}")
        table.add_row("verdict", "[green]parity[/green]" if p.passed else "[red]mismatch[/red]")
        console.print(table)
        if result.recorded:
            console.print(
                f"Recorded as the onnx variant of {result.version.ref}. Load it: "
                f'shipyard.load_model("{result.version.ref}", variant="onnx")'
            )
        else:
            console.print("Not recorded: the export changes predictions. Inspect it, or pass --allow-mismatch.")
    if not p.passed:
        raise typer.Exit(3)
