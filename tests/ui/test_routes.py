"""Every page and API endpoint of the workspace, on the small built warehouse (tests/ui/conftest.py)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from cdp.ui.app import API
from cdp.ui.mask import mask_email, mask_phone

pytestmark = pytest.mark.slow  # a built warehouse (tests/ui/conftest.py)

PAGES = ["/segments", "/segments/cross_sell", "/profiles", "/syncs", "/syncs/cross_sell_file", "/identity"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_answers(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert "/static/style.css" in response.text


def test_the_stylesheet_comes_from_the_package_and_no_page_loads_anything_from_elsewhere(client):
    assert client.get("/static/style.css").status_code == 200
    for path in PAGES:
        assert not re.search(r"""(src|href)=["']https?://""", client.get(path).text), path


def test_home_goes_to_the_segments(client):
    assert client.get("/", follow_redirects=False).headers["location"] == "/segments"


def test_the_segments_page_shows_each_size_as_in_the_tables_with_a_trend(client, tables):
    html = client.get("/segments").text
    for segment, size in tables["sizes"].items():
        row = re.search(rf'<tr data-segment="{segment}">(.*?)</tr>', html, re.S)
        assert row, segment
        assert f'<td class="num size">{size}</td>' in row.group(1)
        assert "<svg" in row.group(1)  # the sparkline of two nights
    assert "first night" not in html  # two publishes: a change since the previous night for all


def test_syncs_skipped_for_missing_credentials_show_as_not_configured(client, tables):
    assert tables["not_configured"], "the demo has destinations without credentials"
    html = client.get("/syncs").text
    for sync in tables["not_configured"]:
        row = re.search(rf'<tr data-sync="{sync}">(.*?)</tr>', html, re.S)
        assert row and "not configured" in row.group(1) and "success" not in row.group(1), sync
    runs = client.get("/api/syncs/runs", params={"sync": tables["not_configured"][0]}).json()["runs"]
    assert runs and {run["display_status"] for run in runs} == {"not configured"}


def test_one_segment_has_its_reach_overlap_breakdowns_trend_and_members(client, tables):
    html = client.get("/segments/cross_sell").text
    assert f'<strong id="segment-size">{tables["sizes"]["cross_sell"]}</strong>' in html
    for other in tables["sizes"]:
        if other != "cross_sell":
            assert f'<a href="/segments/{other}">{other}</a>' in html  # a row in the overlap table
    detail = client.get("/api/segments/cross_sell").json()
    assert {row["segment"] for row in detail["overlap"]} == set(tables["sizes"]) - {"cross_sell"}
    for row in detail["overlap"]:
        assert row["both"] + row["only_here"] == tables["sizes"]["cross_sell"]
        assert 0 <= row["jaccard"] <= 1
    assert {reach["purpose"] for reach in detail["reach"]} == {"email_marketing"}
    assert all(reach["reachable"] <= reach["members"] for reach in detail["reach"])
    assert sum(row["members"] for row in detail["breakdowns"]["country"]) == tables["sizes"]["cross_sell"]
    consent = {row["purpose"]: row for row in detail["breakdowns"]["consent"]}
    assert sum(consent["ads"][key] for key in ("yes", "no", "unknown")) == tables["sizes"]["cross_sell"]
    assert len(detail["history"]) == 3 and detail["change"] == 0
    assert detail["journey_stage"] == "retention" and "select" in detail["definition"].lower()


def test_members_are_paged_searchable_and_masked(client, tables):
    first = client.get("/api/segments/cross_sell/members", params={"per_page": 10}).json()
    second = client.get("/api/segments/cross_sell/members", params={"per_page": 10, "page": 2}).json()
    assert first["total"] == tables["sizes"]["cross_sell"] and len(first["members"]) == 10
    assert not {m["customer_id"] for m in first["members"]} & {m["customer_id"] for m in second["members"]}
    found = client.get("/api/segments/cross_sell/members", params={"search": "in the cart"}).json()
    assert found["total"] >= 1 and all("in the cart" in m["why_in_segment"] for m in found["members"])
    for member in first["members"]:
        assert member["email"] is None or "***@" in member["email"]
        assert member["phone"] is None or "•••" in member["phone"]
    html = client.get("/segments/cross_sell", params={"search": "in the cart"}).text
    assert f'<span class="muted" id="member-total">{found["total"]} matching</span>' in html


def test_a_person_is_found_by_email_phone_name_and_record_as_staging_reads_them(client, tables):
    person = tables["cart_member"]
    messy_email = "  " + person["email"].upper() + " "
    by_email = client.get("/api/profiles", params={"email": messy_email}).json()["customers"]
    assert [c["customer_id"] for c in by_email] == [person["customer_id"]]
    assert by_email[0]["email"] == mask_email(person["email"]) and by_email[0]["phone"] == mask_phone(person["phone"])
    national = "00" + person["phone"][1:]  # 0031 6..., the international prefix written out
    assert person["customer_id"] in ids(client.get("/api/profiles", params={"phone": national}))
    profile = client.get(f"/api/profiles/{person['customer_id']}").json()
    record = profile["records"][0]
    assert person["customer_id"] in ids(
        client.get("/api/profiles", params={"record": f"{record['source']}:{record['source_record_id']}"})
    )
    name = f"{profile['customer']['first_name']} {profile['customer']['last_name']}".upper()
    assert person["customer_id"] in ids(client.get("/api/profiles", params={"name": name}))
    html = client.get("/profiles", params={"q": messy_email}).text
    assert f'href="/profiles/{person["customer_id"]}"' in html and person["email"] not in html


