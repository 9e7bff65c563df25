"""The dbt project as Dagster assets: models, seeds and snapshots as assets, tests as checks.

`CdpDbtTranslator` is the single seam between dbt and Dagster: it names every dbt node's
asset (sources -> the dlt raw-table assets, models -> [layer, name]) and puts each in the
group of its layer. The sync assets use the same translator to find their segment model.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from cdp import settings
from dagster_project.ingest_assets import raw_table_key
from dagster_project.resources import CdpPaths


class CdpDbtTranslator(DagsterDbtTranslator):
    """dbt sources are the dlt assets; models are keyed and grouped by their layer folder.

    dbt tests are asset checks, those on sources too: they check the dlt raw-table assets.
    """

    def __init__(self, settings: DagsterDbtTranslatorSettings | None = None):
        super().__init__(settings or DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        return spec.replace_attributes(key=asset_key_for(props), group_name=layer_of(props))


def asset_key_for(props: Mapping[str, Any]) -> dg.AssetKey:
    if props["resource_type"] == "source":
        # The dbt source YAML may pin the key (meta.dagster.asset_key); otherwise raw_<source>.<table>
        # maps to the dlt asset ["dlt", <source>, <table>] by the naming rule of docs/architecture.md.
        declared = (props.get("meta") or {}).get("dagster", {}).get("asset_key")
        if declared:
            return dg.AssetKey(declared)
        return raw_table_key(props["source_name"].removeprefix("raw_"), props["name"])
    return dg.AssetKey([layer_of(props), props["name"]])


def layer_of(props: Mapping[str, Any]) -> str:
    """staging / identity / marts / segments from the model's folder; seeds and snapshots by type."""
    if props["resource_type"] == "source":
        return "ingest"
    if props["resource_type"] in ("seed", "snapshot"):
        return f"{props['resource_type']}s"
    fqn = props["fqn"]  # [project, folder..., name]
    return fqn[1] if len(fqn) > 2 else "models"


def cdp_project() -> DbtProject:
    """The repo's dbt project (dbt_project/, its profiles.yml next to it). Its manifest is
    where dbt writes it: `target/`, or dbt's own $DBT_TARGET_PATH when set (a second checkout
    of the settings, such as a Spark build beside a DuckDB one, then keeps its own)."""
    return DbtProject(
        project_dir=settings.DBT_PROJECT_DIR,
        profiles_dir=settings.DBT_PROJECT_DIR,
        target=settings.engine(),
        target_path=Path(os.environ.get("DBT_TARGET_PATH") or "target"),
    )


def dbt_resource(project: DbtProject) -> DbtCliResource:
    """dbt on the engine in use. On Spark through `cdp-dbt` (cdp.spark.dbt_main), which sets up
    the Spark session and runs identity resolution between the build's two selections."""
    if settings.engine() == "spark":
        return DbtCliResource(
            project_dir=project, target="spark", dbt_executable=str(Path(sys.executable).parent / "cdp-dbt")
        )
    return DbtCliResource(project_dir=project)


def put_python_scripts_on_path() -> None:
    """dagster-dbt runs `dbt` from PATH: make it the dbt beside this Python, so
    `.venv/bin/cdp run` works without an activated virtual environment."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([scripts, os.environ.get("PATH", "")])


def prepare_manifest(project: DbtProject, *, force: bool = False, warehouse: Path | None = None) -> None:
    """`dbt parse` when the manifest is missing, out of date or `force`d, and on every load under `dagster dev`.

    Out of date: a file of the dbt project or its seeds changed since the manifest was written
    (a segment added since the last parse must get its sync assets). Unchanged, the parse is
    skipped: it costs a dbt process (8-26 s), and `dbt build` parses for itself anyway.
    Given the `warehouse` the build will use, the parse gets the same `--vars`, so the build's
    partial parse can reuse it (dbt parses everything again when its vars change); without
    one, any current manifest will do: the asset graph does not depend on the warehouse.
    """
    put_python_scripts_on_path()
    stamp_path = project.manifest_path.with_name("cdp_project_fingerprint")
    fingerprint = project_fingerprint(project)
    parsed = stamp_path.read_text().splitlines() if project.manifest_path.exists() and stamp_path.exists() else []
    current = parsed[:1] == [fingerprint] and (warehouse is None or parsed[1:] == [str(warehouse)])
    if force or not current:
        if warehouse is None:
            project.preparer.prepare(project)
        else:
            dbt_resource(project).cli(
                ["parse", "--quiet", *dbt_vars(warehouse)], target_path=project.target_path
            ).wait()
        stamp_path.write_text("\n".join([fingerprint, *([str(warehouse)] if warehouse else [])]))
    else:
        project.prepare_if_dev()


def dbt_vars(warehouse: Path) -> list[str]:
    """The warehouse for dbt's profile (profiles.yml reads the `cdp_warehouse` var first)."""
    return ["--vars", json.dumps({"cdp_warehouse": str(warehouse)})]


