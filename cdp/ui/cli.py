"""`cdp ui`: the marketer workspace, from the command line (light to import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def ui(
    host: Annotated[str, typer.Option(help="Address to listen on; any but 127.0.0.1 needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            help="Access token every page and API call must present (Bearer or sign-in form); default CDP_UI_TOKEN."
        ),
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option(help="File of tokens, one `name token` per line; views are recorded by name.")
    ] = None,
    warehouse: Annotated[Path | None, typer.Option(help="The DuckDB file; default CDP_WAREHOUSE.")] = None,
    publish: Annotated[
        bool, typer.Option("--publish", help="Publish the warehouse's copy first (as the nightly run does at its end).")
    ] = False,
) -> None:
    """Open the marketer workspace: segments, profiles, syncs and identity, over the nightly run's published copy."""
    import uvicorn

    from cdp import settings
    from cdp.ui.app import create_app
    from cdp.ui.auth import load_access
    from cdp.ui.publish import publish as publish_copy
    from cdp.ui.publish import published_path

    access = load_access(host, token or settings.ui_token(), token_file)
    warehouse = Path(warehouse).expanduser().resolve() if warehouse else settings.warehouse_path()
    if publish:
        typer.echo(f"published {_publish(publish_copy, warehouse)}")
    if not published_path(warehouse).exists():
        typer.echo(
            f"note: no {published_path(warehouse)} yet; pages say so until a nightly run (or --publish) writes it"
        )
    typer.echo(f"cdp ui on http://{host}:{port}/ ({'token required' if access.required else 'local only'})")
    uvicorn.run(create_app(warehouse, access), host=host, port=port, log_level="warning")


def _publish(publish_copy, warehouse: Path) -> Path:
    """Publish now; a warehouse another process is writing is one line, not a traceback."""
    import duckdb

    from cdp.errors import CdpError

    try:
        return publish_copy(warehouse)
    except duckdb.IOException as error:
        raise CdpError(
            f"{warehouse}: cannot publish while another process writes it (a nightly run?): {error}"
        ) from None
