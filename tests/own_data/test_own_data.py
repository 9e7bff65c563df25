"""cdp on a user's own sources alone (README, "Your own data"): no demo source at all.

A copy of the project whose ingest/sources.yml holds only the example's three sources
(examples/own_data: two CSV files of people, one JSONL file of visits), with the example's
staging models added: from an empty warehouse through identity, marts, a segment and a file
export. Then a third source is one loader entry plus one staging model, and its records
appear in marts.customer_identities.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from cdp import dbt_files, settings
from tests.dbt.conftest import isolate_dbt

pytestmark = pytest.mark.slow

EXAMPLE = settings.PROJECT_ROOT / "examples" / "own_data"

SUPPORT_ENTRY = """
  support:
    kind: files
    party: first
    tables:
      contacts: {format: jsonl, files: "contacts_*.jsonl", primary_key: contact_id, write_disposition: merge}
"""

SUPPORT_MODEL = """\
{{ config(enabled=model_enabled(model.name)) }}
with source as (
    select * from {{ source('raw_support', 'contacts') }}
),

renamed as (
    select
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(email as {{ dbt.type_string() }}) as email_text,
        cast(name as {{ dbt.type_string() }}) as first_name_text,
        {{ absent_identity_texts(present=['email_text', 'first_name_text']) }}
    from source
)

select
    'support' as source,
    contact_id as source_record_id,
    'first' as party,
    {{ person_identity_columns() }},
    cast(null as timestamp) as observed_at
from renamed
"""

SUPPORT_YAML = """\
version: 2
models:
  - name: stg_support__contacts
    config:
      materialized: table
      meta: {identity_input: true, strong_ids: []}
