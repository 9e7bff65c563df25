"""When `prepare_manifest` parses the dbt project: only when the project changed, or when a
build on another warehouse needs dbt's partial-parse state for its `--vars` (each parse is a
dbt process of 8-26 s; `cdp run` used to parse three times)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dagster_dbt import DbtProject

from dagster_project import dbt_assets


@pytest.fixture
def parses(fixture_dbt_project, tmp_path, monkeypatch) -> tuple[DbtProject, list[str]]:
    """A copy of the parsed fixture project (times kept, so it is as current as the original),
    and a log of the parses asked for on it (the warehouse of a parse with `--vars`, "prepare"
    for one without)."""
    folder = tmp_path / "dbt_project"
    shutil.copytree(fixture_dbt_project.project_dir, folder)
    project = DbtProject(project_dir=folder, profiles_dir=folder)
    asked: list[str] = []

    class Recorder:
        def cli(self, args, **options):
            asked.append(json.loads(args[args.index("--vars") + 1])["cdp_warehouse"])
            return self

        def wait(self):
            return None

    monkeypatch.setattr(dbt_assets, "dbt_resource", lambda project: Recorder())
    monkeypatch.setattr(type(project.preparer), "prepare", lambda self, project: asked.append("prepare"))
    return project, asked


def test_an_unchanged_project_is_not_parsed_again(parses):
    project, asked = parses
    dbt_assets.prepare_manifest(project)
    assert asked == []


def test_a_build_on_a_warehouse_gets_one_parse_with_its_vars_then_none(parses, tmp_path):
    project, asked = parses
    warehouse = tmp_path / "cdp.duckdb"
    dbt_assets.prepare_manifest(project, warehouse=warehouse)
    dbt_assets.prepare_manifest(project)  # the definitions load after it (cdp run): the graph is current
    dbt_assets.prepare_manifest(project, warehouse=warehouse)  # the next night on the same warehouse
    assert asked == [str(warehouse)]


def test_another_warehouse_or_a_changed_file_parses_again(parses, tmp_path):
    project, asked = parses
    dbt_assets.prepare_manifest(project, warehouse=tmp_path / "one.duckdb")
    dbt_assets.prepare_manifest(project, warehouse=tmp_path / "two.duckdb")
    model = next(Path(project.project_dir).rglob("*.sql"))
    model.write_text(model.read_text() + "\n")
    dbt_assets.prepare_manifest(project)
    assert asked == [str(tmp_path / "one.duckdb"), str(tmp_path / "two.duckdb"), "prepare"]


def test_the_manifest_is_where_dbt_writes_it(monkeypatch, tmp_path):
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    assert dbt_assets.cdp_project().manifest_path == dbt_assets.settings.DBT_PROJECT_DIR / "target" / "manifest.json"
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "spark_target"))  # dbt's own setting
    assert dbt_assets.cdp_project().manifest_path == tmp_path / "spark_target" / "manifest.json"
