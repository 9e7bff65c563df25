"""Identity inputs -> the matching table, with the guardrails applied.

Tables read from the connection (names fixed so every caller registers the same):
  identity_inputs      the identity contract columns (docs/architecture.md section 3)
  identity_strong_ids  source, source_record_id, id_type, id_value
  blocked_identifiers  identifier_type (email, phone, name, loyalty_card, postcode, address), value
  nicknames            nickname, canonical_name
  identity_match_fields  source, source_record_id, field, kind, value (optional: the
                       staging models' meta.match_fields, one row per record and field)

Tables written: `matching` (one row per record, keyed by unique_id = source:source_record_id)
and `usable_strong_ids`.
"""

from __future__ import annotations

import re

import duckdb

from cdp.errors import CdpError
from cdp.identifiers import CANONICAL_EMAIL_SQL
from cdp.identity.config import IdentityConfig, check_match_field_kind

# The identity contract columns resolution reads (the display forms and observed_at are
# for the golden record, not for matching; callers may pass only these).
MATCHING_INPUT_COLUMNS = (
    "source",
    "source_record_id",
    "party",
    "email",
    "email_sha256",
    "phone",
    "first_name",
    "last_name",
    "date_of_birth",
    "address",
    "postcode",
    "city",
    "country",
)

# A typo is one edit (a character dropped, doubled, swapped or replaced): names further
# apart than this, across their nickname families, belong to two people.
TYPO_EDITS = 1


def _text(column: str) -> str:
    """SQL: lower, trimmed text or null (an all-null column from pandas arrives untyped)."""
    return f"nullif(lower(trim(cast({column} as varchar))), '')"


def _blocked(identifier_type: str, column: str) -> str:
    """SQL: the column's value, or null when the seed blocks it."""
    return (
        f"case when {column} in (select value from blocked where identifier_type = '{identifier_type}') "
        f"then null else {column} end"
    )


def initial_of(initial: str, name: str) -> str:
    """SQL: `initial` is a single letter (J, J.) and `name` starts with it."""
    letters = f"regexp_replace({initial}, '[^[:alpha:]]', '', 'g')"
    return f"(len({letters}) = 1 and starts_with({name}, {letters}))"


def clearly_different_first_names(left: str, right: str) -> str:
    """SQL: true when two records' first names belong to two different people.

    Names of one nickname family (Bob, Robbie, Robert), typos of any of them ("mikke" for
    Mike), an initial ("J." for John) and swapped first/last names do not count as
    different; a missing name never does.
    """
    return f"""(
        {left}.first_name is not null and {right}.first_name is not null
        and len(list_filter({left}.first_name_forms, x -> len(list_filter({right}.first_name_forms,
            y -> damerau_levenshtein(x, y) <= {TYPO_EDITS})) > 0)) = 0
        and not {initial_of(f"{left}.first_name", f"{right}.first_name")}
        and not {initial_of(f"{right}.first_name", f"{left}.first_name")}
        and coalesce({left}.first_name <> {right}.last_name, true)
        and coalesce({right}.first_name <> {left}.last_name, true)
    )"""


def same_birth_date(left: str, right: str) -> str:
    """SQL: two ISO birth dates equal, one keystroke apart, or day and month swapped."""
    return f"""(
        {left} = {right} or damerau_levenshtein({left}, {right}) <= {TYPO_EDITS}
        or (left({left}, 4) = left({right}, 4) and substr({left}, 6, 2) = substr({right}, 9, 2)
            and substr({left}, 9, 2) = substr({right}, 6, 2))
    )"""


def clearly_different_birth_dates(left: str, right: str) -> str:
    """SQL: both records carry a birth date and they are further apart than a typo or a swap."""
    a, b = f"{left}.date_of_birth", f"{right}.date_of_birth"
    return f"({a} is not null and {b} is not null and not {same_birth_date(a, b)})"


def clearly_different_people(left: str, right: str) -> str:
    """SQL: the two records name two people (first names or birth dates say so)."""
    return f"({clearly_different_first_names(left, right)} or {clearly_different_birth_dates(left, right)})"


