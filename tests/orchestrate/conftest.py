"""Fixtures for the orchestration tests.

`fixture_defs`: cdp's definitions (dagster_project.definitions.build_defs, so every policy is
the real one) over a small dbt project of our own (fixture_dbt_project/), so the wiring is
tested without the whole pipeline. The dbt project is copied to a scratch folder first: dbt
writes target/ and logs/ next to it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster_dbt import DbtProject

FIXTURE_PROJECT = Path(__file__).with_name("fixture_dbt_project")


@pytest.fixture(scope="session")
def fixture_dbt_project(tmp_path_factory) -> DbtProject:
    from dagster_project.dbt_assets import prepare_manifest

    folder = tmp_path_factory.mktemp("orchestrate") / "dbt_project"
    shutil.copytree(FIXTURE_PROJECT, folder)
    project = DbtProject(project_dir=folder, profiles_dir=folder)
    prepare_manifest(project)
    return project


@pytest.fixture(scope="session")
def fixture_defs(fixture_dbt_project):
    from dagster_project.definitions import build_defs
    from ingest.config import load_config

    return build_defs(fixture_dbt_project, load_config())


@pytest.fixture(scope="session")
def fixture_graph(fixture_defs):
    return fixture_defs.resolve_asset_graph()
