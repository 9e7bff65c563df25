"""Identity step vs plain Splink 5, side by side on the same records and the same model.

    python bench/identity_bench.py --warehouse warehouse/cdp.duckdb   # identity inputs of a built warehouse
    python bench/identity_bench.py --persons 20000                    # a demo universe of 20,000 persons

Without --warehouse, the inputs come from the one demo generator: `cdp generate` (kept in
bench/work/identity_<persons>/universe/ while the generator is unchanged), `cdp ingest`, and
`cdp build` of the identity inputs, strong ids and the seeds the identity step reads, into
bench/work/identity_<persons>/run/cdp.duckdb (bench.run's workspace and stages).

Each stage runs as its own process (bench.measure.run_measured: wall time, CPU time,
peak RSS), reading the same Parquet copy of the inputs:
- `identity`: cdp.identity.resolve.resolve_identities (guardrails, deterministic links,
  Splink prediction, connected components with the cap, stable ids, changelog);
- `plain_splink`: Splink alone: load the records, predict with the same model JSON at
  the same threshold, cluster with Splink's connected components.
Figures go to bench/results/identity_bench_warehouse_<records>_records.json (or _demo_<persons>_persons)
(and are printed).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
THRESHOLD = 0.99
TABLES = ("identity_inputs", "identity_strong_ids", "blocked_identifiers", "nicknames")
# what the identity step reads: its inputs and strong ids with all their parents, and its seeds
IDENTITY_SELECTION = ("+identity_inputs", "+identity_strong_ids", "blocked_identifiers", "nicknames")
DEMO_SEED = 42


def demo_warehouse(persons: int, seed: int = DEMO_SEED) -> Path:
    """A warehouse holding the identity inputs of a demo universe of `persons` persons."""
    from bench.run import WORK_ROOT, Workspace, cdp_command, ensure_universe, fresh_run_folder, run_stage

    workspace = Workspace(WORK_ROOT / f"identity_{persons}")
    ensure_universe(workspace, persons, seed, fresh=False)
    fresh_run_folder(workspace)
    run_stage(workspace, "ingest", cdp_command("ingest"))
    selection = [argument for selector in IDENTITY_SELECTION for argument in ("--select", selector)]
    run_stage(workspace, "build identity inputs", cdp_command("build", *selection))
    return workspace.warehouse


def write_inputs(folder: Path, warehouse: Path | None, persons: int) -> int:
    """The inputs as Parquet files (from a demo universe of `persons` without a warehouse);
    returns the record count."""
    from cdp.identity.warehouse import INPUT_TABLES, load_tables

    con = load_tables(warehouse or demo_warehouse(persons), INPUT_TABLES)
    for table in TABLES:
        con.execute(f"copy (select * from {table}) to '{folder / table}.parquet' (format parquet)")
    return con.execute("select count(*) from identity_inputs").fetchone()[0]


def write_state(folder: Path, warehouse: Path) -> None:
    """The identity step's state after a run (its records as the next run's `previous`, its
    scored pairs), for an incremental resolution of the next day's inputs."""
    import duckdb
    import pyarrow.parquet as pq

    from cdp.identity.stable_ids import previous_for_next_run

    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        previous = previous_for_next_run(con, "identity.record_customers", "identity.identity_changelog")
        pq.write_table(previous, folder / "previous.parquet")
        con.execute(f"copy identity.identity_scored_pairs to '{folder / 'pairs.parquet'}' (format parquet)")


def run_identity(folder: Path, state: Path | None = None) -> None:
    """The identity step on the inputs in `folder`; with `state` (write_state), incrementally:
    only the pairs of records new or changed since that state are scored."""
    import pyarrow.parquet as pq

    from cdp.identity.resolve import resolve_identities

    frames = [pq.read_table(folder / f"{table}.parquet") for table in TABLES]
    previous, pairs = (
        (pq.read_table(state / name) for name in ("previous.parquet", "pairs.parquet")) if state else (None, None)
    )
    resolution = resolve_identities(*frames, previous, previous_pairs=pairs, threshold=THRESHOLD, max_cluster_size=100)
    print(f"customers: {resolution.record_customers.customer_id.nunique()}; scoring: {resolution.increment}")


def run_plain_splink(folder: Path) -> None:
    import logging

    import duckdb
    from splink import DuckDBAPI, Linker
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    from cdp.identity.comparisons import trained_settings
    from cdp.identity.model import load_model
    from cdp.identity.prepare import default_config

    con = duckdb.connect()
    # the columns the model compares, in the same matching form, without any guardrail
    con.execute(f"""
        create table records as
        select source || ':' || source_record_id as unique_id, lower(first_name) as first_name,
               [lower(first_name)] as first_name_forms, lower(last_name) as last_name,
               cast(date_of_birth as varchar) as date_of_birth, lower(address) as address, postcode,
               lower(city) as city, phone, lower(email) as email
        from read_parquet('{folder / "identity_inputs.parquet"}')
    """)
    db_api = DuckDBAPI(connection=con)
    records = db_api.register(con.table("records"))
    # the same generated settings and trained numbers as the identity step (no blocking rule skipped)
    settings = trained_settings(default_config(), load_model(), "duckdb")
    linker = Linker(records, settings, log_level=logging.WARNING)
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD, warning_mode="never")
    clusters = cluster_pairwise_predictions_at_threshold(
        db_api.register(con.table("records").select("unique_id")),
        predictions,
        db_api=db_api,
        node_id_column_name="unique_id",
    )
    count = con.execute(f"select count(distinct cluster_id) from {clusters.physical_name}").fetchone()[0]
    print(f"clusters: {count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, help="a built warehouse to read identity inputs from")
    parser.add_argument("--persons", type=int, default=20000, help="demo universe persons when no warehouse")
    parser.add_argument("--stage", choices=["identity", "plain_splink"], help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)  # identity: incremental from write_state
    args = parser.parse_args()
    if args.stage == "identity":
        run_identity(args.inputs, args.state)
        return
    if args.stage == "plain_splink":
        run_plain_splink(args.inputs)
        return

    from bench.measure import run_measured

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        records = write_inputs(folder, args.warehouse, args.persons)
        measured = {
            stage: run_measured(
                stage,
                [sys.executable, __file__, "--stage", stage, "--inputs", str(folder)],
                log_path=folder / f"{stage}.log",
            )
            for stage in ("plain_splink", "identity")
        }
        for stage, m in measured.items():
            if m.returncode:
                sys.exit(f"{stage} failed:\n" + (folder / f"{stage}.log").read_text()[-3000:])
    result = {
        "input": str(args.warehouse) if args.warehouse else f"demo universe, {args.persons} persons, seed {DEMO_SEED}",
        "records": records,
        "threshold": THRESHOLD,
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "stages": {stage: m.as_dict() for stage, m in measured.items()},
        "ratio_wall": round(measured["identity"].wall_s / measured["plain_splink"].wall_s, 3),
        "ratio_peak_rss": round(measured["identity"].peak_rss_mb / measured["plain_splink"].peak_rss_mb, 3),
    }
    label = f"warehouse_{records}_records" if args.warehouse else f"demo_{args.persons}_persons"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"identity_bench_{label}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
