"""The real project's Dagster definitions: they load as `dagster dev` loads them, and the
asset graph is pinned here, so any change to it (a new source, model or sync) shows in review.

When the graph changes on purpose, update ASSET_GRAPH (print it with the snippet in
`test_the_asset_graph_is_pinned`'s failure message).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cdp import settings
from dagster_project import definitions

# The person-bearing staging models, the identity inputs.
IDENTITY_INPUTS = [
    "staging/stg_app__devices",
    "staging/stg_broker__enrichment",
    "staging/stg_crm__contacts",
    "staging/stg_email__subscribers",
    "staging/stg_erp__accounts",
    "staging/stg_partner__responses",
    "staging/stg_pos__transactions",
    "staging/stg_shop__customers",
    "staging/stg_web__visitors",
]
ASSET_GRAPH = [
    ("dlt/app/events", []),
    ("dlt/broker/enrichment", []),
    ("dlt/crm/contacts", []),
    ("dlt/email/events", []),
    ("dlt/email/subscribers", []),
    ("dlt/erp/invoices", []),
    ("dlt/partner/responses", []),
    ("dlt/pos/transactions", []),
    ("dlt/shop/customers", []),
    ("dlt/shop/order_items", []),
    ("dlt/shop/orders", []),
    ("dlt/shop/products", []),
    ("dlt/web/events", []),
    ("identity/identity_changelog", ["identity/record_customers"]),
    (
        "identity/identity_inputs",
        IDENTITY_INPUTS,
    ),
    (
        "identity/identity_match_fields",
        IDENTITY_INPUTS,
    ),
    (
        "identity/identity_strong_ids",
        IDENTITY_INPUTS,
    ),
    ("identity/link_explanations", ["identity/record_customers"]),
    (
        "identity/record_customers",
        [
            "identity/identity_inputs",
            "identity/identity_match_fields",
            "identity/identity_strong_ids",
            "seeds/blocked_identifiers",
            "seeds/nicknames",
        ],
    ),
    ("intermediate/int_clock", ["marts/customer_events"]),
    (
        "intermediate/int_customer__cart",
        ["intermediate/int_clock", "marts/customer_events", "staging/stg_shop__products"],
    ),
    (
        "intermediate/int_customer__consent",
        [
            "marts/customer_events",
            "marts/customer_identities",
            "staging/stg_crm__contacts",
            "staging/stg_email__subscribers",
        ],
    ),
    (
        "intermediate/int_customer__engagement",
        ["marts/customer_events", "marts/customer_identities", "staging/stg_partner__responses"],
    ),
    ("intermediate/int_customer__enrichment", ["marts/customer_identities", "staging/stg_broker__enrichment"]),
    ("intermediate/int_customer__orders", ["marts/customer_purchases"]),
    (
        "intermediate/int_customer__profile",
        ["identity/identity_inputs", "marts/customer_identities", "seeds/source_trust"],
    ),
    (
        "marts/customer_360",
        [
            "intermediate/int_clock",
            "intermediate/int_customer__cart",
            "intermediate/int_customer__consent",
            "intermediate/int_customer__engagement",
            "intermediate/int_customer__enrichment",
            "intermediate/int_customer__orders",
            "intermediate/int_customer__profile",
            "marts/customer_events",
        ],
    ),
    (
        "marts/customer_events",
        [
            "marts/customer_identities",
            "staging/stg_app__events",
            "staging/stg_email__events",
            "staging/stg_email__subscribers",
            "staging/stg_erp__invoices",
            "staging/stg_partner__responses",
            "staging/stg_pos__transaction_lines",
            "staging/stg_shop__orders",
            "staging/stg_shop__products",
            "staging/stg_web__events",
        ],
    ),
    ("marts/customer_identities", ["identity/identity_inputs", "identity/record_customers"]),
    (
        "marts/customer_purchases",
        [
            "marts/customer_identities",
            "staging/stg_pos__transaction_lines",
            "staging/stg_shop__order_items",
            "staging/stg_shop__orders",
            "staging/stg_shop__products",
        ],
    ),
    ("seeds/blocked_identifiers", []),
    ("seeds/country_codes", []),
    ("seeds/nicknames", []),
    ("seeds/pos_stores", []),
    ("seeds/source_trust", []),
    ("segments/cart_abandoners", ["intermediate/int_clock", "marts/customer_360", "marts/customer_purchases"]),
    ("segments/consideration", ["intermediate/int_clock", "marts/customer_360", "marts/customer_events"]),
    (
        "segments/cross_sell",
        ["intermediate/int_clock", "marts/customer_360", "marts/customer_events", "marts/customer_purchases"],
    ),
    ("segments/lapsed_high_value", ["intermediate/int_clock", "marts/customer_360", "marts/customer_purchases"]),
    (
        "segments/orientation",
        ["intermediate/int_clock", "marts/customer_360", "marts/customer_events", "segments/consideration"],
    ),
    ("segments/repeat_purchase_due", ["intermediate/int_clock", "marts/customer_360", "marts/customer_purchases"]),
    ("segments/vip_loyalty", ["marts/customer_360"]),
    ("staging/stg_app__devices", ["staging/stg_app__events"]),
    ("staging/stg_app__events", ["dlt/app/events"]),
    ("staging/stg_broker__enrichment", ["dlt/broker/enrichment", "seeds/country_codes"]),
    ("staging/stg_crm__contacts", ["dlt/crm/contacts", "seeds/country_codes"]),
    ("staging/stg_email__events", ["dlt/email/events"]),
    ("staging/stg_email__subscribers", ["dlt/email/subscribers"]),
    ("staging/stg_erp__accounts", ["seeds/country_codes", "staging/stg_erp__invoices"]),
    ("staging/stg_erp__invoices", ["dlt/erp/invoices"]),
    ("staging/stg_partner__responses", ["dlt/partner/responses"]),
    ("staging/stg_pos__transaction_lines", ["dlt/pos/transactions"]),
    ("staging/stg_pos__transactions", ["seeds/pos_stores", "staging/stg_pos__transaction_lines"]),
    ("staging/stg_shop__customers", ["dlt/shop/customers", "seeds/country_codes"]),
    ("staging/stg_shop__order_items", ["dlt/shop/order_items"]),
    ("staging/stg_shop__orders", ["dlt/shop/orders"]),
    ("staging/stg_shop__products", ["dlt/shop/products"]),
    ("staging/stg_web__events", ["dlt/web/events"]),
    ("staging/stg_web__visitors", ["staging/stg_web__events"]),
    ("sync/cart_abandoners_email", ["segments/cart_abandoners"]),
    ("sync/cart_abandoners_file", ["segments/cart_abandoners"]),
    ("sync/cart_abandoners_webhook", ["segments/cart_abandoners"]),
    ("sync/consideration_braze", ["segments/consideration"]),
    ("sync/consideration_file", ["segments/consideration"]),
    ("sync/cross_sell_file", ["segments/cross_sell"]),
    ("sync/cross_sell_mailchimp", ["segments/cross_sell"]),
    ("sync/lapsed_high_value_file", ["segments/lapsed_high_value"]),
    ("sync/lapsed_high_value_meta", ["segments/lapsed_high_value"]),
    ("sync/orientation_file", ["segments/orientation"]),
    ("sync/orientation_google_ads", ["segments/orientation"]),
    ("sync/repeat_purchase_due_email", ["segments/repeat_purchase_due"]),
    ("sync/repeat_purchase_due_file", ["segments/repeat_purchase_due"]),
    ("sync/vip_loyalty_crm", ["segments/vip_loyalty"]),
    ("sync/vip_loyalty_file", ["segments/vip_loyalty"]),
]


@pytest.fixture(scope="session")
def real_defs():
    return definitions.defs()


def materializable_graph(defs) -> list[tuple[str, list[str]]]:
    graph = defs.resolve_asset_graph()
    return sorted(
        (key.to_user_string(), sorted(parent.to_user_string() for parent in graph.get(key).parent_keys))
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable
    )


def test_the_asset_graph_is_pinned(real_defs):
    actual = materializable_graph(real_defs)
    assert actual == ASSET_GRAPH, "asset graph changed; new literal:\n" + "\n".join(f"    {row!r}," for row in actual)


def test_the_nightly_job_and_schedule_cover_the_whole_graph(real_defs):
    job = real_defs.resolve_job_def(definitions.NIGHTLY_JOB)
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == {key for key, _ in ASSET_GRAPH}
    assert real_defs.resolve_schedule_def("nightly_at_2am").job_name == definitions.NIGHTLY_JOB


def test_dagster_loads_the_code_location_like_dagster_dev(tmp_path):
    """`dagster definitions validate` reads [tool.dagster] in pyproject.toml, as `dagster dev` does."""
    dagster = Path(sys.executable).with_name("dagster")
    environment = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [str(dagster), "definitions", "validate"],
        cwd=settings.PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "All code locations passed validation" in result.stderr + result.stdout
