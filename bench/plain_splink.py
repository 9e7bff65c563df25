"""The baseline for identity resolution: plain Splink 5 on the same records, with the same model.

Two steps, so that only Splink's own work is in the measured one:

    # setup (not compared): the records our identity step hands to Splink, into a file
    python -m bench.plain_splink prepare --warehouse run/cdp.duckdb --out run/splink_input.duckdb
    # measured: predict with the repo's trained model and cluster at the same threshold
    python -m bench.plain_splink predict --input run/splink_input.duckdb --threshold 0.99

`prepare` uses cdp.identity's own preparation (the matching table and the Splink input
query), so both sides see identical records. `predict` is what a Splink user writes:
a Linker over the table, `predict`, `cluster_pairwise_predictions_at_threshold`.
Prints record, link and cluster counts as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import duckdb


def _sql_string(path: Path) -> str:
    """A path as a SQL string literal (ATTACH takes no parameters)."""
    return "'" + str(path).replace("'", "''") + "'"


def prepare(warehouse: Path, out: Path) -> int:
    from cdp.identity.model import SPLINK_INPUT_SQL
    from cdp.identity.prepare import prepare_matching_table
    from cdp.identity.warehouse import INPUT_TABLES, load_tables

    connection = load_tables(warehouse, INPUT_TABLES)
    prepare_matching_table(connection)
    out.unlink(missing_ok=True)
    connection.execute(f"attach {_sql_string(out)} as out")
    connection.execute(f"create table out.splink_input as {SPLINK_INPUT_SQL}")
    return connection.execute("select count(*) from out.splink_input").fetchone()[0]


def predict_and_cluster(input_path: Path, threshold: float) -> dict:
    from splink import DuckDBAPI, Linker

    from cdp.identity.model import MODEL_PATH

    connection = duckdb.connect()  # Splink writes its working tables; the input file stays untouched
    connection.execute(f"attach {_sql_string(input_path)} as prepared (read_only)")
    connection.execute("create table splink_input as select * from prepared.splink_input")
    connection.execute("detach prepared")
    db_api = DuckDBAPI(connection=connection)
    linker = Linker(db_api.register(connection.table("splink_input")), str(MODEL_PATH), log_level=logging.WARNING)
    predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    records, cluster_count = connection.execute(
        f"select count(*), count(distinct cluster_id) from {clusters.physical_name}"
    ).fetchone()
    links = connection.execute(f"select count(*) from {predictions.physical_name}").fetchone()[0]
    return {"records": records, "links": links, "clusters": cluster_count, "threshold": threshold}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    setup = steps.add_parser("prepare", help="write the records Splink sees into a DuckDB file")
    setup.add_argument("--warehouse", type=Path, required=True)
    setup.add_argument("--out", type=Path, required=True)
    measured = steps.add_parser("predict", help="plain Splink: predict and cluster")
    measured.add_argument("--input", type=Path, required=True)
    measured.add_argument("--threshold", type=float, required=True)
    arguments = parser.parse_args()
    if arguments.step == "prepare":
        print(json.dumps({"records": prepare(arguments.warehouse, arguments.out)}))
    else:
        print(json.dumps(predict_and_cluster(arguments.input, arguments.threshold)))


if __name__ == "__main__":
    main()
