"""shipyard db ..."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli.common import HomeOpt, command
from shipyard.cli.output import console

app = typer.Typer(help="The metadata database.", no_args_is_help=True)


@app.command("upgrade")
@command
def upgrade(
    metadata_uri: Annotated[
        str | None,
        typer.Option(
            "--metadata-uri",
            envvar="SHIPYARD_METADATA_URI",
            help="Database URL (default: SQLite in the home).",
        ),
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Create or migrate the database schema to this version of Shipyard.

    Example: shipyard db upgrade --metadata-uri postgresql+psycopg://user@db/shipyard
    """
    from shipyard.config import Settings
    from shipyard.stores.sql.engine import create_engine, current_revision, head_revision
    from shipyard.stores.sql.engine import upgrade as run_upgrade

    settings = Settings.load(metadata_uri=metadata_uri, home=home)
    url = settings.resolved_metadata_uri()
    engine = create_engine(url)
    before = current_revision(engine)
    run_upgrade(engine)
    after = current_revision(engine)
    engine.dispose()
    shown = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"{shown} is up to date (revision {after}).")
    else:
        console.print(f"Upgraded {shown}: {before or 'empty'} → {after} (head {head_revision()}).")
