"""Every figure the workspace shows, as plain dicts: the pages render them, the API returns them.

All queries read the published copy (cdp/ui/publish.py) through a cursor the caller passes.
A segment name from a URL is checked against the segment tables before it becomes part of
SQL (table names cannot be bound parameters); every value is a bound parameter.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from cdp import identifiers
from cdp.errors import CdpError
from cdp.ui.mask import mask_email, mask_phone
from cdp.warehouse_schema import table_exists

Cursor = duckdb.DuckDBPyConnection

# Who a sync of each purpose can reach, as the engine decides it (cdp/activate/diff.py CONSENT_SQL).
REACH_SQL = {
    "email_marketing": "coalesce(consent.consent_email_marketing, false) and not coalesce(consent.email_unsubscribed, false)",
    "ads": "coalesce(consent.consent_ads, false)",
    "service": "true",
}
PHONE_REGIONS = "NL,GB,US,DE,BE,FR"  # as cdp.privacy.person reads a phone given without a country
GOLDEN_FIELDS = {  # customer_360 column -> identity_inputs column holding the value as written
    "first_name": "first_name_display",
    "last_name": "last_name_display",
    "email": "email",
    "phone": "phone",
    "address": "address_display",
    "postcode": "postcode",
    "city": "city_display",
    "country": "country",
    "date_of_birth": "date_of_birth",
}


class NotFound(CdpError):
    """A segment, customer or sync that the published copy does not hold."""


# -- helpers -------------------------------------------------------------------------------


def rows(cur: Cursor, sql: str, parameters: list | None = None) -> list[dict[str, Any]]:
    result = cur.execute(sql, parameters or [])
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def scalar(cur: Cursor, sql: str, parameters: list | None = None) -> Any:
    found = cur.execute(sql, parameters or []).fetchone()
    return found[0] if found else None


def published_at(cur: Cursor) -> Any:
    return scalar(cur, "select published_at from ui.published_at") if table_exists(cur, "ui", "published_at") else None


def sync_display_status(status: str | None, message: str | None) -> str:
    """A sync skipped for missing credentials is not configured, not a success."""
    if status is None:
        return "never run"
    if status == "skipped" and (message or "").startswith("not configured"):
        return "not configured"
    return status


# -- segments ------------------------------------------------------------------------------


def segment_names(cur: Cursor) -> list[str]:
    return [
        name
        for (name,) in cur.execute(
            "select distinct table_name from information_schema.columns"
            " where table_schema = 'segments' and column_name = 'customer_id' order by 1"
        ).fetchall()
    ]


def checked_segment(cur: Cursor, name: str) -> str:
    if name not in segment_names(cur):
        raise NotFound(f"no segment named {name!r}")
    return name


def segment_meta(cur: Cursor) -> dict[str, dict]:
    if not table_exists(cur, "ui", "segment_meta"):
        return {}
    return {
        row["segment"]: {**row, "syncs": json.loads(row["syncs"] or "[]")}
        for row in rows(cur, "select * from ui.segment_meta")
    }


def size_history(cur: Cursor) -> dict[str, list[tuple[str, int]]]:
    """Per segment, its size at each nightly run, oldest first."""
    if not table_exists(cur, "ui", "segment_size_history"):
        return {}
    history: dict[str, list[tuple[str, int]]] = {}
    for segment, run_at, size in cur.execute(
        "select segment, run_at, size from ui.segment_size_history order by run_at"
    ).fetchall():
        history.setdefault(segment, []).append((run_at.strftime("%Y-%m-%d %H:%M"), size))
    return history


def last_sync_runs(cur: Cursor) -> dict[str, dict]:
    """The latest non-dry run of each sync."""
    if not table_exists(cur, "reverse_etl", "sync_runs"):
        return {}
    latest = rows(
        cur,
        """
        select * from reverse_etl.sync_runs where not coalesce(dry_run, false)
        qualify row_number() over (partition by sync_name order by started_at desc) = 1
        """,
    )
    return {
        row["sync_name"]: {**row, "display_status": sync_display_status(row["status"], row["message"])}
        for row in latest
    }


def segments_overview(cur: Cursor) -> list[dict]:
    """Every segment: size now, change since the previous night, trend, stage, description, syncs."""
    meta, history, runs = segment_meta(cur), size_history(cur), last_sync_runs(cur)
    overview = []
    for name in segment_names(cur):
        size = scalar(cur, f'select count(*) from segments."{name}"')
        sizes = history.get(name, [])
        previous = sizes[-2][1] if len(sizes) >= 2 else None
        info = meta.get(name, {})
        overview.append(
            {
                "segment": name,
                "size": size,
                "previous_size": previous,
                "change": None if previous is None else sizes[-1][1] - previous,
                "history": [{"run_at": run_at, "size": value} for run_at, value in sizes],
                "journey_stage": info.get("journey_stage"),
                "description": info.get("description", ""),
                "syncs": [_sync_summary(sync, runs.get(sync.get("name"))) for sync in info.get("syncs", [])],
            }
        )
    return overview


def _sync_summary(sync: dict, run: dict | None) -> dict:
    return {
        "name": sync.get("name"),
        "destination": sync.get("destination"),
        "purpose": sync.get("purpose"),
        "mode": sync.get("mode"),
        "identifiers": sync.get("identifiers") or {},
        "last_status": run["display_status"] if run else "never run",
        "last_run_at": run["started_at"] if run else None,
        "last_message": run["message"] if run else None,
    }


def segment_detail(cur: Cursor, name: str) -> dict:
    """One segment: the overview row plus definition, breakdowns, reach per sync and overlap."""
    name = checked_segment(cur, name)
    row = next(item for item in segments_overview(cur) if item["segment"] == name)
    row["definition"] = segment_meta(cur).get(name, {}).get("definition", "")
    row["breakdowns"] = breakdowns(cur, name)
    row["reach"] = reach(cur, name, row["syncs"])
    row["overlap"] = overlap(cur, name)
    return row


def breakdowns(cur: Cursor, name: str) -> dict[str, list[dict]]:
    """Members by country, lifecycle stage, channel (a member counts once per channel) and consent."""
    base = f'segments."{name}" as s left join marts.customer_360 as c using (customer_id)'
    by = {
        "country": rows(
            cur,
            f"select coalesce(c.country, '(unknown)') as value, count(*) as members from {base} group by 1 order by 2 desc, 1",
        ),
        "lifecycle_stage": rows(
            cur,
            f"select coalesce(c.lifecycle_stage, '(unknown)') as value, count(*) as members from {base} group by 1 order by 2 desc, 1",
        ),
        "channel": rows(
            cur,
            f"select channel as value, count(*) as members from {base}, unnest(coalesce(c.channels, [])) as t(channel) group by 1 order by 2 desc, 1",
        ),
    }
    consent = rows(
        cur,
        f"""
        select 'email_marketing' as purpose,
               count(*) filter (where c.consent_email_marketing and not coalesce(c.email_unsubscribed, false)) as yes,
               count(*) filter (where c.consent_email_marketing = false or c.email_unsubscribed) as no,
               count(*) filter (where c.consent_email_marketing is null and not coalesce(c.email_unsubscribed, false)) as unknown
        from {base}
        union all
        select 'ads', count(*) filter (where c.consent_ads), count(*) filter (where c.consent_ads = false),
               count(*) filter (where c.consent_ads is null)
        from {base}
        """,
    )
    by["consent"] = consent
    return by


def reach(cur: Cursor, name: str, syncs: list[dict]) -> list[dict]:
    """How many members each sync may send to: with the consent of its purpose (unknown is no) and an identifier.

    As the engine decides it: consent per purpose as in cdp/activate/diff.py, and a row with
    none of the sync's mapped identifiers is skipped, not sent.
    """
    reached = []
    total = scalar(cur, f'select count(*) from segments."{name}"')
    columns = {column for (column,) in cur.execute(f'select column_name from (describe segments."{name}")').fetchall()}
    for sync in syncs:
        purpose = sync.get("purpose") or "service"
        consent = REACH_SQL.get(purpose, "false")
        mapped = [column for column in (sync.get("identifiers") or {}).values() if column in columns]
        identified = " or ".join(f's."{column}" is not null' for column in mapped) or "true"
        consented, reachable = cur.execute(
            f"""
            select count(*) filter (where {consent}), count(*) filter (where ({consent}) and ({identified}))
            from segments."{name}" as s left join marts.customer_360 as consent using (customer_id)
            """
        ).fetchone()
        reached.append({**sync, "purpose": purpose, "members": total, "consented": consented, "reachable": reachable})
    return reached


def overlap(cur: Cursor, name: str) -> list[dict]:
    """With every other segment: members in both, only in this one, and the Jaccard index."""
    result = []
    for other in segment_names(cur):
        if other == name:
            continue
        both, here, there = cur.execute(
            f"""
            select count(*) filter (where a.customer_id is not null and b.customer_id is not null),
                   count(*) filter (where a.customer_id is not null and b.customer_id is null),
                   count(*) filter (where a.customer_id is null and b.customer_id is not null)
            from (select distinct customer_id from segments."{name}") as a
            full outer join (select distinct customer_id from segments."{other}") as b using (customer_id)
            """
        ).fetchone()
        union = both + here + there
        result.append(
            {
                "segment": other,
                "both": both,
                "only_here": here,
                "only_there": there,
                "jaccard": round(both / union, 3) if union else 0.0,
            }
        )
    return sorted(result, key=lambda item: (-item["both"], item["segment"]))


def segment_members(cur: Cursor, name: str, *, search: str = "", page: int = 1, per_page: int = 50) -> dict:
    """A page of members with why they are in, emails and phones masked; `search` filters on name, email, reason, id."""
    name = checked_segment(cur, name)
    page, per_page = max(1, page), min(max(1, per_page), 500)
    columns = {column for (column,) in cur.execute(f'select column_name from (describe segments."{name}")').fetchall()}
    searchable = [
        c for c in ("customer_id", "first_name", "last_name", "email", "phone", "why_in_segment") if c in columns
    ]
    where, parameters = "", []
    if search.strip():
        where = "where " + " or ".join(f"{column}::varchar ilike ?" for column in searchable)
        parameters = [f"%{search.strip()}%"] * len(searchable)
    total = scalar(cur, f'select count(*) from segments."{name}" {where}', parameters)
    shown = [c for c in ("customer_id", "first_name", "last_name", "email", "phone", "why_in_segment") if c in columns]
    members = rows(
        cur,
        f'select {", ".join(shown)} from segments."{name}" {where} order by customer_id limit ? offset ?',
        [*parameters, per_page, (page - 1) * per_page],
    )
    for member in members:
        member["email"] = mask_email(member.get("email"))
        member["phone"] = mask_phone(member.get("phone"))
    return {"segment": name, "total": total, "page": page, "per_page": per_page, "search": search, "members": members}


# -- profiles ------------------------------------------------------------------------------


def find_customers(
    cur: Cursor, *, email: str = "", phone: str = "", name: str = "", record: str = "", query: str = ""
) -> list[dict]:
    """Customers matching an identifier, normalised as staging normalises it (cdp/identifiers.py).

    `query` guesses the kind: an @ is an email, a source:id a record, mostly digits a phone,
    anything else a name or a record id.
    """
    if query.strip():
        email, phone, name, record = _guess_kind(query.strip())
    matches: dict[str, set[str]] = {}
    if email:
        _add(matches, _by_email(cur, email), "email")
    if phone:
        _add(matches, _by_phone(cur, phone), "phone")
    if record:
        _add(matches, _by_record(cur, record), "record")
    if name:
        _add(matches, _by_name(cur, name), "name")
    return _customer_list(cur, matches)


def _guess_kind(query: str) -> tuple[str, str, str, str]:
    if "@" in query:
        return query, "", "", ""
    digits = sum(character.isdigit() for character in query)
    if digits >= 6 and digits >= len(query.replace(" ", "")) * 0.7:
        return "", query, "", ""
    if " " not in query and (":" in query or any(character.isdigit() for character in query)):
        return "", "", "", query
    return "", "", query, query


def _add(matches: dict[str, set[str]], customer_ids: list[str], how: str) -> None:
    for customer_id in customer_ids:
        matches.setdefault(customer_id, set()).add(how)


def _by_email(cur: Cursor, raw: str) -> list[str]:
    email = identifiers.normalise_email(raw)
    if email is None:
        return []
    canonical = identifiers.canonical_email(email)
    return _ids(
        cur,
        """
        select distinct r.customer_id from identity.identity_inputs as i
        join identity.record_customers as r using (source, source_record_id)
        where i.email in (?, ?) or i.email_sha256 = ?
        union
        select customer_id from marts.customer_360 where list_contains(all_emails, ?) or list_contains(all_emails, ?)
        """,
        [email, canonical, identifiers.sha256_hex(email), email, canonical],
    )


def _by_phone(cur: Cursor, raw: str) -> list[str]:
    phone = identifiers.phone_e164(raw, PHONE_REGIONS)
    if phone is None:
        return []
    return _ids(
        cur,
        """
        select distinct r.customer_id from identity.identity_inputs as i
        join identity.record_customers as r using (source, source_record_id) where i.phone = ?
        union
        select customer_id from marts.customer_360 where list_contains(all_phones, ?)
        """,
        [phone, phone],
    )


def _by_record(cur: Cursor, raw: str) -> list[str]:
    """`source:id`, or a bare id in any source; strong ids (loyalty card, user id ...) too."""
    source, _, record_id = raw.partition(":") if ":" in raw else ("", "", raw)
    record_id = record_id.strip()
    found = _ids(
        cur,
        "select distinct customer_id from identity.record_customers where source_record_id = ? and (? = '' or source = ?)",
        [record_id, source, source],
    )
    if table_exists(cur, "identity", "identity_strong_ids"):
        found += _ids(
            cur,
            """
            select distinct r.customer_id from identity.identity_strong_ids as s
            join identity.record_customers as r using (source, source_record_id)
            where s.id_value = ? and (? = '' or s.id_type = ? or s.source = ?)
            """,
            [record_id, source, source, source],
        )
    return found


def _by_name(cur: Cursor, raw: str) -> list[str]:
    """Every word of the name in the folded first or last name (accents and case do not matter)."""
    words = (identifiers.fold_text(raw) or "").split()
    if not words:
        return []
    condition = " and ".join("(i.first_name = ? or i.last_name = ?)" for _ in words)
    parameters = [word for word in words for _ in (0, 1)]
    return _ids(
        cur,
        f"""
        select distinct r.customer_id from identity.identity_inputs as i
        join identity.record_customers as r using (source, source_record_id) where {condition} limit 200
        """,
        parameters,
    )


def _ids(cur: Cursor, sql: str, parameters: list) -> list[str]:
    return [customer_id for (customer_id,) in cur.execute(sql, parameters).fetchall() if customer_id]


def _customer_list(cur: Cursor, matches: dict[str, set[str]]) -> list[dict]:
    if not matches:
        return []
    found = rows(
        cur,
        """
        select customer_id, first_name, last_name, email, phone, city, country, lifecycle_stage, source_record_count
        from marts.customer_360 where list_contains(?, customer_id) order by last_name, first_name, customer_id
        """,
        [sorted(matches)],
    )
    for row in found:
        row["email"], row["phone"] = mask_email(row["email"]), mask_phone(row["phone"])
        row["matched_by"] = sorted(matches[row["customer_id"]])
    return found


def profile(cur: Cursor, customer_id: str) -> dict:
    """One customer, in full: golden record with sources, records and links, consent, timeline, segments, sends."""
    found = rows(cur, "select * from marts.customer_360 where customer_id = ?", [customer_id])
    if not found:
        raise NotFound(f"no customer {customer_id!r}")
    customer = found[0]
    records = source_records(cur, customer_id)
    return {
        "customer_id": customer_id,
        "customer": customer,
        "golden_record": golden_record(customer, records, _trust(cur)),
        "emails": list(customer.get("all_emails") or []),
        "phones": list(customer.get("all_phones") or []),
        "records": records,
        "consent": consent(customer),
        "timeline": timeline(cur, customer_id),
        "segments": customer_segments(cur, customer_id),
        "sent": sends(cur, customer_id),
        "identity_changes": identity_changes(cur, customer_id),
    }


def _trust(cur: Cursor) -> dict[str, int]:
    if not table_exists(cur, "seeds", "source_trust"):
        return {}
    return dict(cur.execute("select source, trust_rank from seeds.source_trust").fetchall())


def source_records(cur: Cursor, customer_id: str) -> list[dict]:
    """Each source record behind the customer, with how identity resolution linked it: the
    deciding link's partner and, for a Splink link, each comparison's level and weight."""
    # a warehouse resolved before explanations existed has no such columns
    explained = "explanation" in {row[0] for row in cur.execute("describe identity.record_customers").fetchall()}
    explanation = "r.linked_to, r.explanation" if explained else "null as linked_to, null as explanation"
    records = rows(
        cur,
        f"""
        select r.source, r.source_record_id, i.party, r.link_rule, r.match_probability, r.customer_since,
               r.cluster_capped, i.email, i.phone, i.first_name_display, i.last_name_display, i.address_display,
               i.postcode, i.city_display, i.country, i.date_of_birth, i.observed_at, {explanation}
        from identity.record_customers as r
        left join identity.identity_inputs as i using (source, source_record_id)
        where r.customer_id = ? order by r.source, r.source_record_id
        """,
        [customer_id],
    )
    for record in records:
        comparisons = json.loads(record.pop("explanation") or "{}").get("comparisons") or []
        record["weights"] = [
            {"comparison": c["comparison"], "level": c["level"], "match_weight": c["match_weight"]} for c in comparisons
        ]
    return records


def golden_record(customer: dict, records: list[dict], trust: dict[str, int]) -> list[dict]:
    """Each golden field with the source records that hold its value, the most trusted first.

    customer_360 keeps no winner column per field (only consent has its source), so the
    winner shown is the most trusted source whose record carries the value as chosen.
    """
    fields = []
    for column, record_column in GOLDEN_FIELDS.items():
        value = customer.get(column)
        holders = sorted(
            (
                r
                for r in records
                if value is not None and r.get(record_column) is not None and str(r[record_column]) == str(value)
            ),
            key=lambda r: (trust.get(r["source"], 99), str(r.get("observed_at") or "")),
        )
        fields.append(
            {
                "field": column,
                "value": value,
                "source": holders[0]["source"] if holders else None,
                "record": f"{holders[0]['source']}:{holders[0]['source_record_id']}" if holders else None,
                "also_in": len(holders) - 1 if holders else 0,
            }
        )
    return fields


def consent(customer: dict) -> list[dict]:
    return [
        {
            "purpose": "email_marketing",
            "granted": customer.get("consent_email_marketing"),
            "unsubscribed": customer.get("email_unsubscribed"),
            "source": customer.get("consent_email_marketing_source"),
            "at": customer.get("consent_email_marketing_at"),
        },
        {
            "purpose": "ads",
            "granted": customer.get("consent_ads"),
            "unsubscribed": None,
            "source": customer.get("consent_ads_source"),
            "at": customer.get("consent_ads_at"),
        },
    ]


def timeline(cur: Cursor, customer_id: str, limit: int = 200) -> list[dict]:
    """Events across sources, newest first, with product names and order amounts where the marts know them."""
    return rows(
        cur,
        """
        with orders as (
            select order_id, sum(revenue) as amount from marts.customer_purchases where customer_id = ? group by 1
        ),
        lines as (
            select order_id, product_id, sum(revenue) as amount from marts.customer_purchases where customer_id = ? group by 1, 2
        )
        select e.occurred_at, e.source, e.event_type, e.product_id, p.product_name, e.category,
               coalesce(l.amount, o.amount) as amount, e.source_record_id
        from marts.customer_events as e
        left join ui.products as p using (product_id)
        left join lines as l
          on e.source = 'pos' and l.order_id = regexp_replace(split_part(e.event_id, ':', 2), '-[0-9]+$', '')
             and l.product_id = e.product_id
        left join orders as o on e.source = 'shop' and o.order_id = split_part(e.event_id, ':', 2)
        where e.customer_id = ?
        order by e.occurred_at desc limit ?
        """,
        [customer_id, customer_id, customer_id, limit],
    )


def customer_segments(cur: Cursor, customer_id: str) -> list[dict]:
    found = []
    for name in segment_names(cur):
        has_reason = bool(
            scalar(
                cur,
                "select count(*) from information_schema.columns where table_schema = 'segments' and table_name = ?"
                " and column_name = 'why_in_segment'",
                [name],
            )
        )
        reason = "why_in_segment" if has_reason else "null"
        hit = cur.execute(f'select {reason} from segments."{name}" where customer_id = ?', [customer_id]).fetchone()
        if hit:
            found.append({"segment": name, "why_in_segment": hit[0]})
    return found


def sends(cur: Cursor, customer_id: str) -> list[dict]:
    """What was sent to which destination and when (reverse_etl.sync_log), and what each holds now."""
    if not table_exists(cur, "reverse_etl", "sync_log"):
        return []
    return rows(
        cur,
        """
        select l.logged_at, l.sync_name, r.destination, l.operation, l.status, l.error, l.record,
               s.in_destination, s.status as state_status, s.last_sent_at
        from reverse_etl.sync_log as l
        left join (select distinct run_id, destination from reverse_etl.sync_runs) as r using (run_id)
        left join reverse_etl.sync_state as s on s.sync_name = l.sync_name and s.primary_key = l.primary_key
        where l.primary_key = ? order by l.logged_at desc
        """,
        [customer_id],
    )


def identity_changes(cur: Cursor, customer_id: str) -> list[dict]:
    return rows(
        cur,
        "select changed_at, change, customer_id, other_customer_id, reason from identity.identity_changelog"
        " where customer_id = ? or other_customer_id = ? order by changed_at desc",
        [customer_id, customer_id],
    )


# -- syncs ---------------------------------------------------------------------------------


def sync_runs(cur: Cursor, *, sync: str | None = None, limit: int = 200) -> list[dict]:
    """Runs, newest first, each with its display status (not configured is not success)."""
    if not table_exists(cur, "reverse_etl", "sync_runs"):
        return []
    found = rows(
        cur,
        """
        select run_id, sync_name, model, destination, mode, status, message, started_at, finished_at, duration_s,
               added, updated, removed, failed, skipped_consent, skipped_identifier, withdrawn, unconfirmed,
               invalid_entries, dry_run, full_resync
        from reverse_etl.sync_runs where (? is null or sync_name = ?) order by started_at desc, sync_name limit ?
        """,
        [sync, sync, limit],
    )
    for row in found:
        row["display_status"] = sync_display_status(row["status"], row["message"])
    return found


def syncs_overview(cur: Cursor) -> list[dict]:
    """Every declared sync with its segment and last run."""
    runs = last_sync_runs(cur)
    declared = []
    for segment, info in sorted(segment_meta(cur).items()):
        for sync in info["syncs"]:
            declared.append(
                {
                    "segment": segment,
                    **_sync_summary(sync, runs.get(sync.get("name"))),
                    "run": runs.get(sync.get("name")),
                }
            )
    named = {sync["name"] for sync in declared}
    for name, run in sorted(runs.items()):  # runs of syncs no longer declared still show
        if name not in named:
            declared.append(
                {
                    "segment": run["model"],
                    **_sync_summary({"name": name, "destination": run["destination"]}, run),
                    "run": run,
                }
            )
    return declared


def sync_errors(cur: Cursor, sync: str, limit: int = 100) -> list[dict]:
    """Rows that failed, with the destination's error, newest first."""
    if not table_exists(cur, "reverse_etl", "sync_log"):
        return []
    return rows(
        cur,
        "select logged_at, run_id, primary_key, operation, status, error from reverse_etl.sync_log"
        " where sync_name = ? and (status = 'failed' or error is not null) order by logged_at desc limit ?",
        [sync, limit],
    )


