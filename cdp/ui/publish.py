"""The nightly run's step for the marketer workspace: size history, view log, the published copy.

DuckDB lets one process write a file, and a reader in another process cannot open it while
it is being written. So the app never opens the live warehouse: at the end of each nightly
run (when nobody else holds the warehouse) `publish(warehouse)`

1. appends one row per segment to `ui.segment_size_history` (the trends start on night two),
2. adds the app's own profile-view log (`<warehouse dir>/ui/views.sqlite`) to
   `ui.profile_views` in the warehouse, so the record of who looked at whom is kept with the data,
3. writes what the app reads (marts, segments, identity, reverse_etl, ui and seeds, plus the
   segments' descriptions and syncs from dbt's manifest as `ui.segment_meta`) into
   `<warehouse dir>/ui/published.duckdb`: a temp file first, then an atomic rename, so the
   app sees either the old copy or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from cdp.warehouse_schema import table_exists

PUBLISHED_SCHEMAS = ("marts", "segments", "identity", "reverse_etl", "ui", "seeds")


def ui_dir(warehouse: Path) -> Path:
    """`<warehouse dir>/ui/`: the published copy and the app's view log live here."""
    return Path(warehouse).expanduser().resolve().parent / "ui"


def published_path(warehouse: Path) -> Path:
    return ui_dir(warehouse) / "published.duckdb"


def views_path(warehouse: Path) -> Path:
    return ui_dir(warehouse) / "views.sqlite"


def default_manifest() -> Path:
    from cdp import settings

    return settings.DBT_PROJECT_DIR / "target" / "manifest.json"


