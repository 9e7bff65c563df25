"""Deterministic links: records that share a strong id of one type, one email or one phone.

Each group of records sharing a value is linked as a star to its smallest unique_id:
n - 1 edges instead of n^2 / 2, and the same connected components.
Writes `deterministic_links (unique_id_l, unique_id_r, link_rule, match_probability)`.
"""

from __future__ import annotations

import duckdb

from cdp.identity.prepare import clearly_different_first_names

# An email typed by hand (at the till, on a form) is sometimes one keystroke off the
# person's real address. Local parts shorter than this are too alike across people.
TYPO_MIN_LOCAL_LENGTH = 8


def _star_links(key_table: str, key_columns: str, rule_sql: str, anchor_columns: tuple[str, ...] = ()) -> str:
    """SQL: link every record of a key group to the group's smallest unique_id (one window pass).

    The rule SQL reads the record's columns and the anchor's `anchor_columns` as `anchor_<column>`.
    """
    anchors = "".join(f", first_value({c}) over w as anchor_{c}" for c in anchor_columns)
    return f"""
        select anchor_unique_id as unique_id_l, unique_id as unique_id_r, {rule_sql} as link_rule,
               1.0::double as match_probability
        from (
            select *, first_value(unique_id) over w as anchor_unique_id{anchors}
            from {key_table}
            window w as (partition by {key_columns} order by unique_id)
        )
        where unique_id <> anchor_unique_id
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
    con.execute(
        "create or replace temp table phone_groups as select unique_id, phone from matching where phone is not null"
    )
    strong = _star_links("usable_strong_ids", "id_type, id_value", "'strong_id:' || id_type")
    email = _star_links(
        "email_groups",
        "email_key",
        "case when hashed_only or anchor_hashed_only then 'email_sha256' else 'email' end",
        anchor_columns=("hashed_only",),
    )
    phone = _star_links("phone_groups", "phone", "'phone'")
    con.execute(f"create or replace table deterministic_links as {strong} union all {email} union all {phone}")
    con.execute(f"insert into deterministic_links {_email_typo_links()}")


def _email_blocks() -> str:
    """SQL over `keys`: each address under its prefix and suffix of k = (L - 1) // 2 and
    (L - 2) // 2 characters of its local part (L = its length; one k when L is even)."""
    parts = []
    for side in ("left", "right"):
        for shorten, only_odd in ((1, False), (2, True)):
            k = f"(len(local) - {shorten}) // 2"
            parts.append(
                f"select email_key, records, local, domain, '{side}' || {k} as block, {side}(local, {k}) as part"
                f" from keys{' where len(local) % 2 = 1' if only_odd else ''}"
            )
    return " union all ".join(parts)


def _email_typo_links() -> str:
    """SQL: link a record whose email was seen once to the one address a keystroke away.

    Candidates are found without comparing all pairs: one edit (a character replaced,
    dropped, added or two swapped) leaves either the first or the last k characters of the
    local part intact, k = (shorter length - 1) // 2, so pairs are blocked on those.
    Only addresses seen in one record can be typos, so only they are looked up.
    The typo must be the only record with its address and have exactly one neighbour: an
    address seen in several records (the person's real one), or one that has no other
    neighbour either; named records on the two sides must not name two people.
    """
    return f"""
        with keys as (
            select email_key, count(*) as records, split_part(email_key, '@', 1) as local,
                   split_part(email_key, '@', 2) as domain
            from email_groups where not hashed_only group by all
            having len(split_part(email_key, '@', 1)) >= {TYPO_MIN_LOCAL_LENGTH}
        ),
        blocks as ({_email_blocks()}),
        one_edit as (
            select distinct a.email_key as key_a, b.email_key as key_b, b.records as records_b
            from blocks a join blocks b using (domain, block, part)
            where a.records = 1 and a.email_key <> b.email_key and abs(len(a.local) - len(b.local)) <= 1
              and damerau_levenshtein(a.local, b.local) = 1
        ),
        lonely as (select key_a from one_edit group by all having count(*) = 1),
        unique_pairs as (
            select key_a as typo_key, key_b as real_key from one_edit
            where key_a in (select key_a from lonely)
              and (records_b > 1 or key_b in (select key_a from lonely))
        ),
        named as (
            select email_key, first_name, last_name, first_name_forms from matching
            where first_name is not null
              and email_key in (select typo_key from unique_pairs union all select real_key from unique_pairs)
        )
        select min(r.unique_id) as unique_id_l, t.unique_id as unique_id_r, 'email_typo' as link_rule,
               1.0::double as match_probability
        from unique_pairs p
        join email_groups t on t.email_key = p.typo_key
        join email_groups r on r.email_key = p.real_key
        where not exists (
            select 1 from named a join named b on a.email_key = p.typo_key and b.email_key = p.real_key
            where {clearly_different_first_names("a", "b")}
        )
        group by all
    """
