"""Schema versions of the tables cdp keeps its own state in, and the migrations between them.

A warehouse built by an earlier release is upgraded in place by the next one, so that no
sync resends (or deletes) everyone and no customer id is lost after an upgrade.

- `cdp_meta.schema_versions(component, version, migrated_at)`: one row per migration
  applied; a component's version is its highest row.
- A component (`reverse_etl`, `identity`) has an ordered list of migrations, numbered from
  2: version 1 is its first layout. `upgrade(con, component)` applies the ones above the
  warehouse's version, all in one transaction with their rows in schema_versions, so an
  upgrade is applied entirely or not at all, once. Every migration is also idempotent
  (`add column if not exists`, a fill only where it added the column), because a warehouse
  from before versioning has no row: its tables are taken to be at version 1 and brought
  up from there, whatever layout between 1 and the latest they really have.
- A component whose tables do not exist yet is created at the latest layout by its owner
  (reverse_etl: cdp/activate/state.py's DDL, passed as `create`, and recorded at the latest
  version; identity: dbt builds it, and the next upgrade records it).
- A warehouse at a version above the code's is refused with one line: it was built by a
  newer cdp, and this one would misread its tables.

Who upgrades: the sync engine, when it opens the sync state (`state.ensure_schema`), for
reverse_etl; `upgrade_warehouse(path)` does every component (for `cdp build`, before dbt
runs). The identity models also read record_customers of either layout
(cdp/identity/stable_ids.py `changelog_base`), so a build never depends on it.

File manifests (raw_<source>._files) are not migrated here: dlt owns the raw schemas and
adds the new columns (action, modified_at, content_hash, read_from_byte) on the next load
by its own schema evolution, and ingest/loaded.py reads rows written before them as NULL
(such a file is decided by its name and size). Altering dlt's tables behind its back
would leave its stored schema out of step with them.

Adding a migration: append `Migration(next_version, "what changed", sql or function)` to
its component; change the component's create DDL to the new layout in the same commit;
tests/test_upgrade.py checks that a warehouse brought up from version 1 has exactly the
layout of a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from cdp.errors import CdpError

META_DDL = """
create schema if not exists cdp_meta;
create table if not exists cdp_meta.schema_versions (
    component varchar not null,
    version integer not null,
    migrated_at timestamp not null,  -- UTC
    primary key (component, version)
);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    summary: str
    apply: str | Callable[[duckdb.DuckDBPyConnection], None]  # SQL, or a function of the connection

    def run(self, con: duckdb.DuckDBPyConnection) -> None:
        if isinstance(self.apply, str):
            con.execute(self.apply)
        else:
            self.apply(con)


@dataclass(frozen=True)
class Component:
    name: str
    probe: str  # a table whose existence says the component's tables have been created
    migrations: tuple[Migration, ...]

    @property
    def latest(self) -> int:
        return max((m.version for m in self.migrations), default=1)


def _record_customers_logged_id(con: duckdb.DuckDBPyConnection) -> None:
    # The changelog of a run before this one was derived from previous_customer_id: that is
    # the id the changelog last recorded, which logged_customer_id now carries.
    columns = _columns(con, "identity", "record_customers")
    if "logged_customer_id" not in columns:
        con.execute("alter table identity.record_customers add column logged_customer_id varchar")
        if "previous_customer_id" in columns:
            con.execute("update identity.record_customers set logged_customer_id = previous_customer_id")


COMPONENTS: dict[str, Component] = {
    component.name: component
    for component in (
        Component(
            "reverse_etl",
            probe="reverse_etl.sync_state",
            migrations=(
                Migration(
                    2,
                    "sync_log keeps the checksum and record sent and whether it is folded into sync_state",
                    # rows logged before this were written to sync_state at once: applied
                    """
                    alter table reverse_etl.sync_log add column if not exists checksum varchar;
                    alter table reverse_etl.sync_log add column if not exists record varchar;
                    alter table reverse_etl.sync_log add column if not exists applied boolean default true;
                    update reverse_etl.sync_log set applied = true where applied is null;
                    alter table reverse_etl.sync_log alter column applied drop default;
                    alter table reverse_etl.sync_log alter column applied set not null;
                    """,
                ),
                Migration(
                    3,
                    "sync_runs counts the rows skipped for having no identifier the destination matches on",
                    "alter table reverse_etl.sync_runs add column if not exists skipped_identifier bigint",
                ),
                Migration(
                    4,
                    "sync_runs counts withdrawals and rows the destination could not confirm",
                    """
                    alter table reverse_etl.sync_runs add column if not exists withdrawn bigint;
                    alter table reverse_etl.sync_runs add column if not exists unconfirmed bigint;
                    alter table reverse_etl.sync_runs add column if not exists invalid_entries bigint;
                    """,
                ),
            ),
        ),
        Component(
            "identity",
            probe="identity.record_customers",
            migrations=(
                Migration(
                    2,
                    "record_customers keeps logged_customer_id, the base of the next run's changelog",
                    _record_customers_logged_id,
                ),
            ),
        ),
    )
}


def upgrade(con: duckdb.DuckDBPyConnection, component: str, create: str | None = None) -> int | None:
    """Bring `component`'s tables in this warehouse to the code's layout; returns its version.

    `create`: the DDL of the latest layout, run when the tables do not exist (a new
    warehouse, or the schema dropped since), and the latest version is recorded. Without
    it, absent tables are left to whoever makes them (dbt for identity) and nothing is
    recorded: the next upgrade finds them and records the version, its migrations having
    nothing to do.
    """
    spec = COMPONENTS[component]
    con.execute(META_DDL)
    current = version(con, component)
    if current is not None and current > spec.latest:
        raise CdpError(
            f"{_where(con)}: the {component} tables are at schema version {current}, built by a newer cdp "
            f"(this one knows up to {spec.latest}); upgrade cdp"
        )
    exists = bool(_columns(con, *spec.probe.split(".")))
    if exists and current == spec.latest:
        return current
    if not exists and create is None:
        return current
    con.execute("begin transaction")
    try:
        if exists:
            pending = [m.version for m in spec.migrations if m.version > (current or 1)] or [spec.latest]
            for migration in spec.migrations:
                if migration.version in pending:
                    migration.run(con)
        else:  # new, or dropped since: the latest layout
            con.execute(create)
            pending = [spec.latest]
        con.executemany(
            "insert or ignore into cdp_meta.schema_versions values (?, ?, now() at time zone 'UTC')",
            [[component, number] for number in pending],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return spec.latest


def upgrade_all(con: duckdb.DuckDBPyConnection) -> dict[str, int | None]:
    """Every component (see the module docstring), in order; returns each one's version."""
    return {name: upgrade(con, name) for name in COMPONENTS}


def upgrade_warehouse(path) -> dict[str, int | None]:
    """`upgrade_all` on the DuckDB file at `path` (for `cdp build`, before dbt opens it)."""
    with duckdb.connect(str(path)) as con:
        return upgrade_all(con)


def version(con: duckdb.DuckDBPyConnection, component: str) -> int | None:
    """The component's schema version recorded in this warehouse (None: never recorded)."""
    if not _columns(con, "cdp_meta", "schema_versions"):
        return None
    return con.execute("select max(version) from cdp_meta.schema_versions where component = ?", [component]).fetchone()[
        0
    ]


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the warehouse (the connection's own database, not an attached one) has this table."""
    return bool(_columns(con, schema, table))


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_catalog = current_database()"
        " and table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [name for (name,) in rows]


def _where(con: duckdb.DuckDBPyConnection) -> str:
    path = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    return path[0] if path and path[0] else "the warehouse"