def publish(warehouse_path: Path | str, *, manifest: Path | None = None, run_at: datetime | None = None) -> Path:
    """Record this night's segment sizes and the view log, then publish the app's copy; returns its path."""
    warehouse = Path(warehouse_path).expanduser().resolve()
    run_at = run_at or datetime.now(UTC).replace(tzinfo=None)
    target = published_path(warehouse)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".published-{os.getpid()}.duckdb")
    scratch.unlink(missing_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        record_segment_sizes(con, run_at)
        copy_profile_views(con, views_path(warehouse))
        write_copy(con, scratch, segment_meta(manifest or default_manifest()))
    os.replace(scratch, target)  # atomic: a reader has the old copy open or opens the new one
    return target


def segment_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The segment tables: every table or view in schema `segments` with a customer_id column."""
    rows = con.execute(
        """
        select distinct table_name from information_schema.columns
        where table_schema = 'segments' and column_name = 'customer_id'
          and table_catalog = current_database()
        order by 1
        """
    ).fetchall()
    return [name for (name,) in rows]


def record_segment_sizes(con: duckdb.DuckDBPyConnection, run_at: datetime) -> int:
    """Append one (run_at, segment, size) row per segment; returns how many were written."""
    con.execute("create schema if not exists ui")
    con.execute(
        """
        create table if not exists ui.segment_size_history (
            run_at timestamp not null, segment varchar not null, size bigint not null,
            consent_email_marketing bigint, consent_ads bigint
        )
        """
    )
    segments = segment_tables(con)
    has_360 = table_exists(con, "marts", "customer_360")
    for segment in segments:
        consent = (
            "count(*) filter (where c.consent_email_marketing and not coalesce(c.email_unsubscribed, false)),"
            " count(*) filter (where c.consent_ads)"
            if has_360
            else "null, null"
        )
        join = "left join marts.customer_360 as c using (customer_id)" if has_360 else ""
        con.execute(
            f"""
            insert into ui.segment_size_history
            select ?, ?, count(*), {consent} from segments."{segment}" {join}
            """,
            [run_at, segment],
        )
    return len(segments)


def copy_profile_views(con: duckdb.DuckDBPyConnection, views_file: Path) -> int:
    """Add the app's logged views that ui.profile_views lacks; returns how many were new.

    A view is the same view when its time, viewer, customer and path are: publishing twice adds
    nothing, and views already copied stay even if the app's log file is later removed.
    """
    rows = read_views(views_file)
    con.execute("create schema if not exists ui")
    con.execute(
        """
        create table if not exists ui.profile_views (
            view_id bigint, viewed_at timestamp, viewer varchar, customer_id varchar, path varchar
        )
        """
    )
    if not rows:
        return 0
    con.execute(
        "create or replace temp table logged_views (view_id bigint, viewed_at timestamp, viewer varchar,"
        " customer_id varchar, path varchar)"
    )
    con.executemany("insert into logged_views values (?, ?, ?, ?, ?)", rows)
    added = con.execute(
        """
        insert into ui.profile_views
        select * from logged_views as l where not exists (
            select 1 from ui.profile_views as v
            where v.viewed_at = l.viewed_at and v.viewer = l.viewer and v.customer_id = l.customer_id
              and v.path is not distinct from l.path
        )
        """
    ).fetchone()[0]
    con.execute("drop table logged_views")
    return added


def read_views(views_file: Path) -> list[tuple]:
    if not views_file.exists():
        return []
    with sqlite3.connect(views_file) as log:
        return log.execute("select view_id, viewed_at, viewer, customer_id, path from profile_views").fetchall()


def write_copy(con: duckdb.DuckDBPyConnection, scratch: Path, meta: list[dict]) -> None:
    """Every table and view of the published schemas, as tables, into a fresh file."""
    con.execute(f"attach '{scratch}' as published")
    try:
        relations = con.execute(
            """
            select schema_name, table_name from duckdb_tables() where database_name = current_database()
            union all
            select schema_name, view_name from duckdb_views() where database_name = current_database() and not internal
            """
        ).fetchall()
        for schema, name in sorted(relations):
            if schema not in PUBLISHED_SCHEMAS:
                continue
            con.execute(f'create schema if not exists published."{schema}"')
            con.execute(f'create table published."{schema}"."{name}" as from "{schema}"."{name}"')
        con.execute("create schema if not exists published.ui")
        con.execute(
            "create table published.ui.segment_meta (segment varchar, description varchar,"
            " journey_stage varchar, definition varchar, syncs varchar)"
        )
        if meta:
            con.executemany(
                "insert into published.ui.segment_meta values (?, ?, ?, ?, ?)",
                [(m["segment"], m["description"], m["journey_stage"], m["definition"], m["syncs"]) for m in meta],
            )
        copy_products(con)
        con.execute("create table published.ui.published_at as select ?::timestamp as published_at", [_now()])
    finally:
        con.execute("detach published")


def copy_products(con: duckdb.DuckDBPyConnection) -> None:
    """Product names for the timeline: the shop's catalogue, else the names purchases carry."""
    try:
        con.execute(
            "create table published.ui.products as"
            " select product_id, product_name, category, price from staging.stg_shop__products"
        )
        return
    except duckdb.Error:  # the shop source switched off, or staging not built
        pass
    names = []
    if table_exists(con, "marts", "customer_purchases"):
        names.append("select product_id, product_name, category from marts.customer_purchases")
    if table_exists(con, "marts", "customer_360"):
        names.append("select open_cart_product_id, open_cart_product_name, open_cart_category from marts.customer_360")
    union = " union all ".join(names) or "select null::varchar, null::varchar, null::varchar"
    con.execute(
        "create table published.ui.products as select product_id, any_value(product_name) as product_name,"
        f" any_value(category) as category, null::double as price from ({union}) as named(product_id, product_name, category)"
        " where product_id is not null group by product_id"
    )


def segment_meta(manifest: Path) -> list[dict]:
    """Description, journey stage, SQL and declared syncs of each segment model, from dbt's manifest."""
    if not Path(manifest).exists():
        return []
    nodes = json.loads(Path(manifest).read_text()).get("nodes", {})
    meta = []
    for node in nodes.values():
        if node.get("resource_type") != "model" or node.get("schema") != "segments":
            continue
        node_meta = {**node.get("meta", {}), **node.get("config", {}).get("meta", {})}
        meta.append(
            {
                "segment": node.get("alias") or node["name"],
                "description": (node.get("description") or "").strip(),
                "journey_stage": node_meta.get("journey_stage"),
                "definition": node.get("raw_code") or "",
                "syncs": json.dumps(node_meta.get("syncs") or []),
            }
        )
    return meta


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
