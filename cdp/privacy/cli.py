"""`cdp forget` and `cdp export-person`: a person's rights, from the command line (light to import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Emails = Annotated[list[str] | None, typer.Option("--email", help="The person's email (repeatable).")]
Phones = Annotated[
    list[str] | None, typer.Option("--phone", help="The person's phone, best with +country (repeatable).")
]
CustomerIds = Annotated[
    list[str] | None, typer.Option("--customer-id", help="A customer id of marts.customer_360 (repeatable).")
]
Records = Annotated[
    list[str] | None, typer.Option("--record", help="A source record as SOURCE:ID, e.g. crm:CRM000123 (repeatable).")
]
Warehouse = Annotated[Path | None, typer.Option("--warehouse", help="The DuckDB file; default CDP_WAREHOUSE.")]


def forget(
    email: Emails = None,
    phone: Phones = None,
    customer_id: CustomerIds = None,
    record: Records = None,
    warehouse: Warehouse = None,
    manifest: Annotated[
        Path | None,
        typer.Option(help="dbt manifest to read the syncs from (default: dbt_project/target/manifest.json)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be deleted; change nothing.")] = False,
) -> None:
    """Forget a person: delete them from the warehouse, exports, run logs and destinations; keep them out."""
    from cdp import settings
    from cdp.privacy.forget import forget as forget_person
    from cdp.privacy.person import Request

    request = Request.parse(email, phone, customer_id, record)
    warehouse = Path(warehouse).expanduser().resolve() if warehouse else settings.warehouse_path()
    report = forget_person(warehouse, request, specs=_specs(manifest), dry_run=dry_run)
    for line in report.lines():
        typer.echo(line)


def export_person(
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write.")],
    email: Emails = None,
    phone: Phones = None,
    customer_id: CustomerIds = None,
    record: Records = None,
    warehouse: Warehouse = None,
) -> None:
    """Write everything cdp holds about one person as one JSON file (the right of access)."""
    from cdp import settings
    from cdp.privacy.access import export_person as write_export
    from cdp.privacy.person import Request

    request = Request.parse(email, phone, customer_id, record)
    warehouse = Path(warehouse).expanduser().resolve() if warehouse else settings.warehouse_path()
    counts = write_export(warehouse, request, out)
    typer.echo(f"{out}: " + ", ".join(f"{part} {count}" for part, count in counts.items()))


def _specs(manifest: Path | None) -> list:
    """The declared syncs (their destinations are asked to delete); none without a manifest yet."""
    from cdp import settings
    from cdp.activate.specs import load_sync_specs

    path = manifest or settings.DBT_PROJECT_DIR / "target" / "manifest.json"
    if manifest is None and not path.exists():
        return []  # never built: nothing was sent anywhere
    return load_sync_specs(path)
