"""Why records are together, and why two records are apart.

During resolution (`link_explanations`), each record's deciding link (the most trusted
link tying it into its cluster: `record_rules.linked_to`) is explained as JSON: the rule,
the partner record and, for a Splink link, every comparison's level and match weight with
the prior (Splink's waterfall). It lands in `identity.record_customers.explanation` and the
`identity.link_explanations` model.

On demand (`why_apart`, `cdp identity explain A B`), two records are put through the steps
again: whether a blocking rule reaches them, their Splink score against the threshold,
whether a guardrail drops their link, whether the cluster cap broke them up.
"""

from __future__ import annotations

import json

import duckdb

from cdp.identity.comparisons import trained_settings
from cdp.identity.config import PAIR_GUARDRAILS, IdentityConfig


def gamma_labels(config: IdentityConfig, model: dict | None) -> dict[str, dict[int, str]]:
    """comparison -> {gamma value: level label} (Splink numbers levels down to 0, null -1)."""
    settings = trained_settings(config, model, "duckdb")
    labels = {}
    for comparison in settings["comparisons"]:
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        labels[comparison["output_column_name"]] = {
            len(levels) - 1 - index: level.get("label_for_charts", level["sql_condition"])
            for index, level in enumerate(levels)
        } | {-1: "missing on one side"}
    return labels


def _label_sql(comparison: str, labels: dict[int, str]) -> str:
    cases = " ".join(f"when {gamma} then '{label.replace(chr(39), chr(39) * 2)}'" for gamma, label in labels.items())
    return f"case p.gamma_{comparison} {cases} end"


def link_explanations(con: duckdb.DuckDBPyConnection, config: IdentityConfig, model: dict | None = None) -> None:
    """`explanations (unique_id, linked_to, match_weight, explanation)` for every linked record."""
    labels = gamma_labels(config, model)
    comparisons = ", ".join(
        f"{{'comparison': '{c.name}', 'level': {_label_sql(c.name, labels[c.name])}, "
        f"'match_weight': round(p.weight_{c.name}, 3)}}"
        for c in config.comparisons
    )
    con.execute(f"""
        create or replace temp table explanations as
        with pairs as (
            select unique_id_l as a, unique_id_r as b, * from scored_pairs
            union all select unique_id_r, unique_id_l, * from scored_pairs
        )
        select r.unique_id, r.linked_to,
               case when r.link_rule = 'probabilistic' then round(p.match_weight, 3) end as match_weight,
               to_json({{
                   'rule': r.link_rule, 'linked_to': r.linked_to,
                   'match_probability': r.match_probability,
                   'match_weight': case when r.link_rule = 'probabilistic' then round(p.match_weight, 3) end,
                   'comparisons': case when r.link_rule = 'probabilistic' then [{comparisons}] end
               }})::varchar as explanation
        from record_rules r
        -- every use of p is guarded by the rule: a condition on r alone in this ON clause
        -- makes DuckDB 1.5 plan a nested loop (15 s instead of 0.03 s at 100,000 records)
        left join pairs p on p.a = r.unique_id and p.b = r.linked_to
    """)


def waterfall(explanation: str | None) -> list[str]:
    """Lines describing one record's explanation JSON, for the terminal."""
    if not explanation:
        return ["  no link: the record stands alone"]
    data = json.loads(explanation)
    lines = [f"  joined by {data['rule']} to {data['linked_to']}"]
    if data.get("comparisons"):
        lines[0] += f" (match weight {data['match_weight']:+.2f}, probability {data['match_probability']:.4f})"
        parts = data["comparisons"]
        prior = data["match_weight"] - sum(part["match_weight"] for part in parts)
        lines.append(f"    {'prior':<16} {prior:+7.2f}  two records picked at random being one person")
        for part in parts:
            lines.append(f"    {part['comparison']:<16} {part['match_weight']:+7.2f}  {part['level']}")
    return lines


def find_records(con: duckdb.DuckDBPyConnection, query: str) -> list[str]:
    """unique_ids (`source:source_record_id`) a customer id, an email or a record names."""
    query = query.strip()
    if ":" in query and "@" not in query:
        rows = con.execute("select unique_id from matching where unique_id = ?", [query]).fetchall()
    elif "@" in query:
        rows = con.execute(
            "select unique_id from matching where email = lower(?) or email_key = canonical_email(lower(?))",
            [query, query],
        ).fetchall()
    else:
        rows = con.execute(
            "select source || ':' || source_record_id from resolution where customer_id = ?", [query]
        ).fetchall()
    return sorted(row[0] for row in rows)


def customer_lines(con: duckdb.DuckDBPyConnection, unique_ids: list[str]) -> list[str]:
    """For each customer holding one of the records: each record and what joined it."""
    customers = con.execute(
        "select distinct customer_id from resolution where source || ':' || source_record_id in ?",
        [unique_ids],
    ).fetchall()
    lines = []
    for (customer_id,) in sorted(customers):
        rows = con.execute(
            """
            select r.source || ':' || r.source_record_id, m.first_name, m.last_name, m.email, r.explanation,
                   r.cluster_capped
            from resolution r left join matching m on m.unique_id = r.source || ':' || r.source_record_id
            where r.customer_id = ? order by 1
        """,
            [customer_id],
        ).fetchall()
        lines.append(f"customer {customer_id}: {len(rows)} record(s)")
        for unique_id, first, last, email, explanation, capped in rows:
            who = " ".join(part for part in (first, last, email) if part) or "no name or email"
            lines.append(f"- {unique_id} ({who}){' [cluster capped]' if capped else ''}")
            lines.extend(waterfall(explanation))
    return lines


