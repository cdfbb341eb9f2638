"""Browser fixtures: the demo served by a real gunicorn, and Debian's Chromium driven by Playwright.

The server gets a database of its own (SQLite in a temporary folder, built with `flask db upgrade` and
`flask seed-demo` exactly as `make run` builds it), so that the suite's per-test cleaning never empties it
under the browser. The browser tests run in the SQLite pass only: the pages are the same on PostgreSQL, where
the rest of the suite covers the database.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import free_port, gunicorn

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
DEMO_PASSWORD = "demo-password-2026"
ACCOUNTS = {
    "admin": "admin@example.org",
    "facilitator": "facilitator@example.org",
    "delegate": "delegate@example.org",
    "partner": "partner@example.org",
}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
                 "--disable-extensions", "--metrics-recording-only", "--mute-audio"]


def _why_skip() -> str | None:
    if os.environ.get("MATCHMAKER_TEST_DB"):
        return "browser tests run in the SQLite pass only (the pages do not depend on the database)"
    if not CHROMIUM.exists():
        return "Debian's chromium is not installed (/usr/bin/chromium); .ci/run installs it"
    if not AXE.exists():
        return "node_modules/axe-core is missing: run `make install` (needs npm)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: run `make install`"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    """Skip without a browser, with the reason; but CI (CI=true) must run these tests, so there it fails."""
    reason = _why_skip()
    if reason:
        if os.environ.get("CI") and not os.environ.get("MATCHMAKER_TEST_DB"):
            pytest.fail(f"CI must run the browser tests, but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/: screenshots and the figures of the last run (git-ignored)."""
    shutil.rmtree(ARTIFACTS / "screenshots", ignore_errors=True)
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.json"):
        old.unlink()
    return ARTIFACTS


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> str:
    """The demo, migrated and seeded by the real CLI, served by gunicorn on a free loopback port."""
    folder = tmp_path_factory.mktemp("e2e")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{folder / 'e2e.db'}", SECRET_KEY="browser-test-secret",
               MATCHMAKER_ENV="development", BASE_URL=base, FLASK_APP="wsgi.py")
    env.pop("MAIL_SERVER", None)
    flask = [sys.executable, "-m", "flask"]
    for command in (["db", "upgrade"], ["seed-demo"]):
        done = subprocess.run(flask + command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"flask {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    log = folder / "gunicorn.log"
    with gunicorn(env, port, 2, log):
        yield base
    text = log.read_text() if log.exists() else ""
    assert "Traceback" not in text, text


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watch:
    """What a page asks for: every request must stay on the server; the bodies it receives are added up.

    The browser cache is off (through the DevTools protocol), so every load is a first load."""

    def __init__(self, page, base: str):
        self.page = page
        self.host = urlsplit(base).netloc
        self.foreign: list[str] = []
        self.responses: list = []
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.on("request", self._request)
        page.on("response", lambda response: self.responses.append(response))

    def _request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "about", "blob") and parts.netloc != self.host:
            self.foreign.append(request.url)

    def load(self, url: str) -> dict[str, int]:
        """Go to ``url``; the bytes of each response received on the way (redirects have none)."""
        self.responses.clear()
        self.page.goto(url, wait_until="load")
        sizes = {}
        for response in self.responses:
            try:
                sizes[urlsplit(response.url).path] = len(response.body())
            except Exception:  # redirects have no body to read
                sizes[urlsplit(response.url).path] = 0
        return sizes


@pytest.fixture(scope="session")
def sign_in(browser, live_server):
    """A browser context signed in as a demo role (signed in once per role; the session cookie is reused)."""
    states: dict[str, dict] = {}

    def _sign_in(role: str | None, **options):
        if role is not None and role not in states:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{live_server}/login")
            page.fill("#email", ACCOUNTS[role])
            page.fill("#password", DEMO_PASSWORD)
            page.press("#password", "Enter")
            page.wait_for_url(f"{live_server}/")
            states[role] = context.storage_state()
            context.close()
        return browser.new_context(storage_state=states.get(role), **options)

    return _sign_in


def choose_language(page, lang: str) -> None:
    """Switch with the form every page carries, as a user would, unless the page is already in ``lang``."""
    if page.get_attribute("html", "lang") != lang:
        with page.expect_navigation():
            page.click(f'form.lang button[value="{lang}"]')
    assert page.get_attribute("html", "lang") == lang


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def run_axe(page) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA and best-practice checks on the page as it is."""
    # Evaluated through the DevTools protocol rather than added as a <script>: the page's Content-Security-Policy
    # (script-src 'self') stays in force, as users get it.
    page.evaluate(_axe_source() + "\n;true")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
    }""")
    return result


def record_figures(artifacts: Path, name: str, key: str, value) -> None:
    """Adds one figure to test-artifacts/<name>.json (the closing note's numbers come from there)."""
    path = artifacts / f"{name}.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True))
