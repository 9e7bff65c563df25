"""Adding a person source to identity resolution: one staging model + YAML, then `cdp dbt generate`.

Works on a copy of the dbt project with a new `stg_loyalty__members` model declared as an
identity input, compiled (not run) against an empty warehouse.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cdp import dbt_files, settings

NEW_MODEL = """
select
    'loyalty' as source, member_id as source_record_id, 'first' as party,
    email, email as email_sha256, phone, first_name, last_name, first_name as first_name_display,
    last_name as last_name_display, cast(null as date) as date_of_birth, address, address as address_display,
    postcode, city, city as city_display, country, observed_at, card_number
from (select 'M1' as member_id, 'a@b.nl' as email, '+31612345678' as phone, 'ann' as first_name,
      'lee' as last_name, 'main st 1' as address, '1011AB' as postcode, 'amsterdam' as city, 'NL' as country,
      current_timestamp as observed_at, 'L-1' as card_number) as members
"""

NEW_YAML = """
version: 2
models:
  - name: stg_loyalty__members
    description: Loyalty programme members (test source).
    config:
      meta: {identity_input: true, strong_ids: [card_number]}
"""


@pytest.fixture
def project_copy(tmp_path) -> Path:
    """dbt_project and seeds side by side, as in the repository, plus the new source."""
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(settings.SEEDS_DIR, tmp_path / "seeds")
    (tmp_path / "ingest").mkdir()
    shutil.copy(dbt_files.ingest_config_path(settings.DBT_PROJECT_DIR), tmp_path / "ingest" / "sources.yml")
    (project / "models" / "staging" / "stg_loyalty__members.sql").write_text(NEW_MODEL)
    (project / "models" / "staging" / "_loyalty__models.yml").write_text(NEW_YAML)
    return project


def compile_identity_models(project: Path, empty_warehouse: Path) -> subprocess.CompletedProcess:
    dbt = str(Path(sys.executable).with_name("dbt"))
    return subprocess.run(
        [
            dbt,
            "compile",
            "--project-dir",
            str(project),
            "--profiles-dir",
            str(project),
            "--select",
            "identity_inputs",
            "identity_strong_ids",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_new_identity_input_before_cdp_dbt_generate_stops_the_build_naming_it(project_copy, empty_warehouse):
    result = compile_identity_models(project_copy, empty_warehouse)
    assert result.returncode != 0
    assert "stg_loyalty__members" in result.stdout
    assert "run `cdp dbt generate`" in result.stdout


def test_a_new_identity_input_joins_the_union_and_its_strong_ids(project_copy, empty_warehouse):
    assert dbt_files.write_generated(project_copy) == [project_copy / "dbt_project.yml"]
    result = compile_identity_models(project_copy, empty_warehouse)
    assert result.returncode == 0, result.stdout
    compiled = project_copy.parent / "target" / "compiled" / "cdp" / "models" / "identity"
    inputs_sql = (compiled / "identity_inputs.sql").read_text()
    strong_ids_sql = (compiled / "identity_strong_ids.sql").read_text()
    assert '"staging"."stg_loyalty__members"' in inputs_sql
    assert '"staging"."stg_crm__contacts"' in inputs_sql
    assert "'card_number' as id_type" in strong_ids_sql
    assert "'loyalty_card' as id_type" in strong_ids_sql
