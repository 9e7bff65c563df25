"""identity.identity_changelog: every new customer id, merge and split, appended per run.

Derived from record_customers, which keeps each record's `logged_customer_id` (its id as
of the last run logged here), by the same tested function the identity module uses. A run
killed after record_customers and before this model leaves that base where it was, so the
rerun logs exactly what the killed run would have (cdp/identity/stable_ids.py).
Incremental: a run already logged (same run_id) is not logged twice.
"""


def model(dbt, session):
    dbt.config(materialized="incremental")
    import pyarrow as pa

    from cdp.identity.stable_ids import CHANGELOG_SCHEMA, changelog

    columns = "customer_id, logged_customer_id, cluster_capped, run_id, resolved_at"
    records = dbt.ref("record_customers").project(columns).df()
    run_id = records["run_id"].iloc[0] if len(records) else ""
    resolved_at = records["resolved_at"].iloc[0] if len(records) else None
    if dbt.is_incremental:
        logged = session.execute(f"select count(*) from {dbt.this} where run_id = ?", [run_id]).fetchone()[0]
        if logged:
            records = records.head(0)
    rows = changelog(records, run_id=run_id, changed_at=resolved_at, base="logged_customer_id")
    return pa.Table.from_pandas(rows, schema=CHANGELOG_SCHEMA, preserve_index=False)
