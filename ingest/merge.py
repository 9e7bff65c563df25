"""Merge tables keep the newest version of each record by its own `dedup_sort` column, whatever the file order.

dlt's `dedup_sort` picks the newest version of a key *within* one load, and its merge
then replaces what the warehouse holds. So an older export that arrives after a newer
one (`contacts_2026-12-01.jsonl` delivered late, after 12-02 was loaded) would bring
old values back, such as a consent that was since withdrawn. dlt has no "only if newer"
merge, so before a batch goes to dlt its rows are compared with the versions already
loaded: a row older than the loaded version is not merged but quarantined, with both
timestamps in its reason (its values stay readable there, nothing is lost). A row
without a `dedup_sort` value never replaces a dated one. Ties load (a file read again).
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute

from ingest.config import FileTable
from ingest.loaded import newest_versions
from ingest.readers import BatchRead, _ident, quarantine_table


def keep_newest(con, result: BatchRead, pipeline, table: str, spec: FileTable) -> BatchRead:
    """`result` without the rows older than the version of their key already in the warehouse."""
    good, sort = result.good, spec.dedup_sort
    if good is None or sort not in good.column_names:
        return result
    loaded = newest_versions(pipeline, table, spec.primary_key, sort, good)
    if loaded is None or not loaded.num_rows:
        return result
    con.register("_merge_incoming", good)
    con.register("_merge_loaded", loaded)
    keys = " AND ".join(f"g.{_ident(key)} = l.{_ident(key)}" for key in spec.primary_key)
    stale = con.execute(
        f"""SELECT g._dlt_id, g._source_file AS source_file, g._source_row AS source_row,
                   'older than the version already loaded: {sort} '
                     || coalesce(g.{_ident(sort)}::VARCHAR, 'missing') || ' < ' || l._loaded_version::VARCHAR AS reason,
                   to_json(g)::VARCHAR AS raw_record
            FROM _merge_incoming AS g JOIN _merge_loaded AS l ON {keys}
            WHERE l._loaded_version IS NOT NULL AND (g.{_ident(sort)} IS NULL OR g.{_ident(sort)} < l._loaded_version)"""
    ).to_arrow_table()
    con.unregister("_merge_incoming")
    con.unregister("_merge_loaded")
    if not stale.num_rows:
        return result
    rows = [{**row, "field": sort} for row in stale.drop_columns(["_dlt_id"]).to_pylist()]
    kept = good.filter(pa.compute.invert(pa.compute.is_in(good["_dlt_id"], value_set=stale["_dlt_id"])))
    quarantine = pa.concat_tables([result.quarantine, quarantine_table(rows, table)])
    for name, count in Counter(row["source_file"] for row in rows).items():
        result.files[name].quarantined += count
    return BatchRead(good=kept if kept.num_rows else None, quarantine=quarantine, files=result.files)
