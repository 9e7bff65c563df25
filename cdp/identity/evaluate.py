"""Score a resolution against labelled truth, and write the report.

Figures (all over the records present in both the resolution and the truth):
- pairwise precision, recall and F1 over record pairs put under one customer id;
- share of persons split across several customer ids;
- share of customer ids holding several persons.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb


def score(con: duckdb.DuckDBPyConnection, resolution: str, truth: str) -> dict:
    """Figures for `resolution (source, source_record_id, customer_id)` vs `truth (..., person_id)`."""
    row = con.execute(f"""
        with joined as (
            select r.customer_id, t.person_id
            from {resolution} r join {truth} t
              on r.source = t.source and cast(r.source_record_id as varchar) = cast(t.source_record_id as varchar)
        ),
        pairs as (
            select
                (select sum(n * (n - 1) / 2) from (select count(*) n from joined group by customer_id, person_id)) as true_positive,
                (select sum(n * (n - 1) / 2) from (select count(*) n from joined group by customer_id)) as predicted,
                (select sum(n * (n - 1) / 2) from (select count(*) n from joined group by person_id)) as actual
        )
        select
            (select count(*) from joined) as records,
            (select count(*) from {truth}) - (select count(*) from joined) as truth_records_unresolved,
            (select count(distinct person_id) from joined) as persons,
            (select count(distinct customer_id) from joined) as customers,
            true_positive, predicted, actual,
            (select count(*) from (select person_id from joined group by all having count(distinct customer_id) > 1)) as split_persons,
            (select count(*) from (select customer_id from joined group by all having count(distinct person_id) > 1)) as mixed_customers
        from pairs
    """).fetchone()
    names = [
        "records",
        "truth_records_unresolved",
        "persons",
        "customers",
        "true_positive_pairs",
        "predicted_pairs",
        "actual_pairs",
        "split_persons",
        "mixed_customers",
    ]
    figures = {name: int(value or 0) for name, value in zip(names, row, strict=True)}
    precision = figures["true_positive_pairs"] / figures["predicted_pairs"] if figures["predicted_pairs"] else 1.0
    recall = figures["true_positive_pairs"] / figures["actual_pairs"] if figures["actual_pairs"] else 1.0
    figures.update(
        pairwise_precision=precision,
        pairwise_recall=recall,
        pairwise_f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        share_persons_split=figures["split_persons"] / figures["persons"] if figures["persons"] else 0.0,
        share_customers_mixed=figures["mixed_customers"] / figures["customers"] if figures["customers"] else 0.0,
    )
    figures["share_persons_under_one_id"] = 1 - figures["share_persons_split"]
    return figures


# Why a person's records sit apart from their main customer id (the id holding most of
# their records). Each split-off group (one person, one other customer id) gets the first
# kind that fits; the first three leave nothing a resolver may link by.
SPLIT_OFF_KINDS = {
    "household_email": "carries an email (or its hash) that records of several persons use",
    "nothing_to_link_by": "no email, phone, name or address: anonymous ids or a card never shown with any",
    "name_elsewhere": "a name and a postcode or address that none of the person's main records has",
    "name_and_place": "a name and a postcode or address that the person's main records have",
    "other_email_or_phone": "an email or phone that none of the person's main records has",
    "other": "anything else",
}
# Records nothing may link: no identifier at all, or only one a household shares. A name
# and a place elsewhere (a move, a stale broker row) is linkable evidence, however weak.
UNLINKABLE_KINDS = ("household_email", "nothing_to_link_by")


def split_off_breakdown(con: duckdb.DuckDBPyConnection, resolution: str, truth: str) -> dict:
    """Split-off groups by kind, and the share of persons under one id once the unlinkable kinds are set aside.

    Needs `identity_inputs` (the identity contract columns) next to the resolution and truth.
    """
    con.execute(f"""
        create or replace temp table split_off_kinds as
        with records as (
            select r.customer_id, t.person_id, i.*
            from {resolution} r
            join {truth} t on r.source = t.source and cast(r.source_record_id as varchar) = cast(t.source_record_id as varchar)
            join identity_inputs i on i.source = r.source and cast(i.source_record_id as varchar) = cast(r.source_record_id as varchar)
        ),
        keyed as (
            select *, lower(trim(email)) as email_norm,
                   coalesce(lower(email_sha256), sha256(lower(trim(email)))) as email_hash,
                   upper(replace(postcode, ' ', '')) as postcode_norm, lower(address) as address_norm
            from records
        ),
        shared_hashes as (select email_hash from keyed where email_hash is not null group by all having count(distinct person_id) > 1),
        main as (  -- the id holding most of the person's records (a tie: the smallest id)
            select person_id, customer_id as main_id
            from (select person_id, customer_id, count(*) as n from keyed group by all)
            qualify row_number() over (partition by person_id order by n desc, customer_id) = 1
        ),
        main_values as (
            select k.person_id, list(distinct k.email_hash) as hashes, list(distinct k.phone) as phones,
                   list(distinct k.postcode_norm) as postcodes, list(distinct k.address_norm) as addresses
            from keyed k join main m on m.person_id = k.person_id and m.main_id = k.customer_id group by all
        ),
        groups as (
            select k.person_id, k.customer_id, count(*) as records,
                   bool_or(k.email_hash in (select email_hash from shared_hashes)) as household_email,
                   bool_or(k.email_hash is not null or k.phone is not null) as has_contact,
                   bool_or(list_contains(v.hashes, k.email_hash) or list_contains(v.phones, k.phone)) as contact_in_main,
                   bool_or(k.first_name is not null or k.last_name is not null) as has_name,
                   bool_or(k.postcode_norm is not null or k.address_norm is not null) as has_place,
                   bool_or(list_contains(v.postcodes, k.postcode_norm) or list_contains(v.addresses, k.address_norm)) as place_in_main
            from keyed k join main m using (person_id) left join main_values v using (person_id)
            where k.customer_id <> m.main_id
            group by all
        ),
        kinds as (
            select person_id, records,
                case when household_email then 'household_email'
                     when not has_contact and not has_name and not has_place then 'nothing_to_link_by'
                     when not has_contact and has_name and not coalesce(place_in_main, false) then 'name_elsewhere'
                     when not has_contact and has_name then 'name_and_place'
                     when has_contact and not coalesce(contact_in_main, false) then 'other_email_or_phone'
                     else 'other' end as kind
            from groups
        )
        select * from kinds
    """)
    rows = con.execute("""
        select kind, count(*) as groups, sum(records) as records, count(distinct person_id) as persons
        from split_off_kinds group by all order by records desc
    """).fetchall()
    persons_split_linkable = con.execute(
        f"select count(distinct person_id) from split_off_kinds where kind not in {UNLINKABLE_KINDS}"
    ).fetchone()[0]
    persons_total = con.execute(f"""
        select count(distinct t.person_id) from {resolution} r
        join {truth} t on r.source = t.source and cast(r.source_record_id as varchar) = cast(t.source_record_id as varchar)
    """).fetchone()[0]
    return {
        "split_off": {
            kind: {"groups": groups, "records": int(records), "persons": persons, "means": SPLIT_OFF_KINDS[kind]}
            for kind, groups, records, persons in rows
        },
        "unlinkable_kinds": list(UNLINKABLE_KINDS),
        "share_persons_under_one_id_unless_unlinkable": 1 - persons_split_linkable / persons_total
        if persons_total
        else 1.0,
    }


def write_report(
    con: duckdb.DuckDBPyConnection, figures: dict, report_dir: Path, config, waterfall_pairs: int = 5
) -> list[Path]:
    """figures.json plus Splink's match weights chart and a waterfall for a few pairs.

    `con` must hold `matching` (the prepared inputs), so the charts use the trained model.
    """
    from cdp.identity.model import linker_over_matching, load_model, prediction_settings

    report_dir.mkdir(parents=True, exist_ok=True)
    written = [report_dir / "figures.json"]
    written[0].write_text(json.dumps(figures, indent=2) + "\n")
    linker = linker_over_matching(con, config, prediction_settings(config, load_model()))
    weights = report_dir / "match_weights.html"
    linker.visualisations.match_weights_chart().save(str(weights))
    written.append(weights)
    # a few pairs around the decision boundary and a few clear matches
    predictions = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
    records = (
        con.execute(f"""
        (select * from {predictions.physical_name} order by abs(match_weight) limit {waterfall_pairs})
        union all
        (select * from {predictions.physical_name} order by match_weight desc limit {waterfall_pairs})
    """)
        .df()
        .to_dict("records")
    )
    if records:
        waterfall = report_dir / "waterfall.html"
        linker.visualisations.waterfall_chart(records).save(str(waterfall))
        written.append(waterfall)
    return written
