"""Options and helpers shared by commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli.output import err_console
from shipyard.errors import ShipyardError

TrackingOpt = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        "-t",
        envvar="SHIPYARD_TRACKING_URI",
        help="Hub URL (http://host:port) or a local home folder. Default: $SHIPYARD_HOME or ./.shipyard.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")]
HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", envvar="SHIPYARD_HOME", help="Folder for the embedded SQLite database and artifacts."),
]


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn Shipyard errors into one red line and exit code 1 (2 for bad input)."""
    try:
        yield
    except ShipyardError as exc:
        err_console.print(f"[red]error[/red] [{exc.code}] {exc}")
        raise typer.Exit(2 if exc.http_status == 400 else 1) from None


def client_for(tracking_uri: str | None) -> Any:
    from shipyard.sdk.client import Client

    return Client(tracking_uri)


def experiment_ids(client: Any, experiments: list[str] | None) -> list[str]:
    """CLI experiments are names, or ids when no experiment has that name."""
    from shipyard.errors import NotFound

    ids = []
    for e in experiments or ():
        try:
            ids.append(client.experiment_id(e))
        except NotFound:
            if not e.isdigit():
                raise
            ids.append(client.get_experiment(e).id)
    return ids


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command body in :func:`friendly_errors`."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with friendly_errors():
            return fn(*args, **kwargs)

    return wrapper
