"""Who may look: local by default, a token everywhere else, checked on every page and API call."""

from __future__ import annotations

import re
import sqlite3

import pytest
from starlette.testclient import TestClient

from cdp.errors import CdpError
from cdp.ui.app import create_app
from cdp.ui.auth import COOKIE, Access, load_access, read_token_file

pytestmark = pytest.mark.slow  # a built warehouse (tests/ui/conftest.py)

TOKEN = "s3cret-token-for-tests"
PROTECTED = [
    "/segments",
    "/segments/cross_sell",
    "/profiles",
    "/syncs",
    "/identity",
    "/api/segments",
    "/api/identity",
    "/api/openapi.json",
]


@pytest.fixture
def guarded(warehouse_copy):
    with TestClient(create_app(warehouse_copy, Access({"anna": TOKEN}))) as test_client:
        yield test_client


def test_local_by_default_and_a_token_required_anywhere_else(tmp_path):
    assert not load_access("127.0.0.1").required
    with pytest.raises(
        CdpError, match=re.escape("--host 0.0.0.0: listening beyond this machine needs an access token")
    ):
        load_access("0.0.0.0")
    assert load_access("0.0.0.0", token=TOKEN).required
    tokens = tmp_path / "tokens"
    tokens.write_text("# who may look\nanna s3cret-token-anna\nbob  s3cret-token-bob\n")
    assert load_access("10.0.0.5", token_file=tokens).tokens == {"anna": "s3cret-token-anna", "bob": "s3cret-token-bob"}


def test_a_token_file_with_a_short_or_malformed_line_is_one_error(tmp_path):
    path = tmp_path / "tokens"
    path.write_text("anna short\n")
    with pytest.raises(CdpError, match="shorter than 12"):
        read_token_file(path)
    path.write_text("a b c\n")
    with pytest.raises(CdpError, match=r"tokens:1: expected `name token`"):
        read_token_file(path)


@pytest.mark.parametrize("path", PROTECTED)
def test_without_a_token_nothing_is_shown(guarded, path):
    response = guarded.get(path, follow_redirects=False)
    if path.startswith("/api/"):
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    else:
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    wrong = guarded.get(path, headers={"Authorization": "Bearer not-the-token"}, follow_redirects=False)
    assert wrong.status_code in (401, 303)


def test_a_profile_needs_the_token_too(guarded, tables):
    customer = tables["cart_member"]["customer_id"]
    assert guarded.get(f"/api/profiles/{customer}").status_code == 401
    assert guarded.get(f"/profiles/{customer}", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", PROTECTED)
def test_the_bearer_token_opens_every_page(guarded, path):
    assert guarded.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_the_sign_in_form_sets_a_cookie_that_opens_the_pages(guarded):
    assert guarded.get("/login").status_code == 200
    refused = guarded.post("/login", data={"token": "nope", "next": "/syncs"}, follow_redirects=False)
    assert refused.status_code == 401 and COOKIE not in refused.cookies
    signed_in = guarded.post("/login", data={"token": TOKEN, "next": "/syncs"}, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/syncs"
    assert "httponly" in signed_in.headers["set-cookie"].lower()
    assert guarded.get("/syncs").status_code == 200  # the client keeps the cookie
    elsewhere = guarded.post("/login", data={"token": TOKEN, "next": "//evil.example"}, follow_redirects=False)
    assert elsewhere.headers["location"] == "/segments"


def test_a_view_is_recorded_under_the_tokens_name(guarded, warehouse_copy, tables):
    customer = tables["cart_member"]["customer_id"]
    guarded.get(f"/api/profiles/{customer}", headers={"Authorization": f"Bearer {TOKEN}"})
    guarded.get(f"/api/profiles/{customer}")  # refused: not recorded
    with sqlite3.connect(warehouse_copy.parent / "ui" / "views.sqlite") as log:
        assert log.execute("select viewer, customer_id from profile_views").fetchall() == [("token:anna", customer)]
