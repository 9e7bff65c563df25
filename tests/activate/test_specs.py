"""Sync specs: read from dbt's manifest, validated with errors naming the model and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cdp import settings
from cdp.activate import load_sync_specs
from cdp.activate.delivery import DeliveryPolicy
from cdp.activate.destinations import destination_class
from cdp.activate.destinations.base import RunContext
from cdp.activate.specs import SyncSpec
from cdp.errors import CdpError

SYNC = {
    "name": "cart_email",
    "destination": "klaviyo",
    "purpose": "email_marketing",
    "mode": "upsert",
    "primary_key": "customer_id",
    "identifiers": {"email": "email"},
    "fields": {"first_name": "first_name"},
    "config": {"list_id": "L1"},
}


def manifest_with(tmp_path: Path, *syncs_per_model: list[dict]) -> Path:
    nodes = {}
    for number, syncs in enumerate(syncs_per_model):
        name = f"segment_{number}"
        nodes[f"model.cdp.{name}"] = {
            "resource_type": "model",
            "name": name,
            "database": "cdp",
            "schema": "segments",
            "alias": name,
            "config": {"meta": {"syncs": syncs}},
        }
    nodes["test.cdp.not_a_model"] = {"resource_type": "test", "name": "x", "config": {"meta": {"syncs": [{"bad": 1}]}}}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": nodes}))
    return path


def test_specs_come_from_models_with_meta_syncs(tmp_path):
    path = manifest_with(
        tmp_path,
        [SYNC],
        [],
        [
            {
                **SYNC,
                "name": "audience",
                "destination": "meta_custom_audiences",
                "purpose": "ads",
                "mode": "add_remove",
                "config": {"audience_id": "A1"},
            }
        ],
    )
    specs = load_sync_specs(path)
    assert [spec.name for spec in specs] == ["audience", "cart_email"]
    cart = specs[1]
    assert (cart.model, cart.relation, cart.on_leave) == ("segment_0", '"segments"."segment_0"', "ignore")
    assert specs[0].on_leave == "remove"  # the default for audiences


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({"mode": "sometimes"}, r"model segment_0: meta.syncs\[0\] \(cart_email\): mode: Input should be"),
        ({"identifiers": {}}, "identifiers: at least one"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"name": None}, "name: Input should be a valid string"),
        ({"destination": "fax"}, r"destination: 'fax' is unknown; available: braze, file"),
    ],
)
def test_invalid_specs_name_model_and_key(tmp_path, broken, message):
    path = manifest_with(tmp_path, [{**SYNC, **broken}])
    with pytest.raises(CdpError, match=message):
        load_sync_specs(path)


# The purpose x destination table of docs/architecture.md ("Consent purposes").
PURPOSE_TABLE = {
    "mailchimp": {"email_marketing"},
    "klaviyo": {"email_marketing"},
    "braze": {"email_marketing"},
    "hubspot": {"email_marketing", "service"},
    "meta_custom_audiences": {"ads"},
    "google_ads_customer_match": {"ads"},
    "file": {"email_marketing", "ads", "service"},
    "webhook": {"email_marketing", "ads", "service"},
}


@pytest.mark.parametrize("destination", sorted(PURPOSE_TABLE))
@pytest.mark.parametrize("purpose", ["email_marketing", "ads", "service", None])
def test_each_destination_takes_exactly_the_purposes_of_the_table(tmp_path, destination, purpose):
    declared = {**SYNC, "destination": destination, "purpose": purpose, "config": {}}
    path = manifest_with(tmp_path, [declared])
    if purpose in PURPOSE_TABLE[destination]:
        assert load_sync_specs(path)[0].purpose == purpose
    elif purpose is None:
        with pytest.raises(CdpError, match=r"\(cart_email\): purpose: required; declare what its people agreed to"):
            load_sync_specs(path)
    else:
        with pytest.raises(CdpError, match=f"purpose: '{purpose}' is not allowed for {destination}"):
            load_sync_specs(path)


@pytest.mark.parametrize(
    ("destination", "config", "message"),
    [
        (
            "mailchimp",
            {"list_id": "L", "tag": "cross_sell"},
            "config.tag: unknown for mailchimp; it reads: list_id, tags",
        ),
        (
            "file",
            {"consent": "ads"},
            r"config.consent: unknown for file \(the consent purpose is now the sync's `purpose:`\)",
        ),
        ("webhook", {"url": "http://x", "batchsize": 5}, "config.batchsize: unknown for webhook"),
        ("mailchimp", {"list_id": "L", "tags": [1, 2]}, "config.tags: a tag name or a list of tag names"),
    ],
)
def test_unknown_or_malformed_config_keys_are_refused_when_the_manifest_is_read(tmp_path, destination, config, message):
    purpose = "service" if destination in ("file", "webhook") else "email_marketing"
    declared = {**SYNC, "destination": destination, "purpose": purpose, "config": config}
    with pytest.raises(CdpError, match=message):
        load_sync_specs(manifest_with(tmp_path, [declared]))


def test_duplicate_sync_names_are_refused(tmp_path):
    with pytest.raises(CdpError, match="sync name 'cart_email' is already used by model segment_0"):
        load_sync_specs(manifest_with(tmp_path, [SYNC], [SYNC]))


def test_missing_manifest_says_what_to_do(tmp_path):
    with pytest.raises(CdpError, match="run `cdp build`"):
        load_sync_specs(tmp_path / "nope.json")


def _declared_syncs():
    for path in sorted((settings.DBT_PROJECT_DIR / "models" / "segments").glob("*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models") or []:
            meta = (model.get("config") or {}).get("meta") or model.get("meta") or {}
            for sync in meta.get("syncs") or []:
                yield pytest.param(model["name"], sync, id=sync.get("name", model["name"]))


@pytest.mark.parametrize(("model", "declared"), list(_declared_syncs()))
def test_the_project_segments_declare_valid_syncs(model, declared, tmp_path):
    """Every sync the segment YAML declares validates and fits its destination."""
    spec = SyncSpec(**declared, model=model, relation=f'"segments"."{model}"')
    context = RunContext("r", "t", tmp_path / "w.duckdb", {}, DeliveryPolicy())
    destination = destination_class(spec.destination)(spec, context)
    assert destination.unsupported_reason() is None
