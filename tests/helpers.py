"""What tests share besides fixtures: signing in through the real form, reading pages, waiting for a condition,
counting what the database holds, and a browser-like client for real servers. Fixtures live in conftest.py."""
from __future__ import annotations

import http.cookiejar
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from matchmaker.extensions import db

TEST_PASSWORD = "correct horse battery"


def login(client, user_or_email, password: str = TEST_PASSWORD, **form):
    """Sign in through the real form; returns the response."""
    email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
    return client.post("/login", data={"email": email, "password": password, **form})


def signed_in_client(app, user_or_email, password: str = TEST_PASSWORD):
    """A test client of ``app`` signed in as a user (or e-mail address), with the form's CSRF token when ``app``
    checks them. Tests use the ``signed_in`` fixture; this serves code outside pytest too (benchmarks)."""
    client = app.test_client()
    form = {}
    if app.config.get("WTF_CSRF_ENABLED"):
        form["csrf_token"] = csrf_token(client.get("/login").get_data(as_text=True))
    response = login(client, user_or_email, password, **form)
    assert response.status_code == 302, f"sign-in refused ({response.status_code})"
    return client


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def page_text(client, path: str) -> str:
    """A page as a reader compares it: every byte but the form tokens of the language switch, which carry the
    second they were made."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", client.get(path).get_data(as_text=True))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, seconds: float = 60) -> None:
    """Return as soon as ``condition()`` is true; fail if it is still false after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still not true after {seconds} s"
        time.sleep(0.01)


def wait_for(inbox, count=1):
    """The messages of the loopback SMTP server's inbox once it holds ``count`` (or after 5 s, whatever it holds)."""
    deadline = time.monotonic() + 5
    while len(inbox.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return inbox.messages


def row_counts() -> dict[str, int]:
    """Rows of every table, and the sum of versions of versioned records (an update bumps it), in one query."""
    db.session.rollback()
    columns = [select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in db.metadata.sorted_tables]
    for name in ("needs", "offerings", "matches"):
        table = db.metadata.tables[name]
        columns.append(select(func.coalesce(func.sum(table.c.version), 0)).scalar_subquery().label(name + ".version"))
    return dict(db.session.execute(select(*columns)).mappings().one())


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


ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def gunicorn(env: dict, port: int, workers: int, log: Path) -> Iterator[subprocess.Popen]:
    """gunicorn serving wsgi:app on 127.0.0.1:port until the block ends (then SIGTERM); fails the test if it does not
    listen within 30 s, with its error log."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--error-logfile", str(log), "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError("gunicorn did not start: " + (log.read_text() if log.exists() else ""))
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
