"""identity.identity_changelog: every new customer id, merge and split, appended per run.

Derived from record_customers, which keeps each record's `previous_customer_id` (its
id before this run), by the same tested function the identity module uses. Incremental:
a run already logged (same run_id) is not logged twice.
"""


def model(dbt, session):
    dbt.config(materialized="incremental")
    from cdp.identity.stable_ids import changelog

    records = dbt.ref("record_customers").df()
    if records.empty:
        return changelog(records, run_id="", changed_at=None)
    run_id, resolved_at = records["run_id"].iloc[0], records["resolved_at"].iloc[0]
    if dbt.is_incremental:
        logged = session.execute(f"select count(*) from {dbt.this} where run_id = ?", [run_id]).fetchone()[0]
        if logged:
            return changelog(records.head(0), run_id=run_id, changed_at=resolved_at)
    return changelog(records, run_id=run_id, changed_at=resolved_at)