def prepare_matching_table(con: duckdb.DuckDBPyConnection, config: IdentityConfig | None = None) -> None:
    """Build `matching` and `usable_strong_ids` from the registered input tables."""
    config = config or default_config()
    con.execute("""
        create or replace temp table blocked as
        select distinct lower(trim(identifier_type)) as identifier_type, lower(trim(value)) as value
        from blocked_identifiers where value is not null
    """)
    con.execute(f"""
        create or replace temp table cleaned as
        with typed as (
            select
                cast(source as varchar) || ':' || cast(source_record_id as varchar) as unique_id,
                cast(source as varchar) as source, cast(source_record_id as varchar) as source_record_id, party,
                {_text("email")} as email,
                {_text("email_sha256")} as email_sha256,
                nullif(trim(cast(phone as varchar)), '') as phone,
                {_text("first_name")} as first_name,
                {_text("last_name")} as last_name,
                cast(date_of_birth as varchar) as date_of_birth,
                {_text("address")} as address,
                nullif(upper(replace(cast(postcode as varchar), ' ', '')), '') as postcode,
                {_text("city")} as city,
                upper(cast(country as varchar)) as country
            from identity_inputs
        )
        select
            unique_id, source, source_record_id, party,
            {_blocked("email", "email")} as email,
            -- a blocked email is blocked in its hashed form too
            case when email_sha256 in (select sha256(value) from blocked where identifier_type = 'email')
                 then null else email_sha256 end as email_sha256,
            {_blocked("phone", "phone")} as phone,
            {_blocked("name", "first_name")} as first_name,
            {_blocked("name", "last_name")} as last_name,
            date_of_birth,
            {_blocked("address", "address")} as address,
            {_blocked("postcode", "postcode")} as postcode,
            city, country
        from typed
    """)
    # Plain emails get a canonical key; hashed-only records take the key of the plain
    # email whose SHA-256 (of the lower/trimmed form, as partners hash it) they carry.
    con.execute(f"create or replace temp macro canonical_email(e) as {CANONICAL_EMAIL_SQL}")
    con.execute("""
        create or replace temp table hash_to_key as
        select sha256(email) as email_sha256, min(canonical_email(email)) as email_key
        from (select distinct email from cleaned where email is not null) group by all
    """)
    con.execute("""
        create or replace temp table name_families as
        -- a name's family: every name sharing a canonical name with it (bob -> robert, rob, robbie)
        with pairs as (
            select distinct lower(trim(nickname)) as name, lower(trim(canonical_name)) as canonical from nicknames
            union select distinct lower(trim(canonical_name)), lower(trim(canonical_name)) from nicknames
        )
        select a.name as first_name, list(distinct b.name order by b.name) as family  -- ordered: hashed (incremental.py)
        from pairs a join pairs b using (canonical) group by all
    """)
    con.execute("""
        create or replace temp table named as
        select c.*,
            case when c.email is not null then canonical_email(c.email)
                 when c.email_sha256 is not null then coalesce(h.email_key, 'sha256:' || c.email_sha256) end as email_key,
            case when c.first_name is not null then coalesce(f.family, [c.first_name]) end as first_name_forms
        from cleaned c
        left join hash_to_key h on h.email_sha256 = c.email_sha256
        left join name_families f on f.first_name = c.first_name
    """)
    # Shared-household contacts: one email or phone used by clearly different people (first
    # names or birth dates apart). The value alone must not link them: kept out of linking.
    shared_contacts = config.guardrails.shared_contacts.enabled
    for column in ("email_key", "phone"):
        con.execute(f"""
            create or replace temp table shared_{column} as
            with people as (
                select distinct {column} as value, first_name, last_name, first_name_forms, date_of_birth
                from named where {column} is not null and (first_name is not null or date_of_birth is not null)
            )
            select distinct a.value
            from people a join people b on a.value = b.value
                and (a.first_name, a.date_of_birth) is distinct from (b.first_name, b.date_of_birth)
            where {shared_contacts} and {clearly_different_people("a", "b")}
        """)
    extra = add_match_fields(con, config)
    con.execute(f"""
        create or replace table matching as
        select n.* exclude (email_key, phone){extra},
            case when n.email_key not in (select value from shared_email_key) then n.email_key end as email_key,
            case when n.phone not in (select value from shared_phone) then n.phone end as phone,
            coalesce(n.email_key in (select value from shared_email_key), false) as email_is_shared,
            coalesce(n.phone in (select value from shared_phone), false) as phone_is_shared
        from named n
        {"left join match_field_values v using (unique_id)" if extra else ""}
    """)
    for step in ("cleaned", "named", "hash_to_key"):  # five million rows each at 1,000,000 persons
        con.execute(f"drop table {step}")
    # A strong id is usable when not blocked and when the record carries only one value of
    # that type (a cookie seen with two user ids is a shared device: it links by neither).
    con.execute("""
        create or replace table usable_strong_ids as
        with typed as (  -- an empty frame from pandas arrives untyped
            select cast(source as varchar) as source, cast(source_record_id as varchar) as source_record_id,
                   lower(cast(id_type as varchar)) as id_type, trim(cast(id_value as varchar)) as id_value
            from identity_strong_ids
        ),
        usable as (
            select * from typed t
            where id_value <> ''
              and not exists (select 1 from blocked b where b.identifier_type = t.id_type and b.value = lower(t.id_value))
        )
        select source || ':' || source_record_id as unique_id, id_type, min(id_value) as id_value
        from usable group by source, source_record_id, id_type having min(id_value) = max(id_value)
    """)


