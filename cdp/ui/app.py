"""The Starlette app: server-rendered pages and a read-only JSON API over the same queries.

`create_app(warehouse)` reads `<warehouse dir>/ui/published.duckdb` (never the live file; see
cdp/ui/publish.py) and records profile views in `<warehouse dir>/ui/views.sqlite`. Every
request passes the access check (cdp/ui/auth.py) first; only the stylesheet and the sign-in
form are open. The OpenAPI document is built from the same table that builds the API routes,
so it lists every endpoint.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from cdp.errors import CdpError
from cdp.ui import charts, queries
from cdp.ui.auth import COOKIE, Access, presented_token
from cdp.ui.publish import published_path, views_path
from cdp.ui.store import Published, ViewLog

OPEN_PATHS = ("/login", "/static/")
PER_PAGE = 50


class Workspace:
    """What every request shares: the published copy, the view log, the access rules."""

    def __init__(self, warehouse: Path, access: Access, views_file: Path | None = None):
        self.published = Published(published_path(warehouse))
        self.views = ViewLog(views_file or views_path(warehouse))
        self.access = access


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


class ApiResponse(JSONResponse):
    """JSON with timestamps as ISO 8601 text."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_json_default, ensure_ascii=False).encode("utf-8")


# -- access --------------------------------------------------------------------------------


