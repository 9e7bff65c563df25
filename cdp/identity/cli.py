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
        Path | None, typer.Option(help="Where to write the model JSON; default CDP_IDENTITY_MODEL.")
    ] = None,
) -> None:
    """Re-estimate the Splink model from the warehouse's identity inputs and write its JSON.

    The comparisons, blocking rules and sampling settings are the dbt project's `identity`
    var; u comes from random sampling, m from EM passes chosen so that each comparison is
    estimated by a pass that does not block on it. Levels no pass could estimate are listed
    and shipped neutral.
    """
    from cdp import settings
    from cdp.identity.model import train_model
    from cdp.identity.prepare import default_config, match_fields, prepare_matching_table
    from cdp.identity.warehouse import load_identity_inputs

    con = load_identity_inputs(settings.warehouse_path())
    config = default_config().with_match_fields(match_fields(con))
    prepare_matching_table(con, config)
    sources = [row[0] for row in con.execute("select distinct source from matching order by 1").fetchall()]
    report = train_model(con, config, output or settings.identity_model_path(), sources=sources)
    typer.echo(f"trained on {report.records:,} records from {', '.join(sources) or 'no source'}")
    for rule in report.em_passes:
        typer.echo(f"EM pass blocked on {' and '.join(rule)}")
    for comparison, label in report.unestimated:
        typer.echo(f"not estimated (shipped neutral, weight 0): {comparison}: {label}")
    for comparison, label in report.raised:
        typer.echo(f"raised to the weight of a weaker level: {comparison}: {label}")
    typer.echo(f"model written: {report.path}")


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
    from cdp.identity.prepare import default_config, match_fields, prepare_matching_table
    from cdp.identity.warehouse import load_identity_inputs, load_tables

    if not truth.exists():
        raise CdpError(f"{truth}: truth file not found")
    warehouse = settings.warehouse_path()
    try:
        con = load_tables(warehouse, {"resolution": "marts.customer_identities"})
    except CdpError:
        con = load_tables(warehouse, {"resolution": "identity.record_customers"})
    try:  # the inputs say why records were missed, and the report's charts need them
        load_identity_inputs(warehouse, con)
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
        config = default_config().with_match_fields(match_fields(con))
        prepare_matching_table(con, config)
        for path in write_report(con, figures, report, config):
            typer.echo(f"written: {path}")


@identity_app.command("explain")
def explain(
    query: Annotated[str, typer.Argument(help="A customer id, an email, or a record as source:source_record_id.")],
    other: Annotated[
        str | None, typer.Argument(help="A second record (source:source_record_id): why the two are apart.")
    ] = None,
) -> None:
    """Why records are one customer (each record's deciding link and its match weights), or
    why two records are apart (blocking, Splink's score, a guardrail, the cluster cap)."""
    from cdp import settings
    from cdp.errors import CdpError
    from cdp.identity.explain import customer_lines, find_records, why_apart
    from cdp.identity.model import load_model
    from cdp.identity.prepare import default_config, match_fields, prepare_matching_table
    from cdp.identity.warehouse import load_identity_inputs, load_tables

    warehouse = settings.warehouse_path()
    con = load_tables(warehouse, {"resolution": "identity.record_customers"})
    load_identity_inputs(warehouse, con)
    config = default_config().with_match_fields(match_fields(con))
    prepare_matching_table(con, config)
    if other is not None:
        for record in (query, other):
            if not find_records(con, record):
                raise CdpError(f"{record}: no identity input record of that name (give source:source_record_id)")
        lines = why_apart(con, config, load_model(), query.strip(), other.strip())
    else:
        records = find_records(con, query)
        if not records:
            raise CdpError(f"{query}: no customer id, email or record of that name in {warehouse}")
        lines = customer_lines(con, records)
    typer.echo("\n".join(lines))
