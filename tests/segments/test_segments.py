"""The journey segments: their dbt unit tests and build, and the sync declarations in their YAML.

A segment is one SQL file and one YAML file; these tests hold every segment, present and
future, to the same contract (docs/architecture.md section 4) without naming any of them.
"""

from __future__ import annotations

import importlib.util

import duckdb
import pytest

JOURNEY_SEGMENTS = {
    "orientation",
    "consideration",
    "cart_abandoners",
    "cross_sell",
    "repeat_purchase_due",
    "lapsed_high_value",
    "vip_loyalty",
}
MODES = {"upsert", "mirror", "add_remove"}
ON_LEAVE = {"remove", "ignore", "clear_fields"}
SYNC_KEYS = {"name", "destination", "mode", "primary_key", "identifiers", "fields"}


def syncs_of(model: dict) -> list[dict]:
    return model["config"]["meta"].get("syncs", [])


def test_the_journey_is_covered(dbt_scratch):
    assert {model["name"] for model in dbt_scratch.segment_models()} >= JOURNEY_SEGMENTS


def test_segment_unit_tests_data_tests_and_build_pass(built_segments):
    assert built_segments.returncode == 0, built_segments.stdout[-6000:]
    assert "unit_test" in built_segments.stdout


def test_every_segment_has_a_unit_test(dbt_scratch):
    tested = {test["model"] for test in dbt_scratch.manifest["unit_tests"].values()}
    untested = {model["name"] for model in dbt_scratch.segment_models()} - tested
    assert not untested, f"segments without a dbt unit test: {sorted(untested)}"


def test_every_segment_is_one_row_per_known_customer(dbt_scratch):
    for model in dbt_scratch.segment_models():
        customer_id_tests = {
            node["test_metadata"]["name"]
            for node in dbt_scratch.manifest["nodes"].values()
            if node["resource_type"] == "test"
            and model["unique_id"] in node["depends_on"]["nodes"]
            and node.get("column_name") == "customer_id"
        }
        assert {"unique", "not_null", "relationships"} <= customer_id_tests, model["name"]


def test_every_segment_and_column_is_documented(dbt_scratch, built_segments):
    assert built_segments.returncode == 0
    with duckdb.connect(str(dbt_scratch.warehouse), read_only=True) as connection:
        for model in dbt_scratch.segment_models():
            assert "**Who:**" in model["description"] and "**Why:**" in model["description"], model["name"]
            built = [
                row[0]
                for row in connection.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [model["schema"], model["alias"]],
                ).fetchall()
            ]
            assert built[0] == "customer_id", model["name"]
            assert built == list(model["columns"]), f"{model['name']}: documented columns differ from the table"
            assert all(column["description"] for column in model["columns"].values()), model["name"]


def test_every_segment_mirrors_to_the_file_destination(dbt_scratch):
    for model in dbt_scratch.segment_models():
        file_syncs = [sync for sync in syncs_of(model) if sync["destination"] == "file"]
        assert [sync["mode"] for sync in file_syncs] == ["mirror"], model["name"]


def test_sync_names_are_unique_across_the_project(dbt_scratch):
    names = [
        sync["name"]
        for node in dbt_scratch.manifest["nodes"].values()
        if node["resource_type"] == "model"
        for sync in syncs_of(node)
    ]
    assert len(names) == len(set(names)), names


def test_sync_declarations_are_complete_and_map_real_columns(dbt_scratch):
    for model in dbt_scratch.segment_models():
        columns = set(model["columns"])
        for sync in syncs_of(model):
            where = f"{model['name']}: {sync.get('name')}"
            assert set(sync) >= SYNC_KEYS, where
            assert sync["mode"] in MODES, where
            assert sync.get("on_leave", "ignore") in ON_LEAVE, where
            assert sync["primary_key"] == "customer_id", where
            assert sync["identifiers"], f"{where}: a destination needs an identifier"
            mapped = set(sync["identifiers"].values()) | set(sync["fields"].values())
            assert mapped <= columns, f"{where}: maps unknown columns {sorted(mapped - columns)}"


def test_api_syncs_take_settings_from_the_environment_not_the_yaml(dbt_scratch):
    """Secrets never live in a segment's YAML: only ids rendered from env_var, empty when unset."""
    for model in dbt_scratch.segment_models():
        for sync in syncs_of(model):
            for key in sync.get("config", {}):
                assert not any(word in key.lower() for word in ("token", "secret", "password", "api_key")), sync["name"]


def test_declared_destinations_exist_in_the_sync_engine(dbt_scratch):
    if importlib.util.find_spec("cdp.activate") is None:
        pytest.skip("the sync engine (cdp.activate) is not there yet")
    for model in dbt_scratch.segment_models():
        for sync in syncs_of(model):
            module = f"cdp.activate.destinations.{sync['destination']}"
            assert importlib.util.find_spec(module) is not None, f"{sync['name']}: no module {module}"


def test_the_sync_engine_reads_every_declared_sync(dbt_scratch):
    if importlib.util.find_spec("cdp.activate") is None:
        pytest.skip("the sync engine (cdp.activate) is not there yet")
    from cdp.activate import load_sync_specs

    declared = {sync["name"] for model in dbt_scratch.segment_models() for sync in syncs_of(model)}
    loaded = {spec.name for spec in load_sync_specs(dbt_scratch.target_dir / "manifest.json")}
    assert declared <= loaded
