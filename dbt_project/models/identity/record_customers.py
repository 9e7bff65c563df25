"""identity.record_customers: every identity input record with its stable customer_id.

Runs the identity step (cdp.identity.resolve, Splink 5 with the identity configuration,
the var `identity`, and the trained model CDP_IDENTITY_MODEL) on identity_inputs,
identity_strong_ids and identity_match_fields, with the guardrail seeds. The previous
assignment is this table as it stands before the run: dbt-duckdb builds a Python table
under a temporary name and swaps it in afterwards, so `dbt.this` is still readable here.
Each record's `logged_customer_id` (what identity_changelog compares against) moves on
only if the last run's changes reached identity_changelog, which is read here directly
(not a ref: it is built from this model); see cdp/identity/stable_ids.py.

Incremental scoring: the run's scored pairs are kept beside this table in
identity_scored_pairs, and the next run scores only pairs with a new or changed record
(cdp/identity/incremental.py: the result equals a full resolution). `cdp build
--full-refresh` (the var cdp_full_refresh) scores every pair again.
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


def previous_pairs(dbt, session):
    """The last run's scored pairs (None on the first run or with --full-refresh: all are scored)."""
    if dbt.config.get("cdp_full_refresh") == "true" or not table_exists(session, dbt.this.schema, PAIRS_TABLE):
        return None
    return as_arrow(session.table(f'"{dbt.this.schema}"."{PAIRS_TABLE}"'))


def store_pairs(dbt, session, pairs):
    """This run's scored pairs beside the table, for the next run (cdp/identity/incremental.py)."""
    session.register("cdp_scored_pairs", pairs)
    session.execute(f'create or replace table "{dbt.this.schema}"."{PAIRS_TABLE}" as select * from cdp_scored_pairs')
    session.unregister("cdp_scored_pairs")


PAIRS_TABLE = "identity_scored_pairs"


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
        previous_pairs=previous_pairs(dbt, session),
        config=IdentityConfig.checked(dbt.config.get("identity"), "dbt_project.yml: vars.identity"),
    )
    for warning in resolution.warnings:  # in dbt's output; `cdp run` repeats it in its summary
        print(f"warning: record_customers: {warning}")
    store_pairs(dbt, session, resolution.scored_pairs)
    return resolution.records