def why_apart(con: duckdb.DuckDBPyConnection, config: IdentityConfig, model: dict | None, a: str, b: str) -> list[str]:
    """Why records a and b are in different customers (or that they are not): every step."""
    from cdp.identity.model import LINKED_BEFORE_SPLINK, linker_over_matching, prediction_settings
    from cdp.identity.prepare import clearly_different_birth_dates, clearly_different_first_names

    ids = {
        unique_id: con.execute(
            "select customer_id, cluster_capped from resolution where source || ':' || source_record_id = ?",
            [unique_id],
        ).fetchone()
        for unique_id in (a, b)
    }
    if ids[a] and ids[b] and ids[a][0] == ids[b][0]:
        return [f"{a} and {b} are together: customer {ids[a][0]}", *customer_lines(con, [a])]
    lines = [
        f"{a} ({ids[a][0] if ids[a] else 'not resolved'}) and {b} ({ids[b][0] if ids[b] else 'not resolved'}) are apart:"
    ]
    pair = con.execute(
        f"""
        select l.email_key = r.email_key, l.email_is_shared or r.email_is_shared, l.phone = r.phone,
               l.phone_is_shared or r.phone_is_shared,
               {clearly_different_first_names("l", "r")}, {clearly_different_birth_dates("l", "r")}
        from matching l, matching r where l.unique_id = ? and r.unique_id = ?
    """,
        [a, b],
    ).fetchone()
    if pair is None:
        return [*lines, "  one of the records is not an identity input"]
    same_email, email_shared, same_phone, phone_shared, names_differ, dates_differ = pair
    if email_shared or phone_shared:
        lines.append(
            "  an email or phone of theirs is used by clearly different people (a household's): it links no one"
        )
    if same_email or same_phone:
        lines.append("  they share an email or phone that is not a household's (a deterministic link)")
    settings = prediction_settings(config, model)
    linker = linker_over_matching(con, config, settings)
    records = [
        con.execute("select * from splink_input where unique_id = ?", [i]).df().to_dict("records") for i in (a, b)
    ]
    if not records[0] or not records[1]:
        return [
            *lines,
            "  one record carries nothing Splink compares (only an email): it links by its email or not at all",
        ]
    blocked = [
        rule["blocking_rule"]
        for rule in settings["blocking_rules_to_generate_predictions"]
        if con.execute(
            f"select count(*) from splink_input l, splink_input r where l.unique_id = ? and r.unique_id = ? and ({rule['blocking_rule']})",
            [a, b],
        ).fetchone()[0]
    ]
    if not blocked:
        lines.append(
            "  never blocked together: no blocking rule pairs them"
            f" (pairs on {', '.join(LINKED_BEFORE_SPLINK)} are linked deterministically instead)"
        )
    else:
        lines.append(f"  blocked together by: {'; '.join(blocked)}")
    scored = linker.inference.score_pair(records[0][0], records[1][0]).as_pandas_dataframe().iloc[0]
    probability, weight = float(scored["match_probability"]), float(scored["match_weight"])
    verdict = "at or above" if probability >= config.threshold else "below"
    lines.append(
        f"  Splink: match probability {probability:.4f} (weight {weight:+.2f}), {verdict} the threshold {config.threshold}"
    )
    labels = gamma_labels(config, model)
    contributions = {
        c.name: float(scored.get(f"mw_{c.name}", 0) or 0) + float(scored.get(f"mw_tf_adj_{c.name}", 0) or 0)
        for c in config.comparisons
    }
    prior = weight - sum(contributions.values())
    lines.append(f"    {'prior':<16} {prior:+7.2f}  two records picked at random being one person")
    for name, contribution in contributions.items():
        lines.append(f"    {name:<16} {contribution:+7.2f}  {labels[name].get(int(scored[f'gamma_{name}']), '')}")
    differ = {"different_first_names": names_differ, "different_birth_dates": dates_differ}
    for guardrail, comparison in PAIR_GUARDRAILS.items():
        rule = getattr(config.guardrails, guardrail)
        if differ[guardrail] and rule.enabled:
            evidence = sum(contributions[name] for name in config.person_level_comparisons(comparison))
            verdict = "drops their link" if evidence < rule.overruled_from_weight else "is overruled"
            lines.append(
                f"  guardrail {guardrail}: the {comparison.replace('_', ' ')}s name two people; the other "
                f"person-level evidence weighs {evidence:+.2f} (overruled from {rule.overruled_from_weight}): {verdict}"
            )
    if any(ids[i] and ids[i][1] for i in (a, b)):
        lines.append(f"  cluster cap: a cluster above {config.max_cluster_size} records was broken up (cluster_capped)")
    return lines