# -- identity ------------------------------------------------------------------------------


def identity_summary(cur: Cursor) -> dict:
    """Records and customers, link-rule mix, cluster sizes, the largest clusters, changes per night."""
    records = scalar(cur, "select count(*) from identity.record_customers")
    customers = scalar(cur, "select count(distinct customer_id) from identity.record_customers")
    rules = rows(
        cur,
        "select link_rule, count(*) as records, avg(match_probability) as mean_probability from identity.record_customers group by 1 order by 2 desc",
    )
    sizes = rows(
        cur,
        """
        select size, count(*) as customers from (select customer_id, count(*) as size from identity.record_customers group by 1)
        group by 1 order by 1
        """,
    )
    largest = rows(  # the ten largest first, then their details: joining all 500k records first costs 10x
        cur,
        """
        with top as (
            select customer_id, count(*) as records from identity.record_customers
            group by 1 order by 2 desc, 1 limit 10
        )
        select top.customer_id, top.records,
               string_agg(distinct r.source, ', ' order by r.source) as sources,
               bool_or(coalesce(r.cluster_capped, false)) as capped,
               any_value(c.first_name) as first_name, any_value(c.last_name) as last_name
        from top join identity.record_customers as r using (customer_id)
        left join marts.customer_360 as c using (customer_id)
        group by 1, 2 order by 2 desc, 1
        """,
    )
    changes = rows(
        cur,
        """
        select cast(changed_at as date) as night, count(*) filter (where change = 'merge') as merges,
               count(*) filter (where change = 'split') as splits, count(*) filter (where change = 'new') as new
        from identity.identity_changelog group by 1 order by 1
        """,
    )
    return {
        "records": records,
        "customers": customers,
        "link_rules": rules,
        "cluster_sizes": sizes,
        "largest_clusters": largest,
        "changes_per_night": changes,
    }
