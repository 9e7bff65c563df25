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
import math
from typing import Any

import duckdb

from cdp.identity.comparisons import trained_settings
from cdp.identity.config import IdentityConfig


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
        left join pairs p on r.link_rule = 'probabilistic' and p.a = r.unique_id and p.b = r.linked_to
    """)


def prior_weight(settings: dict[str, Any]) -> float:
    """The match weight of the prior: two random records being one person."""
    p = settings["probability_two_random_records_match"]
    return math.log2(p / (1 - p))


def waterfall(explanation: str | None) -> list[str]:
    """Lines describing one record's explanation JSON, for the terminal."""
    if not explanation:
        return ["  no link: the record stands alone"]
    data = json.loads(explanation)
    lines = [f"  joined by {data['rule']} to {data['linked_to']}"]
    if data.get("comparisons"):
        lines[0] += f" (match weight {data['match_weight']:+.2f}, probability {data['match_probability']:.4f})"
        for part in data["comparisons"]:
            lines.append(f"    {part['comparison']:<16} {part['match_weight']:+7.2f}  {part['level']}")
    return lines
