"""The `rest_api` kind: a paginated JSON API into raw_<source>, incremental, with auth.

What it loads: each table listed under the source from `base_url` + `path`, page by
page (dlt's rest_api source; paginator from the config, e.g. a `next` link in the
body), records found at `data_selector`. Incremental: the last seen `cursor` value
(e.g. `updated_at`) is kept in dlt's state and sent as the `cursor_param` query
parameter, so a re-run asks only for what changed; rows merge on `primary_key`.
Rate limits: 429 and 5xx are retried with exponential backoff, honouring Retry-After
(dlt's HTTP client; tune with RUNTIME__REQUEST_MAX_ATTEMPTS and
RUNTIME__REQUEST_BACKOFF_FACTOR).

Settings (ingest/sources.yml): `base_url`, `auth.token_env` (the environment variable
holding a bearer token; the token itself is never in the file), `paginator`, and per
table `path`, `data_selector`, `params`, `cursor`, `cursor_param`, `primary_key`,
`write_disposition`.

Run it alone: `cdp ingest --source crm_api` (after `enabled: true`).
"""

from __future__ import annotations

import os

from dlt.sources.rest_api import rest_api_source

from ingest.config import SCHEMA_CONTRACT, RestSource, RestTable

EARLIEST = "1970-01-01T00:00:00Z"


class MissingSetting(Exception):
    """A setting the source needs is not there (e.g. its token variable)."""


def rest_source(name: str, spec: RestSource):
    client: dict = {"base_url": spec.base_url, "paginator": spec.paginator}
    if spec.auth:
        token = os.environ.get(spec.auth.token_env)
        if not token:
            raise MissingSetting(f"environment variable {spec.auth.token_env} is not set (auth token for {name})")
        client["auth"] = {"type": "bearer", "token": token}
    config = {
        "client": client,
        "resources": [_resource(table, table_spec) for table, table_spec in spec.tables.items()],
    }
    source = rest_api_source(config, name=name)
    source.schema_contract = SCHEMA_CONTRACT
    return source


def _resource(table: str, spec: RestTable) -> dict:
    endpoint: dict = {"path": spec.path, "params": dict(spec.params)}
    if spec.data_selector:
        endpoint["data_selector"] = spec.data_selector
    if spec.cursor:
        endpoint["incremental"] = {"cursor_path": spec.cursor, "initial_value": EARLIEST}
        if spec.cursor_param:
            endpoint["params"][spec.cursor_param] = "{incremental.start_value}"
    return {
        "name": table,
        "endpoint": endpoint,
        "primary_key": spec.primary_key or None,
        "write_disposition": spec.dlt_write_disposition,
    }
