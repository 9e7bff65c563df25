"""The marketer workspace: `cdp ui`, a local web app over the published copy of the warehouse.

Why Starlette + Jinja2, server-rendered: both are already installed (Dagster's webserver and
dbt bring them), so the workspace adds no dependency; pages are plain HTML that work without
JavaScript, render the same in a test client and a browser, and charts are SVG written in
Python (cdp/ui/charts.py), so nothing is fetched from a CDN and every asset is in this
package. Starlette's routing, middleware and TestClient cover what a page app needs without
a framework's ORM or form layer; the JSON API is a second set of routes over the same query
functions (cdp/ui/queries.py), so pages and API cannot disagree.

Modules: publish (the nightly run's step: size history, the view log, the published copy),
store (read-only copy, reopened when replaced; the SQLite view log), queries (every figure a
page shows), mask, charts, auth (local by default, tokens when exposed), app (routes), cli.
"""
