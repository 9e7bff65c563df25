"""The workspace in a real headless Chromium (Debian's package, driven by Playwright).

Browser downloads do not work here, so Playwright drives /usr/bin/chromium through
`executable_path`; `python3 dev.py test` installs it (apt-get) when it runs as root. A
missing browser fails these tests with one line, never skips them: a skipped browser test
is not a passing one.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a built warehouse (tests/ui/conftest.py)

CHROMIUM = Path("/usr/bin/chromium")
MISSING = f"{CHROMIUM} is missing: run `python3 dev.py test` as root (it runs apt-get install -y chromium), or install Debian's chromium package"


@pytest.fixture(scope="module")
def server(built, tmp_path_factory):
    """The app on a free local port, in a thread of this process."""
    import shutil

    import uvicorn

    from cdp.ui.app import create_app

    folder = tmp_path_factory.mktemp("browser") / "warehouse"
    shutil.copytree(built.warehouse.parent, folder, ignore=shutil.ignore_patterns("*.dlt", "exports", "logs"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(folder / built.warehouse.name), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started, "the app did not start"
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(MISSING, pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: python3 dev.py test installs the [test] extra", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("requestfailed", lambda request: errors.append(f"failed: {request.url}"))
    yield opened
    context.close()
    assert not errors, errors


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/segments", "Segments"),
        ("/segments/cross_sell", "Segment cross_sell"),
        ("/profiles", "Profile explorer"),
        ("/syncs", "Syncs"),
        ("/syncs/cross_sell_file", "Sync cross_sell_file"),
        ("/identity", "Identity"),
    ],
)
def test_each_page_opens(server, page, path, heading):
    response = page.goto(server + path)
    assert response.status == 200
    assert page.locator("h1").inner_text().startswith(heading)
    assert page.locator("link[rel=stylesheet]").evaluate("link => link.sheet.cssRules.length") > 0
    if path.startswith("/segments/") or path == "/identity":
        assert page.locator("svg.chart").count() >= 1


def test_search_a_person_by_email_and_open_her_profile(server, page, tables):
    person = tables["cart_member"]
    page.goto(server + "/segments")
    search = page.get_by_role("searchbox", name="Find a person")
    search.fill(f" {person['email'].upper()} ")
    search.press("Enter")
    page.wait_for_url(re.compile(r"/profiles\?q="))
    results = page.locator("#results tbody tr")
    assert results.count() == 1
    assert person["email"] not in results.inner_text()  # masked in the list
    page.locator(f'#results a[href="/profiles/{person["customer_id"]}"]').click()
    page.wait_for_url(re.compile(person["customer_id"]))
    assert person["email"] in page.locator("#identifiers").inner_text()  # in full on the profile
    segments = page.locator("#profile-segments").inner_text()
    assert "cross_sell" in segments and "in the cart" in segments


def test_open_a_segment_and_its_sizes_match_the_tables(server, page, tables):
    page.goto(server + "/segments")
    for segment, size in tables["sizes"].items():
        assert page.locator(f'tr[data-segment="{segment}"] td.size').inner_text() == str(size)
    page.get_by_role("link", name="cross_sell", exact=True).first.click()
    page.wait_for_url(re.compile(r"/segments/cross_sell$"))
    assert page.locator("#segment-size").inner_text() == str(tables["sizes"]["cross_sell"])
    overlap = page.locator("#overlap tbody tr")
    assert overlap.count() == len(tables["sizes"]) - 1
    for row in range(overlap.count()):
        cells = overlap.nth(row).locator("td")
        both, only_here = int(cells.nth(1).inner_text()), int(cells.nth(2).inner_text())
        assert both + only_here == tables["sizes"]["cross_sell"]
    page.get_by_role("searchbox", name="Search members").fill("in the cart")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"search=in"))
    rows = page.locator("#members tbody tr")
    assert rows.count() >= 1
    assert all("in the cart" in rows.nth(i).inner_text() for i in range(rows.count()))
