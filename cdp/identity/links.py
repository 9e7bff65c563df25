"""Deterministic links: records that share a strong id of one type, one email or one phone.

Each group of records sharing a value is linked as a star to its smallest unique_id:
n - 1 edges instead of n^2 / 2, and the same connected components.
Writes `deterministic_links (unique_id_l, unique_id_r, link_rule, match_probability)`.
"""

from __future__ import annotations

import duckdb

from cdp.identity.config import EmailTypoGuardrail, IdentityConfig
from cdp.identity.prepare import initial_of


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


def build_deterministic_links(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> None:
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
    if config.guardrails.email_typo.enabled:
        con.execute(f"insert into deterministic_links {_email_typo_links(config.guardrails.email_typo)}")


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


AGREEMENT_SQL = {
    "name": "a.first_name = b.first_name and a.last_name = b.last_name",
    "date_of_birth": "a.date_of_birth = b.date_of_birth",
    "phone": "a.phone = b.phone",
    "address": "a.address = b.address",
    "postcode": "a.postcode = b.postcode",
    "city": "a.city = b.city",
}
DISAGREEMENT_SQL = {
    "date_of_birth": "a.date_of_birth <> b.date_of_birth",
    "phone": "a.phone <> b.phone",
    "last_name": "damerau_levenshtein(a.last_name, b.last_name) > 1",
    "postcode": "a.postcode <> b.postcode",
    "address": "a.address <> b.address",
    "city": "a.city <> b.city",
}


def _any(conditions: list[str]) -> str:
    return "(" + " or ".join(f"coalesce({c}, false)" for c in conditions) + ")" if conditions else "false"


def _email_typo_links(rule: EmailTypoGuardrail) -> str:
    """SQL: link a record whose email was seen once to the one address a keystroke away.

    Candidates are found without comparing all pairs: one edit (a character replaced,
    dropped, added or two swapped) leaves either the first or the last k characters of the
    local part intact, k = (shorter length - 1) // 2, so pairs are blocked on those.
    Only addresses seen in one record can be typos, so only they are looked up.
    The typo must be the only record with its address and have exactly one neighbour: an
    address seen in several records (the person's real one), or one that has no other
    neighbour either. And the typo alone is no evidence: the records on the two sides must
    agree on one of `rule.agree_on` (the name, the birth date, the phone, the address),
    disagree on none of `rule.disagree_on`, and carry the same first name where both have one
    (the twins anna.kowalski@ and hanna.kowalski@ are two people).
    """
    # the email already carries the one difference a typo allows: names typed differently
    # (anna. / hanna., nicknames of one name but two people) are not one person's
    same_first_name = f"a.first_name = b.first_name or {_initial_pair('a', 'b')}"
    # no field to agree on configured: the typo alone links, when nothing disagrees
    agree = _any([AGREEMENT_SQL[f] for f in rule.agree_on if f in AGREEMENT_SQL]) if rule.agree_on else "true"
    disagree = _any([DISAGREEMENT_SQL[f] for f in rule.disagree_on if f in DISAGREEMENT_SQL])
    return f"""
        with keys as (
            select email_key, count(*) as records, split_part(email_key, '@', 1) as local,
                   split_part(email_key, '@', 2) as domain
            from email_groups where not hashed_only group by all
            having len(split_part(email_key, '@', 1)) >= {rule.min_local_length}
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
        sides as (
            select p.typo_key, a.unique_id as typo_id, b.unique_id as real_id,
                   {agree} as agrees,
                   {disagree} or coalesce(a.first_name is not null and b.first_name is not null
                                           and not ({same_first_name}), false) as disagrees
            from unique_pairs p
            join matching a on a.email_key = p.typo_key
            join matching b on b.email_key = p.real_key
        )
        select min(real_id) as unique_id_l, typo_id as unique_id_r, 'email_typo' as link_rule,
               1.0::double as match_probability
        from sides
        group by typo_id
        having bool_or(agrees) and not bool_or(disagrees)
    """


def _initial_pair(left: str, right: str) -> str:
    return (
        f"{initial_of(f'{left}.first_name', f'{right}.first_name')}"
        f" or {initial_of(f'{right}.first_name', f'{left}.first_name')}"
    )