class AccessCheck(BaseHTTPMiddleware):
    """Every page and API call: a valid token (or local use), else 401 for the API and the sign-in form for pages."""

    async def dispatch(self, request: Request, call_next):
        workspace: Workspace = request.app.state.workspace
        viewer = workspace.access.viewer(presented_token(request.headers, request.cookies))
        path = request.url.path
        if viewer is None and not path.startswith(OPEN_PATHS):
            if path.startswith("/api/"):
                return ApiResponse(
                    {"error": "an access token is required (Authorization: Bearer <token>)"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return RedirectResponse(f"/login?next={quote(str(request.url.path))}", status_code=303)
        request.state.viewer = viewer
        return await call_next(request)


def login_form(request: Request) -> Response:
    return page(request, "login.html", {"next": request.query_params.get("next", "/segments"), "error": None})


async def login(request: Request) -> Response:
    """The form posts the token; a right one becomes an HttpOnly cookie."""
    form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
    token, target = form.get("token", ""), form.get("next", "/segments")
    if not target.startswith("/") or target.startswith("//"):
        target = "/segments"  # no redirect to another site
    if request.app.state.workspace.access.viewer(token) is None:
        return page(request, "login.html", {"next": target, "error": "That token is not valid."}, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return response


# -- pages ---------------------------------------------------------------------------------

TEMPLATES = Jinja2Templates(
    env=Environment(loader=PackageLoader("cdp.ui", "templates"), autoescape=select_autoescape(), auto_reload=False)
)


_BOLD, _CODE = re.compile(r"\*\*(.+?)\*\*"), re.compile(r"`([^`]+)`")


def inline_markdown(text: str | None) -> Markup:
    """The little markdown dbt descriptions use (**bold**, `code`), after escaping everything else."""
    escaped = str(escape(text or ""))
    return Markup(_CODE.sub(r"<code>\1</code>", _BOLD.sub(r"<strong>\1</strong>", escaped)))


TEMPLATES.env.filters["md"] = inline_markdown


def page(request: Request, name: str, context: dict, status_code: int = 200) -> Response:
    context.setdefault("query", "")
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def reading(handler: Callable[[Request, Any], Response]) -> Callable[[Request], Response]:
    """Run a page or API handler with a cursor on the published copy; missing things are 404, no copy 503."""

    def endpoint(request: Request) -> Response:
        api = request.url.path.startswith("/api/")
        try:
            cur = request.app.state.workspace.published.cursor()
        except CdpError as error:
            return _error(request, api, 503, "No published data yet", str(error))
        try:
            return handler(request, cur)
        except queries.NotFound as error:
            return _error(request, api, 404, "Not found", str(error))
        finally:
            cur.close()

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def _error(request: Request, api: bool, status: int, title: str, message: str) -> Response:
    if api:
        return ApiResponse({"error": message}, status_code=status)
    return page(request, "error.html", {"status": status, "title": title, "message": message}, status_code=status)


def _spark(segment: dict) -> str:
    return charts.sparkline([point["size"] for point in segment["history"]])


@reading
def segments_page(request: Request, cur) -> Response:
    return page(
        request,
        "segments.html",
        {"segments": queries.segments_overview(cur), "spark": _spark, "published_at": queries.published_at(cur)},
    )


@reading
def segment_page(request: Request, cur) -> Response:
    detail = queries.segment_detail(cur, request.path_params["name"])
    members = queries.segment_members(
        cur,
        detail["segment"],
        search=request.query_params.get("search", ""),
        page=_int(request.query_params.get("page"), 1),
        per_page=PER_PAGE,
    )
    by = detail["breakdowns"]
    context = {
        "s": detail,
        "members": members,
        "pages": max(1, math.ceil(members["total"] / PER_PAGE)),
        "trend": charts.line_chart(
            [(point["run_at"], point["size"]) for point in detail["history"]], label=f"{detail['segment']} size"
        ),
        "charts": {
            key: charts.bar_chart([(r["value"], r["members"]) for r in by[key]][:12], label=key)
            for key in ("country", "lifecycle_stage", "channel")
        },
        "published_at": queries.published_at(cur),
    }
    return page(request, "segment.html", context)


@reading
def profiles_page(request: Request, cur) -> Response:
    query, by = request.query_params.get("q", "").strip(), request.query_params.get("by", "any")
    results = _search(cur, query, by) if query else []
    return page(request, "profiles.html", {"query": query, "by": by, "results": results})


def _search(cur, query: str, by: str) -> list[dict]:
    if by in ("email", "phone", "name", "record"):
        return queries.find_customers(cur, **{by: query})
    return queries.find_customers(cur, query=query)


@reading
def profile_page(request: Request, cur) -> Response:
    profile = queries.profile(cur, request.path_params["customer_id"])
    _record_view(request, profile["customer_id"])
    return page(
        request, "profile.html", {"p": profile, "c": profile["customer"], "published_at": queries.published_at(cur)}
    )


def _record_view(request: Request, customer_id: str) -> None:
    request.app.state.workspace.views.record(request.state.viewer, customer_id, request.url.path)


@reading
def syncs_page(request: Request, cur) -> Response:
    return page(
        request, "syncs.html", {"syncs": queries.syncs_overview(cur), "published_at": queries.published_at(cur)}
    )


@reading
def sync_page(request: Request, cur) -> Response:
    name = request.path_params["name"]
    runs = queries.sync_runs(cur, sync=name)
    if not runs and name not in {sync["name"] for sync in queries.syncs_overview(cur)}:
        raise queries.NotFound(f"no sync named {name!r}")
    context = {
        "name": name,
        "runs": runs,
        "errors": queries.sync_errors(cur, name),
        "published_at": queries.published_at(cur),
    }
    return page(request, "sync.html", context)


@reading
def identity_page(request: Request, cur) -> Response:
    summary = queries.identity_summary(cur)
    context = {
        "i": summary,
        "charts": {
            "rules": charts.bar_chart(
                [(r["link_rule"], r["records"]) for r in summary["link_rules"]], label="link rules"
            ),
            "sizes": charts.bar_chart(
                [(str(r["size"]), r["customers"]) for r in summary["cluster_sizes"]][:20], label="cluster sizes"
            ),
            "changes": charts.line_chart(
                [(str(r["night"]), r["merges"] + r["splits"]) for r in summary["changes_per_night"]],
                label="merges and splits",
            ),
        },
        "published_at": queries.published_at(cur),
    }
    return page(request, "identity.html", context)


def home(request: Request) -> Response:
    return RedirectResponse("/segments", status_code=307)


# -- the JSON API --------------------------------------------------------------------------


@reading
def api_segments(request: Request, cur) -> Response:
    """Every segment: size, change since the previous night, history, journey stage, syncs with their last status."""
    return ApiResponse({"segments": queries.segments_overview(cur)})


@reading
def api_segment(request: Request, cur) -> Response:
    """One segment: breakdowns, reach per sync after consent, overlap with every other segment."""
    return ApiResponse(queries.segment_detail(cur, request.path_params["name"]))


@reading
def api_segment_members(request: Request, cur) -> Response:
    """A page of members with why_in_segment (emails and phones masked)."""
    params = request.query_params
    return ApiResponse(
        queries.segment_members(
            cur,
            request.path_params["name"],
            search=params.get("search", ""),
            page=_int(params.get("page"), 1),
            per_page=_int(params.get("per_page"), PER_PAGE),
        )
    )


@reading
def api_profiles(request: Request, cur) -> Response:
    """Customers by email, phone, name or source record (normalised as staging does); masked."""
    params = request.query_params
    asked = {kind: params.get(kind, "") for kind in ("email", "phone", "name", "record", "q")}
    if not any(asked.values()):
        return ApiResponse({"error": "give one of email, phone, name, record or q"}, status_code=400)
    customers = queries.find_customers(
        cur, email=asked["email"], phone=asked["phone"], name=asked["name"], record=asked["record"], query=asked["q"]
    )
    return ApiResponse({"customers": customers})


@reading
def api_profile(request: Request, cur) -> Response:
    """One customer's whole profile, in full (the view is recorded)."""
    profile = queries.profile(cur, request.path_params["customer_id"])
    _record_view(request, profile["customer_id"])
    return ApiResponse(profile)


@reading
def api_sync_runs(request: Request, cur) -> Response:
    """Sync runs, newest first, with display_status ('not configured' for a sync skipped for missing credentials)."""
    params = request.query_params
    return ApiResponse(
        {"runs": queries.sync_runs(cur, sync=params.get("sync") or None, limit=_int(params.get("limit"), 200))}
    )


@reading
def api_identity(request: Request, cur) -> Response:
    """Records, customers, link-rule mix, cluster sizes, largest clusters, merges and splits per night."""
    return ApiResponse(queries.identity_summary(cur))


def _param(name: str, where: str = "query", required: bool = False, kind: str = "string", about: str = "") -> dict:
    return {"name": name, "in": where, "required": required, "schema": {"type": kind}, "description": about}


API = [  # path, handler, parameters: the routes and the OpenAPI document both come from here
    ("/api/segments", api_segments, []),
    ("/api/segments/{name}", api_segment, [_param("name", "path", True)]),
    (
        "/api/segments/{name}/members",
        api_segment_members,
        [
            _param("name", "path", True),
            _param("search"),
            _param("page", kind="integer"),
            _param("per_page", kind="integer"),
        ],
    ),
    (
        "/api/profiles",
        api_profiles,
        [
            _param("email", about="any form staging reads (case, spaces, gmail dots)"),
            _param("phone", about="E.164 or a national form"),
            _param("name", about="first and/or last name"),
            _param("record", about="source:source_record_id, a bare record id or a strong id"),
            _param("q", about="any of the above; its kind is guessed"),
        ],
    ),
    ("/api/profiles/{customer_id}", api_profile, [_param("customer_id", "path", True)]),
    ("/api/syncs/runs", api_sync_runs, [_param("sync"), _param("limit", kind="integer")]),
    ("/api/identity", api_identity, []),
]


def openapi_document() -> dict:
    paths = {}
    for path, handler, parameters in API:
        paths[path] = {
            "get": {
                "summary": (handler.__doc__ or "").strip().split("\n")[0],
                "operationId": handler.__name__,
                "parameters": parameters,
                "security": [{"bearer": []}],
                "responses": {
                    "200": {"description": "JSON", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "401": {"description": "a token is required and was not given or is not valid"},
                    "404": {"description": "no such segment, customer or sync"},
                    "503": {"description": "no published copy yet"},
                },
            }
        }
    paths["/api/openapi.json"] = {
        "get": {
            "summary": "This document.",
            "operationId": "openapi",
            "responses": {"200": {"description": "OpenAPI 3.1"}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cdp ui API",
            "version": "1",
            "description": "Read-only: segments, members, profiles, sync runs, identity.",
        },
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def api_openapi(request: Request) -> Response:
    return ApiResponse(openapi_document())


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


# -- the app -------------------------------------------------------------------------------


def create_app(warehouse: Path | str, access: Access | None = None, *, views_file: Path | None = None) -> Starlette:
    """The workspace over `<warehouse dir>/ui/published.duckdb`; local access unless tokens are given.

    `views_file` moves the view log elsewhere (the benchmark's views are nobody's).
    """
    routes = [
        Route("/", home),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/segments", segments_page),
        Route("/segments/{name}", segment_page),
        Route("/profiles", profiles_page),
        Route("/profiles/{customer_id}", profile_page),
        Route("/syncs", syncs_page),
        Route("/syncs/{name}", sync_page),
        Route("/identity", identity_page),
        Route("/api/openapi.json", api_openapi),
        *(Route(path, handler) for path, handler, _ in API),
        Mount("/static", app=StaticFiles(packages=[("cdp.ui", "static")]), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(AccessCheck)])
    app.state.workspace = Workspace(Path(warehouse).expanduser().resolve(), access or Access(), views_file)
    return app