"""


def own_project(root: Path) -> Path:
    """The repository's dbt project, seeds and an ingest/sources.yml with only the example's sources."""
    shutil.copytree(
        settings.DBT_PROJECT_DIR, root / "dbt_project", ignore=shutil.ignore_patterns("target", "logs", "*.duckdb")
    )
    shutil.copytree(settings.SEEDS_DIR, root / "seeds")
    (root / "ingest").mkdir()
    (root / "ingest" / "sources.yml").write_text("sources:\n" + (EXAMPLE / "sources.yml").read_text())
    for path in (EXAMPLE / "staging").iterdir():
        shutil.copy(path, root / "dbt_project" / "models" / "staging" / path.name)
    return root / "dbt_project"


def ingest(root: Path, warehouse: Path, data_dir: Path, sources: list[str] | None = None):
    from ingest.config import load_config
    from ingest.runner import run_ingest

    summary = run_ingest(
        sources, warehouse=warehouse, data_dir=data_dir, config=load_config(root / "ingest" / "sources.yml")
    )
    assert summary.failed == {}, summary.failed
    return summary


def build(project: Path, monkeypatch) -> None:
    from cdp import build as cdp_build

    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", project)
    cdp_build.run_dbt_build()


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def customer_ids(warehouse: Path) -> dict[tuple[str, str], str]:
    """(source, source record id) -> customer id, from marts.customer_identities."""
    rows = query(warehouse, "select source, source_record_id, customer_id from marts.customer_identities")
    return {(source, record): customer for source, record, customer in rows}


def test_own_sources_alone_ingest_build_resolve_segment_and_export(tmp_path, monkeypatch):
    root = tmp_path / "project"
    project = own_project(root)
    data_dir = tmp_path / "data"
    shutil.copytree(EXAMPLE / "data", data_dir)
    warehouse = tmp_path / "warehouse" / "own.duckdb"
    warehouse.parent.mkdir()
    isolate_dbt(monkeypatch, warehouse, tmp_path / "target")
    monkeypatch.setenv("CDP_DATA_DIR", str(data_dir))

    # the dbt sources, the disabled demo models and the identity / event inputs follow
    written = dbt_files.write_generated(project)
    assert {path.name for path in written} == {"sources.yml", "dbt_project.yml"}
    assert not dbt_files.stale_generated(project)
    project_vars = yaml.safe_load((project / "dbt_project.yml").read_text())["vars"]
    assert project_vars["cdp_identity_inputs"] == ["stg_members__people", "stg_newsletter__signups"]
    assert project_vars["cdp_event_inputs"] == ["stg_visits__events"]
    assert "stg_web__events" in project_vars["cdp_disabled_models"]

    ingest(root, warehouse, data_dir)
    build(project, monkeypatch)

    identities = customer_ids(warehouse)
    assert len(identities) == 7  # 4 members + 3 sign-ups
    assert identities["members", "M001"] == identities["newsletter", "N1"]  # same email, other case
    assert identities["members", "M003"] == identities["newsletter", "N2"]
    assert len(set(identities.values())) == 5

    # customer_360 on what exists: no orders, no consent source (nulls and zeros, not errors)
    rows = query(
        warehouse,
        "select email, orders_total, consent_email_marketing, broker_age_band from marts.customer_360 order by email",
    )
    assert len(rows) == 5
    assert ("anna.jansen@example.org", 0, None, None) in rows
    # events attributed through the member record; M009 is nobody's, M003's visit is old
    assert query(warehouse, "select count(*) from marts.customer_events")[0][0] == 4
    orientation = query(warehouse, "select email, pages_viewed_recent from segments.orientation order by email")
    assert orientation == [("anna.jansen@example.org", 2), ("ben.dekker@example.org", 1)]

    # the first export: the orientation segment to a CSV file
    from cdp.activate import load_sync_specs, run_sync

    exports = tmp_path / "exports"
    spec = next(
        spec for spec in load_sync_specs(tmp_path / "target" / "manifest.json") if spec.name == "orientation_file"
    )
    # No source of these states consent, so the ads export reaches nobody (unknown is no) ...
    gated = run_sync(warehouse, spec, env={"CDP_EXPORT_DIR": str(exports)})
    assert (gated.status, gated.added, gated.skipped_consent) == ("success", 0, 2)
    assert not list(exports.rglob("*.csv"))
    # ... and the same segment exported for service (no marketing consent needed) holds both.
    service = spec.model_copy(update={"name": "orientation_service_file", "purpose": "service"})
    result = run_sync(warehouse, service, env={"CDP_EXPORT_DIR": str(exports)})
    assert result.status != "failed", result.message
    assert result.added == 2
    [exported] = list(exports.rglob("*.csv"))
    with exported.open() as file:
        assert sorted(row["email"] for row in csv.DictReader(file)) == [
            "anna.jansen@example.org",
            "ben.dekker@example.org",
        ]

    # a third source: one loader entry, one staging model with its YAML, `cdp dbt generate`
    sources = root / "ingest" / "sources.yml"
    sources.write_text(sources.read_text() + SUPPORT_ENTRY)
    (project / "models" / "staging" / "stg_support__contacts.sql").write_text(SUPPORT_MODEL)
    (project / "models" / "staging" / "stg_support__contacts.yml").write_text(SUPPORT_YAML)
    assert sorted(line.split(":")[0] for line in dbt_files.stale_generated(project)) == [
        "dbt_project/dbt_project.yml",
        "dbt_project/models/sources/sources.yml",
    ]
    dbt_files.write_generated(project)
    (data_dir / "support").mkdir()
    (data_dir / "support" / "contacts_2026-01-15.jsonl").write_text(
        '{"contact_id": "S1", "email": "eva.bakker@example.org", "name": "Eva"}\n'
        '{"contact_id": "S2", "email": "frank@example.org", "name": "Frank"}\n'
    )
    ingest(root, warehouse, data_dir, ["support"])
    build(project, monkeypatch)

    identities = customer_ids(warehouse)
    assert identities["support", "S1"] == identities["newsletter", "N3"]
    assert ("support", "S2") in identities
    assert identities["members", "M001"] == identities["newsletter", "N1"]
