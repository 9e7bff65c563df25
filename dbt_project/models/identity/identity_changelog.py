"""identity.identity_changelog: every new customer id, merge and split, appended per run.

Derived from record_customers, which keeps each record's `previous_customer_id` (its
id before this run), by the same tested function the identity module uses. Incremental:
a run already logged (same run_id) is not logged twice.
"""


def model(dbt, session):
    dbt.config(materialized="incremental")
    import pyarrow as pa

    from cdp.identity.stable_ids import CHANGELOG_SCHEMA, changelog

    records = dbt.ref("record_customers").df()
    run_id = records["run_id"].iloc[0] if len(records) else ""
    resolved_at = records["resolved_at"].iloc[0] if len(records) else None
    if dbt.is_incremental:
        logged = session.execute(f"select count(*) from {dbt.this} where run_id = ?", [run_id]).fetchone()[0]
        if logged:
            records = records.head(0)
    rows = changelog(records, run_id=run_id, changed_at=resolved_at)
    return pa.Table.from_pandas(rows, schema=CHANGELOG_SCHEMA, preserve_index=False)
