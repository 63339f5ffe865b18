"""shipyard server / shipyard quickstart"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli.common import HomeOpt, command
from shipyard.cli.output import console

HostOpt = Annotated[str, typer.Option("--host", help="Address to bind. Binding beyond loopback exposes the hub.")]
PortOpt = Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")]


def _export(**values: object) -> None:
    """Hand settings to the app factory (and to worker processes) through SHIPYARD_* variables."""
    for key, value in values.items():
        if value is not None:
            os.environ[f"SHIPYARD_{key.upper()}"] = str(value)


def serve(host: str, port: int, workers: int, access_log: bool) -> None:
    import uvicorn

    uvicorn.run(
        "shipyard.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_level="info",
        http="httptools",
        loop="uvloop",
        proxy_headers=False,  # the hub binds loopback by default; no proxy to trust
    )


@command
def server(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8420,
    home: HomeOpt = None,
    metadata_uri: Annotated[
        str | None, typer.Option("--metadata-uri", envvar="SHIPYARD_METADATA_URI", help="Database URL.")
    ] = None,
    artifact_uri: Annotated[
        str | None,
        typer.Option("--artifact-uri", envvar="SHIPYARD_ARTIFACT_URI", help="Folder or s3://bucket/prefix."),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker processes.")] = 1,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request.")] = False,
) -> None:
    """Start the hub: REST API at /api/v1, OpenAPI docs at /docs.

    Example: shipyard server --metadata-uri postgresql+psycopg://me@db/shipyard --artifact-uri s3://ml/artifacts
    """
    _export(home=home, metadata_uri=metadata_uri, artifact_uri=artifact_uri)
    from shipyard.config import Settings

    settings = Settings.load()
    settings.home.mkdir(parents=True, exist_ok=True)
    from shipyard.stores.metadata import open_metadata_store

    open_metadata_store(settings.resolved_metadata_uri()).close()  # fail fast, before binding the port
    console.print(f"Shipyard hub on [bold]http://{host}:{port}[/bold]  (API docs: http://{host}:{port}/docs)")
    console.print(f"  metadata:  {settings.resolved_metadata_uri()}\n  artifacts: {settings.resolved_artifact_uri()}")
    console.print(f"  log to it: export SHIPYARD_TRACKING_URI=http://{host}:{port}")
    serve(host, port, workers, access_log)


@command
def quickstart(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8420,
    home: HomeOpt = None,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the hub afterwards.")] = True,
) -> None:
    """Log an example experiment into the local home, then start the hub showing it.

    Example: shipyard quickstart --port 8420
    """
    _export(home=home)
    from shipyard.cli.demo import log_example_runs
    from shipyard.config import Settings
    from shipyard.sdk.client import Client

    settings = Settings.load()
    client = Client(str(Path(settings.home)))
    run_ids = log_example_runs(client)
    client.close()
    console.print(f"Logged {len(run_ids)} example runs to experiment [bold]quickstart[/bold] in {settings.home}.")
    console.print("  see them: shipyard runs list -e quickstart")
    if serve_after:
        console.print(f"  or open:  http://{host}:{port}/  (API: http://{host}:{port}/api/v1/runs/search)")
        serve(host, port, 1, False)
