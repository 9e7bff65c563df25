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
    names = ["records", "truth_records_unresolved", "persons", "customers", "true_positive_pairs",
             "predicted_pairs", "actual_pairs", "split_persons", "mixed_customers"]
    figures = {name: int(value or 0) for name, value in zip(names, row)}
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


def write_report(con: duckdb.DuckDBPyConnection, figures: dict, report_dir: Path, waterfall_pairs: int = 5) -> list[Path]:
    """figures.json plus Splink's match weights chart and a waterfall for a few pairs.

    `con` must hold `matching` (the prepared inputs), so the charts use the repo's model.
    """
    from cdp.identity.model import linker_over_matching

    report_dir.mkdir(parents=True, exist_ok=True)
    written = [report_dir / "figures.json"]
    written[0].write_text(json.dumps(figures, indent=2) + "\n")
    linker = linker_over_matching(con)
    weights = report_dir / "match_weights.html"
    linker.visualisations.match_weights_chart().save(str(weights))
    written.append(weights)
    # a few pairs around the decision boundary and a few clear matches
    predictions = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
    records = con.execute(f"""
        (select * from {predictions.physical_name} order by abs(match_weight) limit {waterfall_pairs})
        union all
        (select * from {predictions.physical_name} order by match_weight desc limit {waterfall_pairs})
    """).df().to_dict("records")
    if records:
        waterfall = report_dir / "waterfall.html"
        linker.visualisations.waterfall_chart(records).save(str(waterfall))
        written.append(waterfall)
    return written
