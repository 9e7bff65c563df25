"""The suppression list, and the one matcher that finds a forgotten person in rows.

`privacy.suppression (hash, kind, forgotten_at, request_id)` holds SHA-256 hashes (hex, of
the UTF-8 text) of what identified a forgotten person, never the values themselves:

    kind       what is hashed
    email      the normalised email (cdp.identifiers.normalise_email: trimmed, lower case),
               the very value partner and broker files carry as `email_sha256`
    phone      the phone in E.164 (+31612345678)
    record     "<source>:<source record id>"          (crm:CRM000123)
    strong_id  "<id type>:<value>"                    (loyalty_card:L7335780692)

`privacy.identifier_columns (kind, column_name, id_source)` says, by column name, which
columns hold a source's record id (`record`, learned from the staging models: the column
whose every value equals the model's `source_record_id`) and which hold a strong id
(`strong_id`, identity's id types). Names only, no values: `cdp forget` writes it, ingest
reads it.

`Matcher` turns rows into candidate hashes, one SQL query over any relation, and keeps the
rows with a hash in a needle relation (kind, hash). `cdp forget` runs it over every table
of the warehouse with the person's hashes (and plain customer ids, kind `customer`); ingest
runs it over each new batch with the suppression list; the export and log rewrites run it
over their rows and lines. So what forget deletes is exactly what ingest keeps out.
Where it looks, per column:

- emails anywhere in a text value (whole value, and every local@domain in it);
- 64-hex runs anywhere (hashed emails);
- phones written internationally anywhere (+31 6 1234 5678, 0031 6 ...): the digits are
  the E.164 number, so nothing else can be mistaken for one;
- phones written nationally (06-12345678) only in a column named like a phone (phone,
  mobile, tel, msisdn): elsewhere a number of that shape is as likely an order number.
  Each is read in every region of the country_codes seed (with and without its trunk 0);
- record ids in the columns named in identifier_columns, and `source` + `source_record_id`
  pairs; strong ids in columns named as their id type;
- in free text (a quarantined record, a log line: `token_columns`), every word as a record id
  of every source and as every strong id type, and every phone-shaped run as above.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import duckdb
import pyarrow as pa

from cdp import settings
from cdp.warehouse_schema import table_exists

KINDS = ("email", "phone", "record", "strong_id")
CUSTOMER = "customer"  # plain customer ids: the purge's needle only, never stored

DDL = """
create schema if not exists privacy;
create table if not exists privacy.suppression (
    hash varchar not null,        -- hex SHA-256 of the normalised identifier (module docstring)
    kind varchar not null,        -- email | phone | record | strong_id
    forgotten_at timestamp not null,
    request_id varchar not null,
    primary key (hash, kind)
);
create table if not exists privacy.identifier_columns (
    kind varchar not null,        -- record | strong_id
    column_name varchar not null,
    id_source varchar not null,   -- the source whose record id it holds; '' for a strong id
    primary key (kind, column_name, id_source)
);
"""

EMAIL_TOKEN = r"""[^\s@,;:<>()\[\]{}"|/\\]+@[^\s@,;:<>()\[\]{}"'|/\\]+"""
HEX_TOKEN = "[0-9a-f]{64}"
INTERNATIONAL_PHONE = r"(?:^|[^0-9+])((?:[+]|00)[0-9][0-9 ().\-/]{5,22}[0-9])"
PHONE_SHAPE = r"[+(]?[0-9][0-9 ().\-/]{5,22}[0-9]"
WORD = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
PHONE_COLUMN = re.compile(r"(phone|mobile|msisdn|(^|_)tel(_|$)|telephone)", re.IGNORECASE)
TEXT_TYPES = ("VARCHAR", "JSON")
LINEAGE_PREFIXES = ("_dlt_", "_cdp_", "_source_file")  # cdp's and dlt's own bookkeeping: no one's identifier
ID_TYPES = ("VARCHAR", "BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "UINTEGER", "SMALLINT")


# -- hashes ------------------------------------------------------------------------------


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def email_hash(normalised_email: str) -> str:
    return sha256_hex(normalised_email)


def phone_hash(e164: str) -> str:
    return sha256_hex(e164)


def record_hash(source: str, record_id: str) -> str:
    return sha256_hex(f"{source}:{str(record_id).strip(' ')}")


def strong_id_hash(id_type: str, value: str) -> str:
    return sha256_hex(f"{id_type}:{str(value).strip(' ')}")


# -- which columns hold what ---------------------------------------------------------------


@dataclass(frozen=True)
class IdentifierColumns:
    """Column names that hold identifiers (see the module docstring), all lower case."""

    records: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column -> sources
    strong_ids: frozenset[str] = frozenset()

    @property
    def sources(self) -> list[str]:
        return sorted({source for sources in self.records.values() for source in sources})

    def merged(self, other: IdentifierColumns) -> IdentifierColumns:
        records = {
            name: tuple(sorted(set(self.records.get(name, ())) | set(other.records.get(name, ()))))
            for name in self.records.keys() | other.records.keys()
        }
        return IdentifierColumns(records, self.strong_ids | other.strong_ids)

    def rows(self) -> list[tuple[str, str, str]]:
        records = [("record", name, source) for name, sources in self.records.items() for source in sources]
        return records + [("strong_id", name, "") for name in sorted(self.strong_ids)]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def stored_columns(con: duckdb.DuckDBPyConnection) -> IdentifierColumns:
    """privacy.identifier_columns as `cdp forget` last wrote it (empty before the first forget)."""
    if not table_exists(con, "privacy", "identifier_columns"):
        return IdentifierColumns()
    records: dict[str, set[str]] = {}
    strong = set()
    rows = con.execute("select kind, column_name, id_source from privacy.identifier_columns").fetchall()
    for kind, name, source in rows:
        if kind == "record":
            records.setdefault(name, set()).add(source)
        else:
            strong.add(name)
    return IdentifierColumns({name: tuple(sorted(s)) for name, s in records.items()}, frozenset(strong))


@lru_cache(maxsize=1)
def calling_codes() -> tuple[str, ...]:
    """Dialing codes of the countries in the country_codes seed: the regions a national phone is read in."""
    path = settings.SEEDS_DIR / "country_codes.csv"
    try:
        with path.open(encoding="utf-8") as file:
            codes = {row["dialing_code"].strip() for row in csv.DictReader(file) if row.get("dialing_code")}
    except OSError:
        codes = set()
    return tuple(sorted(code for code in codes if code.isdigit())) or ("31", "44", "1", "49", "32", "33")


# -- the suppression list, for ingest -------------------------------------------------------


@dataclass(frozen=True)
class Suppression:
    """The suppression list as read at the start of an ingest run."""

    hashes: pa.Table  # kind, hash
    columns: IdentifierColumns

    @property
    def empty(self) -> bool:
        return self.hashes.num_rows == 0

    def matcher(self) -> Matcher:
        return Matcher(self.columns, kinds=set(self.hashes["kind"].to_pylist()))


NO_SUPPRESSION = Suppression(
    pa.table({"kind": pa.array([], pa.string()), "hash": pa.array([], pa.string())}), IdentifierColumns()
)


def load(con: duckdb.DuckDBPyConnection) -> Suppression:
    """Read the suppression list of this warehouse (nothing forgotten yet: empty)."""
    if not table_exists(con, "privacy", "suppression"):
        return NO_SUPPRESSION
    hashes = con.execute("select kind, hash from privacy.suppression").to_arrow_table()
    return Suppression(hashes, stored_columns(con))


def forgotten_rows(
    con: duckdb.DuckDBPyConnection, rows: pa.Table, suppression: Suppression, *, token_columns: Iterable[str] = ()
) -> dict[int, str]:
    """{row index: the column that matched} for the rows of `rows` that hold a forgotten identifier."""
    if suppression.empty or rows.num_rows == 0:
        return {}
    relation = f"_cdp_rows_{id(rows)}"
    needles = f"_cdp_needles_{id(rows)}"
    indexed = rows.append_column("_cdp_row", pa.array(range(rows.num_rows), pa.int64()))
    con.register(relation, indexed)
    con.register(needles, suppression.hashes)
    try:
        columns = con.execute(f"select column_name, column_type from (describe {relation})").fetchall()
        sql = suppression.matcher().sql(
            relation, "_cdp_row", [c for c in columns if c[0] != "_cdp_row"], needles, token_columns=token_columns
        )
        return dict(con.execute(sql).fetchall()) if sql else {}
    finally:
        con.unregister(relation)
        con.unregister(needles)


# -- the matcher --------------------------------------------------------------------------


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _digits(expression: str) -> str:
    return f"regexp_replace({expression}, '[^0-9]', '', 'g')"


class Matcher:
    """SQL that finds the rows holding a needle (module docstring); one instance per set of needles."""

    def __init__(self, columns: IdentifierColumns, *, kinds: set[str], codes: tuple[str, ...] | None = None):
        self.columns = columns
        self.kinds = kinds
        self.codes = codes if codes is not None else calling_codes()

    def sql(
        self,
        relation: str,
        key: str,
        columns: list[tuple[str, str]],
        needles: str,
        *,
        token_columns: Iterable[str] = (),
    ) -> str | None:
        """SELECT <key>, <first matching column> of the rows of `relation` holding a needle; None: none can."""
        tokens = {name.lower() for name in token_columns}
        branches = []
        names = {name.lower() for name, _ in columns}
        for name, data_type in columns:
            if name.lower().startswith(LINEAGE_PREFIXES):
                continue
            branches += self._column_branches(relation, key, name, data_type.upper(), name.lower() in tokens)
        if {"source", "source_record_id"} <= names and "record" in self.kinds:
            pair = _Column(relation, key, "source_record_id", "cast(source_record_id as varchar)")
            value = "sha256(cast(source as varchar) || ':' || trim(cast(source_record_id as varchar), ' '))"
            branches.append(pair.one("record", value, "source_record_id is not null"))
        if not branches:
            return None
        union = "\nunion all\n".join(branches)
        return (
            f"select c._key, min(c.field) from ({union}) as c"
            f" semi join {needles} as n on c.kind = n.kind and c.h = n.hash group by c._key"
        )

    # -- per column --------------------------------------------------------------------
    def _column_branches(self, relation: str, key: str, name: str, data_type: str, free_text: bool) -> list[str]:
        text = data_type.startswith((*TEXT_TYPES, "STRUCT", "MAP")) or data_type.endswith("]")
        if not text and data_type not in ID_TYPES:
            return []  # numbers other than ids, times, booleans: nobody's identifier
        column = _Column(relation, key, name, f"cast({_ident(name)} as varchar)")
        out = []
        if text and "email" in self.kinds:
            out += self._emails(column)
        if text and "phone" in self.kinds:
            out.append(self._international_phones(column))
        if "phone" in self.kinds and (PHONE_COLUMN.search(name) or (text and free_text)):
            out.append(self._national_phones(column, free_text))
        out += self._ids(column)
        if text and CUSTOMER in self.kinds:
            out.append(column.one(CUSTOMER, f"trim({column.v}, ' ')", f"{column.v} is not null"))
        if text and free_text:
            out += self._word_branches(column)
        return out

    def _emails(self, column: _Column) -> list[str]:
        """Every local@domain in the text (and the whole text), normalised; every 64-hex run (a hashed email)."""
        v = column.v
        emails = (
            f"list_transform(list_append(regexp_extract_all(lower({v}), {_lit(EMAIL_TOKEN)}),"
            f" trim(lower({v}), ' ')), x -> sha256(rtrim(x, '.')))"
        )
        hashed = f"regexp_extract_all(lower({v}), {_lit(HEX_TOKEN)})"
        return [column.many("email", emails, f"contains({v}, '@')"), column.many("email", hashed, f"length({v}) >= 64")]

    def _international_phones(self, column: _Column) -> str:
        """+31 6 1234 5678 or 0031 (0)6 ... anywhere: the digits are the E.164 number."""
        v = column.v
        phones = f"regexp_extract_all({v}, {_lit(INTERNATIONAL_PHONE)}, 1)"
        as_written = _digits(self._no_00("p"))
        without_trunk = _digits(self._no_00("replace(p, '(0)', '')"))
        hashed = (
            f"flatten(list_transform({phones}, p -> [sha256('+' || {as_written}), sha256('+' || {without_trunk})]))"
        )
        return column.many("phone", hashed, f"(contains({v}, '+') or contains({v}, '00'))")  # cheaper than a regex

    def _national_phones(self, column: _Column, free_text: bool) -> str:
        """A phone column's value (or each phone-shaped run of a free text) read in every region."""
        v = column.v
        if free_text:
            shapes, where = f"regexp_extract_all({v}, {_lit(PHONE_SHAPE)})", f"regexp_matches({v}, '[0-9]{{6}}')"
        else:
            shapes, where = f"[trim({v}, ' ')]", f"regexp_full_match(trim({v}, ' '), {_lit(PHONE_SHAPE)})"
        return column.many("phone", f"flatten(list_transform({shapes}, p -> {self._national('p')}))", where)

    def _ids(self, column: _Column) -> list[str]:
        """The column's value as a record id of each source it holds ids of, or as its strong id type."""
        v, lowered = column.v, column.name.lower()
        out = []
        if "record" in self.kinds:
            for source in self.columns.records.get(lowered, ()):
                value = f"sha256({_lit(source)} || ':' || trim({v}, ' '))"
                out.append(column.one("record", value, f"{v} is not null"))
        if "strong_id" in self.kinds and lowered in self.columns.strong_ids:
            value = f"sha256({_lit(lowered)} || ':' || trim({v}, ' '))"
            out.append(column.one("strong_id", value, f"{v} is not null"))
        return out

    def _word_branches(self, column: _Column) -> list[str]:
        """Every word of a free text as a record id of each source, a strong id of each type, a customer id."""
        words = f"regexp_extract_all({column.v}, {_lit(WORD)})"
        where = f"{column.v} is not null"
        out = []
        prefixes = {"record": self.columns.sources, "strong_id": sorted(self.columns.strong_ids)}
        for kind, names in prefixes.items():
            if kind in self.kinds and names:
                hashed = ", ".join(f"sha256({_lit(n)} || ':' || w)" for n in names)
                out.append(column.many(kind, f"flatten(list_transform({words}, w -> [{hashed}]))", where))
        if CUSTOMER in self.kinds:
            out.append(column.many(CUSTOMER, words, where))
        return out

    # -- SQL pieces --------------------------------------------------------------------
    @staticmethod
    def _no_00(expression: str) -> str:
        return f"regexp_replace(trim({expression}), '^00', '')"

    def _national(self, p: str) -> str:
        """The E.164 hashes a phone-shaped text `p` can be: as written, and in each region's national format."""
        d = _digits(p)
        without_trunk = _digits(f"replace({p}, '(0)', '')")
        candidates = [f"'+' || {d}", f"'+' || {without_trunk}", f"'+' || {_digits(self._no_00(p))}"]
        for code in self.codes:
            candidates.append(f"'+{code}' || {d}")
            candidates.append(f"case when starts_with({d}, '0') then '+{code}' || {d}[2:] end")
        return "[" + ", ".join(f"sha256({candidate})" for candidate in candidates) + "]"


@dataclass(frozen=True)
class _Column:
    """One column of the relation a matcher's query reads, and the SELECTs of its candidate hashes."""

    relation: str
    key: str
    name: str
    v: str  # the column as text

    def one(self, kind: str, value: str, where: str) -> str:
        return (
            f"select {self.key} as _key, {_lit(self.name)} as field, {_lit(kind)} as kind, {value} as h"
            f" from {self.relation} where {where}"
        )

    def many(self, kind: str, values: str, where: str) -> str:
        return (
            f"select _key, {_lit(self.name)} as field, {_lit(kind)} as kind, unnest(hs) as h"
            f" from (select {self.key} as _key, {values} as hs from {self.relation} where {where})"
        )