def relation_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """A table, view or registered frame of that name on the connection."""
    try:
        con.execute(f"select 1 from {name} limit 0")
    except duckdb.CatalogException:
        return False
    return True


def default_config() -> IdentityConfig:
    """The repository's dbt project's identity configuration."""
    from cdp import settings
    from cdp.identity.config import from_project

    return from_project(settings.DBT_PROJECT_DIR)


# How a match field's raw text is made comparable, by kind (the rest: lower case, trimmed).
MATCH_FIELD_FORMS = {
    "id_number": "nullif(regexp_replace(lower(trim(value)), '[^a-z0-9]', '', 'g'), '')",
    "postcode": "nullif(upper(regexp_replace(value, '\\s', '', 'g')), '')",
    "date": "nullif(trim(value), '')",
}
TEXT_FORM = "nullif(lower(trim(value)), '')"
FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def match_fields(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """field -> kind of the staging models' meta.match_fields (none when the table is absent)."""
    if not relation_exists(con, "identity_match_fields"):
        return {}
    kinds = con.execute(
        "select lower(cast(field as varchar)), min(lower(cast(kind as varchar))), count(distinct kind)"
        " from identity_match_fields group by all order by 1"
    ).fetchall()
    found = {}
    for name, kind, kind_count in kinds:
        where = f"identity_match_fields: field {name}"
        if kind_count > 1:
            raise CdpError(f"{where}: staging models declare it with different kinds; give it one")
        if not FIELD_NAME.match(name) or name in RESERVED_COLUMNS:
            raise CdpError(f"{where}: not usable as a match field name (reserved or not a plain column name)")
        check_match_field_kind(name, kind, where)
        found[name] = kind
    return found


RESERVED_COLUMNS = {
    *MATCHING_INPUT_COLUMNS,
    "unique_id",
    "email_key",
    "first_name_forms",
    "email_is_shared",
    "phone_is_shared",
}


def add_match_fields(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> str:
    """Pivot the match fields the configuration compares into `match_field_values`
    (unique_id, <field>...); returns the SQL list of those columns for `matching`."""
    compared = set(config.columns)
    fields = {name: kind for name, kind in match_fields(con).items() if name in compared}
    if not fields:
        return ""
    columns = ", ".join(
        f"min({MATCH_FIELD_FORMS.get(kind, TEXT_FORM)}) filter (where field = '{name}') as {name}"
        for name, kind in fields.items()
    )
    con.execute(f"""
        create or replace temp table match_field_values as
        select cast(source as varchar) || ':' || cast(source_record_id as varchar) as unique_id, {columns}
        from (select source, source_record_id, lower(cast(field as varchar)) as field,
                     cast(value as varchar) as value from identity_match_fields)
        group by all
    """)
    return "".join(f", v.{name}" for name in fields)