def project_fingerprint(project: DbtProject) -> str:
    """Names, sizes and modification times of every file dbt parses (not its own output), and its settings."""
    import hashlib

    skip = {"target", "logs", "dbt_packages"}
    digest = hashlib.sha256()
    for root in (Path(project.project_dir), settings.SEEDS_DIR):
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if relative.parts[0] in skip or not path.is_file():
                continue
            stat = path.stat()
            digest.update(f"{relative}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    # the project reads these settings; the paths among them change where dbt works, not the graph
    paths = {"CDP_WAREHOUSE", "CDP_DATA_DIR", "CDP_SPARK_DIR"}
    for name in sorted(key for key in os.environ if key.startswith("CDP_") and key not in paths):
        digest.update(f"{name}={os.environ[name]}\n".encode())
    return digest.hexdigest()


# dbt's unit tests check the models' SQL on fixed rows: they belong to development and CI
# (`cdp build`, the test suite), not to every night, where they cost ~10 s of fixed rows
# whatever the data. The data tests still run every night.
NIGHTLY_BUILD_FLAGS = ("--exclude-resource-type", "unit_test")


def build_dbt_assets(project: DbtProject, translator: DagsterDbtTranslator, *, pool: str) -> dg.AssetsDefinition:
    """Every dbt node in one op: one `dbt build` keeps dbt's own ordering, tests and skips."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        name="dbt_build",
        pool=pool,
    )
    def dbt_build(context: AssetExecutionContext, dbt: DbtCliResource, cdp_paths: CdpPaths):
        from cdp.warehouse_schema import upgrade_warehouse

        warehouse = cdp_paths.warehouse_path()
        if warehouse.is_file():  # (missing: dbt says so in one line, see cdp.dbt_plugin)
            upgrade_warehouse(warehouse)  # state tables of an older release, migrated in place
        invocation = dbt.cli(["build", *NIGHTLY_BUILD_FLAGS, *dbt_vars(warehouse)], context=context)
        yield from interruptible(invocation)
        # Each invocation gets its own target folder; a nightly run must not leave one behind
        # every night. A failed build raises above, so its folder stays for debugging.
        shutil.rmtree(invocation.target_path, ignore_errors=True)

    return dbt_build


_END = object()


def interruptible(invocation: DbtCliInvocation, grace_seconds: float = 15) -> Iterator[Any]:
    """invocation.stream(), with Ctrl-C and SIGTERM stopping dbt for sure, and the step as interrupted.

    Dagster raises an interrupt inside the step's code, and dagster-dbt forwards it to dbt;
    but dagster-dbt parses each line of dbt's output under a bare `except:`, which swallows
    an interrupt that lands there: the run went on. So while dbt's events are read, the
    signals are ours (InterruptWatch): dbt is told, and once it has stopped the step raises
    the interrupt (`cdp run` then cancels the run, see nightly.cancel_on_interrupt). Any
    other end of the step (an error, the step abandoned) stops dbt too.
    """
    watch = InterruptWatch(invocation.process, grace_seconds)
    events = iter(invocation.stream())
    try:
        while True:
            with watch:
                event = next(events, _END)
            if watch.received:
                raise DagsterExecutionInterruptedError()
            if event is _END:
                return
            yield event
    except BaseException as error:  # GeneratorExit too: the step is over, so is dbt
        watch.stop_dbt()
        stopped = watch.received or _by_interrupt(error) or isinstance(error, GeneratorExit)
        if stopped:  # a stopped build leaves nothing worth debugging in its target folder
            shutil.rmtree(invocation.target_path, ignore_errors=True)
        if isinstance(error, DagsterExecutionInterruptedError | GeneratorExit) or not stopped:
            raise
        raise DagsterExecutionInterruptedError() from error


class InterruptWatch:
    """While entered, SIGINT and SIGTERM are noted and passed on to dbt as SIGINT (dbt then cancels
    its queries and exits); dbt is killed if it has not exited `grace_seconds` later, or at once
    on a second signal."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, process: subprocess.Popen, grace_seconds: float):
        self.process, self.grace_seconds = process, grace_seconds
        self.received = False
        self._saved: dict[int, Any] = {}
        self._killer: threading.Timer | None = None

    def __enter__(self) -> "InterruptWatch":
        if threading.current_thread() is threading.main_thread():  # only it may set handlers
            self._saved = {signum: signal.getsignal(signum) for signum in self.SIGNALS}
            for signum in self.SIGNALS:
                signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._saved = {}

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.received:  # asked twice: stop now
            self._kill()
            return
        self.received = True
        with suppress(OSError):
            self.process.send_signal(signal.SIGINT)
        self._killer = threading.Timer(self.grace_seconds, self._kill)
        self._killer.daemon = True
        self._killer.start()

    def _kill(self) -> None:
        with suppress(OSError):
            self.process.kill()

    def stop_dbt(self) -> None:
        """dbt asked to stop (unless it was already) and waited for; killed if it does not."""
        if self.process.poll() is None and not self.received:
            with suppress(OSError):
                self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=self.grace_seconds)
        except subprocess.TimeoutExpired:
            self._kill()
            self.process.wait()
        if self._killer is not None:
            self._killer.cancel()


def _by_interrupt(error: BaseException | None) -> bool:
    """The error is an interrupt, or was raised while one was handled (dagster-dbt's wait for dbt timing out)."""
    while error is not None:
        if isinstance(error, DagsterExecutionInterruptedError | KeyboardInterrupt):
            return True
        error = error.__context__
    return False
