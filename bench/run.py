"""`cdp bench`: the whole pipeline at one scale, stage by stage, with baselines beside it.

Every stage runs as its own process, the command a user would run (`cdp ingest`,
`dbt build --select <layer>`, `cdp sync`, ...), measured by bench.measure from the OS's
accounting. In the same run, so machine noise cancels:

- ingest vs DuckDB reading the same files natively (bench.native_read);
- the identity step vs plain Splink 5 predicting and clustering the same records with
  the same trained model (bench/identity_bench.py, the identity engineer's side-by-side);
- the next-day run (after `generate --advance`) vs the full run;
- identity accuracy against the truth file (`cdp identity evaluate`).

Folders (bench/work/ is git-ignored):

    bench/work/<persons>/universe/        the generated universe, reused by later benches
    bench/work/<persons>/universe.json    what generating it cost
    bench/work/<persons>/run/             fresh each bench: data/ (a copy), cdp.duckdb, logs/
    bench/results/bench_<persons>.json    the figures; bench_<persons>.md the table
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import psutil

from bench.measure import Measurement, run_measured
from bench.report import to_markdown
from cdp import settings
from cdp.errors import CdpError

BENCH_DIR = Path(__file__).resolve().parent
WORK_ROOT = BENCH_DIR / "work"
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = sys.executable
DBT = str(Path(sys.executable).with_name("dbt"))

# Targets from issue 7 (this 2-core, 24 GB machine): lower ratio is better.
INGEST_VS_NATIVE_TARGET = 3.0
IDENTITY_VS_SPLINK_TARGET = 1.25
NEXT_DAY_VS_FULL_TARGET = 0.10
IDENTITY_STAGE_VS_SPLINK_TARGET = 2.0


@dataclass(frozen=True)
class Workspace:
    """Where one scale's universe and run live."""

    root: Path

    @property
    def universe(self) -> Path:
        return self.root / "universe"

    @property
    def universe_cost(self) -> Path:
        return self.root / "universe.json"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def data(self) -> Path:
        return self.run / "data"

    @property
    def warehouse(self) -> Path:
        return self.run / "cdp.duckdb"

    @property
    def logs(self) -> Path:
        return self.run / "logs"

    @property
    def dbt_target(self) -> Path:
        """The run's own dbt target folder: never the one `cdp run` and developers use."""
        return self.run / "dbt_target"

    def log_for(self, stage: str) -> Path:
        return self.logs / (stage.replace(":", "").replace("+", "and").replace(" ", "_") + ".log")

    def environment(self) -> dict[str, str]:
        """Every stage reads the run's data and writes the run's warehouse, nothing else."""
        return {
            **os.environ,
            "CDP_DATA_DIR": str(self.data),
            "CDP_WAREHOUSE": str(self.warehouse),
            "DAGSTER_HOME": str(self.run / "dagster_home"),
            "DBT_TARGET_PATH": str(self.dbt_target),
            "DBT_LOG_PATH": str(self.logs / "dbt"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }


def cdp_command(*arguments: str) -> list[str]:
    return [PYTHON, "-m", "cdp.cli", *arguments]


def dbt_build(*selectors: str) -> list[str]:
    """`dbt build` of some layers as the nightly runs it (no unit tests); a test runs with the
    layer all its parents are in (cautious), so a segment's relationship test to customer_360
    waits for the segments."""
    from dagster_project.dbt_assets import NIGHTLY_BUILD_FLAGS

    project = str(settings.DBT_PROJECT_DIR)
    return [
        DBT,
        "build",
        *NIGHTLY_BUILD_FLAGS,
        "--project-dir",
        project,
        "--profiles-dir",
        project,
        "--indirect-selection",
        "cautious",
        "--select",
        *selectors,
    ]


def pipeline_stages(workspace: Workspace) -> list[tuple[str, list[str]]]:
    """The nightly pipeline in order: what `cdp run`'s Dagster job runs (ingest, one `dbt build`,
    every declared sync), with the dbt build split by layer so identity resolution is measured alone."""
    return [
        ("ingest", cdp_command("ingest")),
        ("dbt: seeds + staging", dbt_build("resource_type:seed", "staging")),
        ("identity", dbt_build("identity")),
        ("dbt: marts", dbt_build("intermediate", "marts")),
        ("dbt: segments", dbt_build("segments")),
        ("syncs", cdp_command("sync", "--manifest", str(workspace.dbt_target / "manifest.json"))),
    ]


def run_stage(workspace: Workspace, stage: str, command: list[str], *, run: str = "") -> Measurement:
    """One measured stage (its log named after `run` and stage); a failure stops the bench
    with the stage's log named."""
    workspace.logs.mkdir(parents=True, exist_ok=True)
    log = workspace.log_for(f"{run} {stage}".strip())
    measurement = run_measured(stage, command, env=workspace.environment(), cwd=workspace.run, log_path=log)
    if measurement.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise CdpError(f"{log}: stage '{stage}' failed with exit code {measurement.returncode}: " + " / ".join(tail))
    return measurement


def run_pipeline(workspace: Workspace, run: str) -> dict:
    """Every pipeline stage once, in order; the run's total is the sum of wall and CPU, the max of peaks."""
    stages = [run_stage(workspace, stage, command, run=run) for stage, command in pipeline_stages(workspace)]
    return {
        "stages": [stage.as_dict() for stage in stages],
        "total": {
            "wall_s": round(sum(stage.wall_s for stage in stages), 3),
            "cpu_s": round(sum(stage.cpu_s for stage in stages), 3),
            "peak_rss_mb": round(max(stage.peak_rss_mb for stage in stages), 3),
        },
    }


def generator_version() -> str:
    """A digest of the generator's code: a universe made by other code is not reused."""
    digest = hashlib.sha256()
    for path in sorted((settings.PROJECT_ROOT / "cdp" / "demo").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_universe(workspace: Workspace, persons: int, seed: int, fresh: bool) -> dict:
    """Generate the universe once per scale and generator version (or again with `fresh`);
    return what generating it cost."""
    if fresh and workspace.root.exists():
        shutil.rmtree(workspace.root)
    if (workspace.universe / "manifest.json").exists() and workspace.universe_cost.exists():
        cost = json.loads(workspace.universe_cost.read_text())
        if cost.get("generator_version") == generator_version() and cost.get("seed") == seed:
            return {**cost, "reused": True}
    shutil.rmtree(workspace.universe, ignore_errors=True)
    workspace.run.mkdir(parents=True, exist_ok=True)
    generate = run_stage(
        workspace,
        "generate",
        cdp_command("generate", "--persons", str(persons), "--seed", str(seed), "--out", str(workspace.universe)),
    )
    cost = {**generate.as_dict(), "seed": seed, "generator_version": generator_version()}
    workspace.universe_cost.write_text(json.dumps(cost, indent=1))
    return {**cost, "reused": False}


def fresh_run_folder(workspace: Workspace) -> None:
    """A clean warehouse and a pristine copy of the universe (`--advance` changes the copy)."""
    shutil.rmtree(workspace.run, ignore_errors=True)
    shutil.copytree(workspace.universe, workspace.data)


def raw_rows(warehouse: Path, after_load_id: str | None = None) -> tuple[int, str | None]:
    """Rows in the raw tables (loaded after `after_load_id` if given), and the newest load id."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema like 'raw\\_%' escape '\\' and table_name not like '\\_%' escape '\\'"
        ).fetchall()
        rows, newest = 0, after_load_id
        for schema, table in tables:
            relation = f'"{schema}"."{table}"'
            count, latest = connection.execute(
                f"select count(*), max(_dlt_load_id) from {relation} where _dlt_load_id > ?",
                [after_load_id or ""],
            ).fetchone()
            rows += count
            newest = max(filter(None, [newest, latest]), default=None)
    return rows, newest


def identity_accuracy(workspace: Workspace) -> dict:
    """`cdp identity evaluate` against the universe's truth file; it prints its figures as JSON."""
    truth = workspace.data / "truth.parquet"
    run_stage(workspace, "identity evaluate", cdp_command("identity", "evaluate", "--truth", str(truth)))
    printed = workspace.log_for("identity evaluate").read_text()
    return json.loads(printed[printed.index("{") : printed.rindex("}") + 1])


def identity_vs_plain_splink(workspace: Workspace, run: str, state: Path | None = None) -> dict[str, Measurement]:
    """The identity engineer's side-by-side (bench/identity_bench.py) on this run's identity inputs:
    cdp.identity's resolution and plain Splink, each its own process, reading the same copy of
    the inputs with the same model and threshold. With `state` (keep_identity_state, taken after
    the day before), the resolution is incremental, as the nightly runs it. Writing the copy is
    setup (its own process, so this one stays small: a child's peak RSS as the kernel reports it
    starts from its parent's)."""
    inputs = workspace.run / f"identity_inputs_{run}"
    inputs.mkdir(parents=True, exist_ok=True)
    bench_helper(workspace, f"{run} identity bench: copy inputs", "write_inputs(folder, warehouse, 0)", inputs)
    script = str(BENCH_DIR / "identity_bench.py")
    incremental = ["--state", str(state)] if state else []
    return {
        "plain_splink": run_stage(
            workspace,
            f"{run} identity bench: plain_splink",
            [PYTHON, script, "--stage", "plain_splink", "--inputs", str(inputs)],
        ),
        "identity": run_stage(
            workspace,
            f"{run} identity bench: identity",
            [PYTHON, script, "--stage", "identity", "--inputs", str(inputs), *incremental],
        ),
    }


def keep_identity_state(workspace: Workspace) -> Path:
    """The identity step's state after the full run, for the next day's incremental side-by-side."""
    state = workspace.run / "identity_state"
    bench_helper(workspace, "identity bench: keep state", "write_state(folder, warehouse)", state)
    return state


def bench_helper(workspace: Workspace, stage: str, call: str, folder: Path) -> None:
    """A bench.identity_bench function on `folder` and this run's warehouse, in its own process."""
    run_stage(
        workspace,
        stage,
        [
            PYTHON,
            "-c",
            "import sys; from pathlib import Path; from bench.identity_bench import write_inputs, write_state; "
            f"folder, warehouse = Path(sys.argv[1]), Path(sys.argv[2]); {call}",
            str(folder),
            str(workspace.warehouse),
        ],
    )


def comparison(label: str, ours: dict, baseline: dict, target: float) -> dict:
    """Ours vs a baseline, both {wall_s, cpu_s}; the target is on the wall-time ratio.
    CPU ratio beside it: on a shared machine it is the steadier figure."""

    def ratio(measure: str) -> float | None:
        return round(ours[measure] / baseline[measure], 3) if baseline[measure] else None

    wall_ratio = ratio("wall_s")
    return {
        "label": label,
        "ours_s": round(ours["wall_s"], 3),
        "baseline_s": round(baseline["wall_s"], 3),
        "ratio": wall_ratio,
        "cpu_ratio": ratio("cpu_s"),
        "target": f"≤ {target}×",
        "target_met": wall_ratio <= target if wall_ratio is not None else None,
    }


def machine() -> dict:
    cpu_model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu_model = names[0] if names else cpu_model
    return {
        "cpu_count": psutil.cpu_count(logical=True),
        "cpu_model": cpu_model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def run_bench(
    persons: int,
    *,
    seed: int = 42,
    work_root: Path = WORK_ROOT,
    results_dir: Path = RESULTS_DIR,
    fresh: bool = False,
    command: str = "",
) -> dict:
    """Run the whole benchmark at one scale; write bench_<persons>.json and .md; return the result."""
    started_at = datetime.now(UTC)
    workspace = Workspace(work_root.resolve() / str(persons))
    generate = ensure_universe(workspace, persons, seed, fresh)
    fresh_run_folder(workspace)

    full = run_pipeline(workspace, "full")
    full_rows, last_full_load = raw_rows(workspace.warehouse)
    native = run_stage(
        workspace,
        "native read",
        [
            PYTHON,
            "-m",
            "bench.native_read",
            "--data-dir",
            str(workspace.data),
            "--warehouse",
            str(workspace.run / "native.duckdb"),
        ],
    )
    identity_side_by_side = identity_vs_plain_splink(workspace, "full")
    accuracy = identity_accuracy(workspace)
    identity_state = keep_identity_state(workspace)

    advance = run_stage(
        workspace, "generate next day", cdp_command("generate", "--advance", "--out", str(workspace.data))
    )
    next_day = run_pipeline(workspace, "next day")
    next_day_rows, _ = raw_rows(workspace.warehouse, after_load_id=last_full_load)
    identity_next_day = identity_vs_plain_splink(workspace, "next day", identity_state)
    unchanged = run_pipeline(workspace, "unchanged day")  # no new data: the night's fixed cost

    full_stages = {measured["stage"]: measured for measured in full["stages"]}
    result = {
        "persons": persons,
        "seed": seed,
        "command": command or f"cdp bench --persons {persons}",
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "universe": {
            **_universe_facts(workspace.universe),
            "raw_rows_full": full_rows,
            "raw_rows_next_day": next_day_rows,
            "generate": generate,
            "generate_next_day": advance.as_dict(),
        },
        "full_run": full,
        "next_day_run": next_day,
        "unchanged_run": unchanged,
        "baselines": {
            "native_read": native.as_dict(),
            **{f"identity_bench_{name}": measured.as_dict() for name, measured in identity_side_by_side.items()},
            **{f"identity_bench_next_day_{name}": measured.as_dict() for name, measured in identity_next_day.items()},
        },
        "side_by_side": {
            "ingest_vs_native_read": comparison(
                "ingest vs DuckDB native read of the same files",
                full_stages["ingest"],
                native.as_dict(),
                INGEST_VS_NATIVE_TARGET,
            ),
            "identity_vs_plain_splink": comparison(
                "identity resolution vs plain Splink (same records, same model, each its own process)",
                identity_side_by_side["identity"].as_dict(),
                identity_side_by_side["plain_splink"].as_dict(),
                IDENTITY_VS_SPLINK_TARGET,
            ),
            "identity_next_day_vs_plain_splink": comparison(
                "next day: incremental identity resolution vs plain Splink on all of that day's records",
                identity_next_day["identity"].as_dict(),
                identity_next_day["plain_splink"].as_dict(),
                IDENTITY_VS_SPLINK_TARGET,
            ),
            "identity_stage_vs_plain_splink": comparison(
                "identity stage in dbt (inputs, resolution, tests) vs plain Splink",
                full_stages["identity"],
                identity_side_by_side["plain_splink"].as_dict(),
                IDENTITY_STAGE_VS_SPLINK_TARGET,
            ),
            "next_day_vs_full": comparison(
                "next-day run vs full run",
                next_day["total"],
                full["total"],
                NEXT_DAY_VS_FULL_TARGET,
            ),
        },
        "identity_accuracy": accuracy,
    }
    write_results(result, results_dir)
    return result


def _universe_facts(universe: Path) -> dict:
    manifest = json.loads((universe / "manifest.json").read_text())
    truth = universe / "truth.parquet"
    records = duckdb.sql(f"select count(*) from read_parquet('{truth}')").fetchone()[0] if truth.exists() else None
    return {
        "source_records": records,
        "history_days": manifest.get("history_days"),
        "current_date": manifest.get("current_date"),
    }


def write_results(result: dict, results_dir: Path) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = results_dir / f"bench_{result['persons']}.json"
    markdown_path = results_dir / f"bench_{result['persons']}.md"
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    markdown_path.write_text(to_markdown(result))
    return json_path, markdown_path
