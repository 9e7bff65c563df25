"""Deterministic links: records that share a strong id of one type, one email or one phone.

Each group of records sharing a value is linked as a star to its smallest unique_id
(alias `a` in the rule SQL; the other record is `k`): n - 1 edges instead of n^2 / 2,
and the same connected components.
Writes `deterministic_links (unique_id_l, unique_id_r, link_rule, match_probability)`.
"""

from __future__ import annotations

import duckdb


def _star_links(key_table: str, key_columns: str, rule_sql: str) -> str:
    """SQL: link every record of a key group to the group's smallest unique_id."""
    return f"""
        select a.unique_id as unique_id_l, k.unique_id as unique_id_r, {rule_sql} as link_rule,
               1.0::double as match_probability
        from {key_table} k
        join (select {key_columns}, min(unique_id) as anchor from {key_table} group by all) g using ({key_columns})
        join {key_table} a on a.unique_id = g.anchor and a.unique_id <> k.unique_id
        where {' and '.join(f'a.{c.strip()} = k.{c.strip()}' for c in key_columns.split(','))}
    """


def build_deterministic_links(con: duckdb.DuckDBPyConnection) -> None:
    """Strong ids, then emails and phones that are neither blocked nor shared by a household.

    The email rule reads `email_sha256` when one side is known only by its hash
    (partner, broker), so the output shows where hashed joins did the work.
    """
    con.execute("""
        create or replace temp table email_groups as
        select unique_id, email_key, email is null as hashed_only from matching where email_key is not null
    """)
    con.execute("create or replace temp table phone_groups as select unique_id, phone from matching where phone is not null")
    strong = _star_links("usable_strong_ids", "id_type, id_value", "'strong_id:' || k.id_type")
    email = _star_links(
        "email_groups", "email_key", "case when k.hashed_only or a.hashed_only then 'email_sha256' else 'email' end"
    )
    phone = _star_links("phone_groups", "phone", "'phone'")
    con.execute(f"create or replace table deterministic_links as {strong} union all {email} union all {phone}")
