"""`cdp identity train | evaluate`: re-estimate the Splink model, score a resolution.

Heavy imports (Splink, DuckDB) stay inside the commands so `cdp --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

identity_app = typer.Typer(
    help="Identity resolution: train the Splink model, evaluate against truth.", no_args_is_help=True
)


@identity_app.command("train")
def train(
    output: Annotated[
        Path | None, typer.Option(help="Where to write the model JSON; default the repo's model path.")
    ] = None,
    max_pairs: Annotated[float, typer.Option(help="Record pairs sampled to estimate u.")] = 5e6,
    seed: Annotated[int, typer.Option(help="Sampling seed (same seed, same model).")] = 42,
) -> None:
    """Re-estimate the Splink model from the warehouse's identity.identity_inputs and write its JSON."""
    from cdp import settings
    from cdp.identity.model import MODEL_PATH, train_model
    from cdp.identity.prepare import prepare_matching_table
    from cdp.identity.warehouse import INPUT_TABLES, load_tables

    con = load_tables(settings.warehouse_path(), INPUT_TABLES)
    prepare_matching_table(con)
    written = train_model(con, output or MODEL_PATH, max_pairs=max_pairs, seed=seed)
    typer.echo(f"model written: {written}")


@identity_app.command("evaluate")
def evaluate(
    truth: Annotated[Path, typer.Option(help="truth.parquet: source, source_record_id, person_id.")],
    report: Annotated[Path | None, typer.Option(help="Folder for figures.json and the Splink charts (HTML).")] = None,
) -> None:
    """Score marts.customer_identities (or identity.record_customers) against a truth file."""
    import json

    from cdp import settings
    from cdp.errors import CdpError
    from cdp.identity.evaluate import score, split_off_breakdown, write_report
    from cdp.identity.prepare import prepare_matching_table
    from cdp.identity.warehouse import INPUT_TABLES, load_tables

    if not truth.exists():
        raise CdpError(f"{truth}: truth file not found")
    warehouse = settings.warehouse_path()
    try:
        con = load_tables(warehouse, {"resolution": "marts.customer_identities"})
    except CdpError:
        con = load_tables(warehouse, {"resolution": "identity.record_customers"})
    try:  # the inputs say why records were missed, and the report's charts need them
        load_tables(warehouse, INPUT_TABLES, con)
        has_inputs = True
    except CdpError:
        if report:
            raise
        has_inputs = False
    try:
        con.execute("create table truth as select * from read_parquet(?)", [str(truth)])
    except Exception as error:  # duckdb raises several kinds for unreadable files
        raise CdpError(f"{truth}: cannot read truth parquet: {error}") from error
    missing = {"source", "source_record_id", "person_id"} - set(con.table("truth").columns)
    if missing:
        raise CdpError(f"{truth}: column(s) {', '.join(sorted(missing))} missing")
    figures = score(con, "resolution", "truth")
    if has_inputs:
        figures |= split_off_breakdown(con, "resolution", "truth")
    typer.echo(json.dumps(figures, indent=2))
    if report:
        prepare_matching_table(con)
        for path in write_report(con, figures, report):
            typer.echo(f"written: {path}")
