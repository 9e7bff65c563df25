"""identity.record_customers: every identity input record with its stable customer_id.

Runs the identity step (cdp.identity.resolve, Splink 5 with the identity configuration,
the var `identity`, and the trained model CDP_IDENTITY_MODEL) on identity_inputs,
identity_strong_ids and identity_match_fields, with the guardrail seeds. The previous
assignment is this table as it stands before the run: dbt-duckdb builds a Python table
under a temporary name and swaps it in afterwards, so `dbt.this` is still readable here.
Each record's `logged_customer_id` (what identity_changelog compares against) moves on
only if the last run's changes reached identity_changelog, which is read here directly
(not a ref: it is built from this model); see cdp/identity/stable_ids.py.
"""


def as_arrow(relation):
    """All rows as an Arrow table (a stream left open would be cut off by the next query)."""
    result = relation.arrow()
    return result.read_all() if hasattr(result, "read_all") else result


def table_exists(session, schema, table):
    return session.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchone()[0]


def previous_assignment(dbt, session):
    """This table from the last run, with the changelog's base (None on the first run)."""
    from cdp.identity.stable_ids import previous_for_next_run

    schema, table = dbt.this.schema, dbt.this.identifier
    if not table_exists(session, schema, table):
        return None
    changelog = f'"{schema}"."identity_changelog"' if table_exists(session, schema, "identity_changelog") else None
    return previous_for_next_run(session, str(dbt.this), changelog)


def model(dbt, session):
    dbt.config(materialized="table")
    from cdp.identity.config import IdentityConfig
    from cdp.identity.prepare import MATCHING_INPUT_COLUMNS
    from cdp.identity.resolve import resolve_identities

    resolution = resolve_identities(
        as_arrow(dbt.ref("identity_inputs").project(", ".join(MATCHING_INPUT_COLUMNS))),
        as_arrow(dbt.ref("identity_strong_ids")),
        as_arrow(dbt.ref("blocked_identifiers")),
        as_arrow(dbt.ref("nicknames")),
        previous_assignment(dbt, session),
        match_fields=as_arrow(dbt.ref("identity_match_fields")),
        config=IdentityConfig.checked(dbt.config.get("identity"), "dbt_project.yml: vars.identity"),
    )
    for warning in resolution.warnings:  # in dbt's output; `cdp run` repeats it in its summary
        print(f"warning: record_customers: {warning}")
    return resolution.records
