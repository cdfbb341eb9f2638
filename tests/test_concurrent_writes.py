"""Several gunicorn workers writing at once: no "database is locked", no 5xx, no lost acknowledged write."""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import Need
from tests.conftest import TEST_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
# `make test` runs a small round; `make stress` runs the catalogue's 16 clients x 50 writes (CONCURRENT_CLIENTS,
# CONCURRENT_WRITES).
CLIENTS = int(os.environ.get("CONCURRENT_CLIENTS", "8"))
WRITES = int(os.environ.get("CONCURRENT_WRITES", "6"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """A minimal cookie-keeping client that posts forms with their CSRF token, as a browser would."""

    def __init__(self, base: str, address: str | None = None):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())
        if address:  # a client at this address behind the (trusted) proxy
            self.opener.addheaders.append(("X-Forwarded-For", address))

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def token(self, path: str) -> str:
        status, html = self.request(path)
        assert status == 200, (path, status)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def server(app, database_url, tmp_path):
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="concurrency-test-secret", MATCHMAKER_ENV="development",
               BASE_URL=f"http://127.0.0.1:{port}", TRUSTED_PROXIES="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "4", "--bind", f"127.0.0.1:{port}", "--error-logfile", str(log),
         "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}", log
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


@pytest.mark.slow
def test_many_workers_write_at_once(app, make, server):
    base, log = server
    members = ("BJ", "SN", "HT", "KH")
    emails = [make.user("delegate", member=members[n % len(members)]).email for n in range(CLIENTS)]
    outcomes: list[tuple[str, int]] = []
    lock = threading.Lock()

    def delegate(email: str) -> None:
        browser = Browser(base)
        token = browser.token("/login")
        status, _ = browser.request("/login", {"email": email, "password": TEST_PASSWORD, "csrf_token": token})
        with lock:
            outcomes.append(("login", status))
        for i in range(WRITES):
            token = browser.token("/needs/new")
            status, _ = browser.request("/needs/new", {
                "csrf_token": token, "title": f"Concurrent need {email} {i}", "language": "en",
                "description": "Several delegations write at the same moment; none of them may lose a need.",
                "policy_areas": "skills", "support_kinds": "training", "delivery_languages": "en",
                "priority": "medium"})
            with lock:
                outcomes.append(("create", status))

    threads = [threading.Thread(target=delegate, args=(email,)) for email in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60 + 2 * WRITES * CLIENTS)
    statuses = [status for _, status in outcomes]
    assert len(outcomes) == CLIENTS * (WRITES + 1)
    assert all(status == 302 for status in statuses), statuses
    db.session.rollback()  # end this test's read snapshot to see what the workers committed
    created = db.session.scalar(select(func.count(Need.id)).where(Need.title.like("Concurrent need %")))
    assert created == CLIENTS * WRITES
    text = log.read_text() if log.exists() else ""
    assert "database is locked" not in text and "Traceback" not in text
