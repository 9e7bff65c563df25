"""The rest_api kind against a real local HTTP server: pagination, bearer auth, 429 + Retry-After, incremental."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from ingest.config import load_config

TOKEN = "s3cret"
PAGE_SIZE = 2


class CrmApi:
    """A paginated contacts API: bearer token required, the first call of each page answers 429."""

    def __init__(self, contacts: list[dict]):
        self.contacts = contacts
        self.requests: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                api.requests.append({"path": url.path, "query": query, "auth": self.headers.get("Authorization")})
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self.reply(401, {"error": "unauthorized"})
                if sum(r["query"] == query for r in api.requests) == 1:
                    return self.reply(429, {"error": "slow down"}, {"Retry-After": "1"})
                since = query.get("updated_since", "")
                rows = sorted((c for c in api.contacts if c["updated_at"] >= since), key=lambda c: c["crm_id"])
                page = int(query.get("page", 0))
                chunk = rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
                more = (page + 1) * PAGE_SIZE < len(rows)
                following = dict(query, page=str(page + 1))
                next_url = f"http://127.0.0.1:{api.port}{url.path}?" + "&".join(
                    f"{k}={v}" for k, v in following.items()
                )
                self.reply(200, {"data": chunk, "next": next_url if more else None})

            def reply(self, status, body, headers=None):
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def status_codes_served(self) -> int:
        return len(self.requests)


def contact(crm_id: str, updated_at: str, first_name: str = "Ann") -> dict:
    return {"crm_id": crm_id, "first_name": first_name, "email": f"{crm_id}@example.com", "updated_at": updated_at}


@pytest.fixture
def api():
    server = CrmApi([contact(f"c{i}", f"2026-01-01T0{i}:00:00Z") for i in range(5)])
    yield server
    server.server.shutdown()


@pytest.fixture
def rest_config(api, monkeypatch):
    monkeypatch.setenv("CRM_API_TOKEN", TOKEN)
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.1")
    config = load_config()
    crm_api = config.sources["crm_api"].model_copy(
        update={"enabled": True, "base_url": f"http://127.0.0.1:{api.port}/api/"}
    )
    return config.model_copy(update={"sources": {"crm_api": crm_api}})


def test_pages_through_the_api_with_auth_and_retries(warehouse, api, rest_config):
    summary = warehouse.ingest(config=rest_config)

    assert summary.failed == {}
    assert summary.sources["crm_api"].tables["contacts"].loaded == 5
    assert warehouse.query("SELECT crm_id FROM raw_crm_api.contacts ORDER BY 1") == [(f"c{i}",) for i in range(5)]
    assert {r["auth"] for r in api.requests} == {f"Bearer {TOKEN}"}
    pages = {r["query"].get("page", "0") for r in api.requests}
    assert pages == {"0", "1", "2"}  # 5 contacts, 2 per page
    assert len(api.requests) == 6  # each page: one 429, then served after Retry-After


def test_incremental_cursor_and_merge(warehouse, api, rest_config):
    warehouse.ingest(config=rest_config)
    assert warehouse.ingest(config=rest_config).loaded == 0
    assert api.requests[-1]["query"]["updated_since"].startswith("2026-01-01T04:00:00")

    api.contacts[1] = contact("c1", "2026-01-02T09:00:00Z", first_name="Anna")
    api.contacts.append(contact("c9", "2026-01-02T10:00:00Z"))
    summary = warehouse.ingest(config=rest_config)

    assert summary.sources["crm_api"].tables["contacts"].loaded == 2
    assert warehouse.count("raw_crm_api.contacts") == 6
    assert warehouse.query("SELECT first_name FROM raw_crm_api.contacts WHERE crm_id = 'c1'") == [("Anna",)]


def test_wrong_or_missing_token_fails_the_source_only(warehouse, api, rest_config, monkeypatch):
    monkeypatch.setenv("CRM_API_TOKEN", "wrong")
    summary = warehouse.ingest(config=rest_config)
    assert "401" in summary.failed["crm_api"]

    monkeypatch.delenv("CRM_API_TOKEN")
    summary = warehouse.ingest(config=rest_config)
    assert "CRM_API_TOKEN is not set" in summary.failed["crm_api"]