def test_a_profile_shows_the_match_weights_of_a_splink_link(client, tables):
    customer_id = tables["probabilistic_customer"]
    records = client.get(f"/api/profiles/{customer_id}").json()["records"]
    linked = next(record for record in records if record["link_rule"] == "probabilistic")
    assert linked["linked_to"] and {w["comparison"] for w in linked["weights"]} >= {"first_name", "last_name"}
    html = client.get(f"/profiles/{customer_id}").text
    assert "match weights" in html and f"to {linked['linked_to']}" in html


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [customer["customer_id"] for customer in response.json()["customers"]]


def test_a_profile_shows_everything_in_full(client, tables):
    person = tables["cart_member"]
    html = client.get(f"/profiles/{person['customer_id']}").text
    assert person["email"] in html and person["phone"] in html  # in full on the profile
    assert "cross_sell" in html and "in the cart" in html  # the segment and why
    profile = client.get(f"/api/profiles/{person['customer_id']}").json()
    assert {field["field"] for field in profile["golden_record"]} >= {"first_name", "email", "phone"}
    assert any(field["source"] for field in profile["golden_record"] if field["field"] == "email")
    assert all(record["link_rule"] for record in profile["records"])
    assert {c["purpose"] for c in profile["consent"]} == {"email_marketing", "ads"}
    assert profile["timeline"] and any(event["product_name"] for event in profile["timeline"])
    assert "cross_sell" in {segment["segment"] for segment in profile["segments"]}
    assert all({"sync_name", "logged_at", "operation"} <= set(sent) for sent in profile["sent"])


def test_every_profile_view_is_recorded(client, warehouse_copy, tables):
    import sqlite3

    person = tables["cart_member"]["customer_id"]
    client.get(f"/profiles/{person}")
    client.get(f"/api/profiles/{person}")
    client.get("/profiles", params={"q": tables["cart_member"]["email"]})  # a search is no profile view
    with sqlite3.connect(warehouse_copy.parent / "ui" / "views.sqlite") as log:
        views = log.execute(
            "select viewer, customer_id, path, viewed_at from profile_views order by view_id"
        ).fetchall()
    assert [(customer, path) for _, customer, path, _ in views] == [
        (person, f"/profiles/{person}"),
        (person, f"/api/profiles/{person}"),
    ]
    assert all(viewer.startswith("local:") and viewed_at for viewer, _, _, viewed_at in views)


def test_unknown_things_are_404(client):
    assert client.get("/segments/nope").status_code == 404
    assert client.get('/segments/x"; drop table y; --').status_code == 404
    assert client.get("/profiles/C000000000000").status_code == 404
    assert client.get("/syncs/nope").status_code == 404
    assert client.get("/api/segments/nope/members").status_code == 404
    assert client.get("/api/profiles/C000000000000").json()["error"]
    assert client.get("/api/profiles").status_code == 400


@pytest.mark.parametrize("path", ["/api/segments", "/api/syncs/runs", "/api/identity", "/api/openapi.json"])
def test_every_api_endpoint_answers_json(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"


def test_the_api_lists_segments_with_sizes_and_syncs(client, tables):
    segments = {s["segment"]: s for s in client.get("/api/segments").json()["segments"]}
    assert {name: s["size"] for name, s in segments.items()} == tables["sizes"]
    assert all(sync["last_status"] for s in segments.values() for sync in s["syncs"])


def test_the_identity_page_and_api_count_records_and_customers(client, built):
    import duckdb

    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        records, customers = con.execute(
            "select count(*), count(distinct customer_id) from identity.record_customers"
        ).fetchone()
    summary = client.get("/api/identity").json()
    assert (summary["records"], summary["customers"]) == (records, customers)
    assert sum(rule["records"] for rule in summary["link_rules"]) == records
    assert sum(size["customers"] for size in summary["cluster_sizes"]) == customers
    assert summary["changes_per_night"] and summary["largest_clusters"]
    html = client.get("/identity").text
    assert f'<strong id="records-count">{records}</strong>' in html


def test_the_openapi_document_lists_every_api_route(client):
    document = client.get("/api/openapi.json").json()
    routes = {route.path for route in client.app.routes if route.path.startswith("/api/")}
    assert set(document["paths"]) == routes
    assert {path for path, _, _ in API} | {"/api/openapi.json"} == routes
    for path, operations in document["paths"].items():
        for name in re.findall(r"{(\w+)}", path):
            assert any(p["name"] == name and p["in"] == "path" for p in operations["get"]["parameters"]), path


def test_a_profile_link_from_a_member_list_works(client):
    html = client.get("/segments/vip_loyalty").text
    customer = re.search(r'href="/profiles/(C[0-9a-f]+)"', html).group(1)
    assert client.get(f"/profiles/{quote(customer)}").status_code == 200
