"""Several gunicorn workers writing at once: no "database is locked", no 5xx, no lost acknowledged write."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import Need
from tests.helpers import TEST_PASSWORD, Browser

ROOT = Path(__file__).resolve().parent.parent
# `make test` runs a small round; `make stress` runs the catalogue's 16 clients x 50 writes (CONCURRENT_CLIENTS,
# CONCURRENT_WRITES).
CLIENTS = int(os.environ.get("CONCURRENT_CLIENTS", "8"))
WRITES = int(os.environ.get("CONCURRENT_WRITES", "6"))


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
