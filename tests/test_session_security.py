"""Sessions and passwords as production runs them: cookie flags, fixation, replays, timeouts, weak passwords,
and throttling that holds across gunicorn workers."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from flask import session
from sqlalchemy import event, func, select

from matchmaker.app import load_user
from matchmaker.extensions import db
from matchmaker.models import LoginAttempt, Notification, User, UserSession
from matchmaker.models.base import utcnow
from matchmaker.services import accounts
from tests.helpers import TEST_PASSWORD, Browser, csrf_token, login

HTTPS = "https://matchmaker.test"


def _prod_login(client, email, password=TEST_PASSWORD):
    token = csrf_token(client.get("/login", base_url=HTTPS).get_data(as_text=True))
    return client.post("/login", base_url=HTTPS, headers={"Referer": HTTPS + "/login"},
                       data={"email": email, "password": password, "csrf_token": token})


def test_production_session_cookie_flags(production_app, make):
    user = make.user("facilitator")
    client = production_app.test_client()
    response = _prod_login(client, user.email)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookies[0].split(";")[1:]}
    assert "secure" in attributes and "httponly" in attributes
    assert attributes["samesite"].lower() in ("samesite=lax", "samesite=strict")
    assert attributes["path"] == "Path=/" and "domain" not in attributes  # what the __Host- prefix demands
    # No other cookie (e.g. a remember-me cookie) outlives the session.
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")
                and "Expires=Thu, 01 Jan 1970" not in c]
    assert client.get("/account", base_url=HTTPS).status_code == 200


def test_a_planted_session_is_not_adopted_at_login(app, make):
    """Session fixation: a cookie handed to the victim before sign-in is worth nothing to whoever planted it."""
    user = make.user("admin")
    attacker = app.test_client()
    attacker.get("/login")
    attacker.post("/language", data={"language": "fr"})
    planted = attacker.get_cookie("session").value
    victim = app.test_client()
    victim.set_cookie("session", planted)
    assert login(victim, user).status_code == 302
    assert victim.get_cookie("session").value != planted
    assert attacker.get("/account").status_code == 302


def _replay(app, cookie):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get("/account")


def test_old_cookies_are_refused_after_logout_password_change_and_disabling(app, make, signed_in):
    user, admin = make.user("partner", organisation=make.organisation()), make.user("admin")
    replays = []
    # Logout.
    client = signed_in(user)
    cookie = client.get_cookie("session").value
    client.post("/logout")
    replays.append(("logout", _replay(app, cookie).status_code))
    # Password change, in the same browser: the cookie it had before the change is dead.
    login(client, user)
    cookie = client.get_cookie("session").value
    response = client.post("/account", data={"password-current": TEST_PASSWORD,
                                             "password-password": "a brand new secret",
                                              "password-confirm": "a brand new secret", "password-submit": "1"})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    replays.append(("password change", _replay(app, cookie).status_code))
    # Disabling by an admin.
    cookie = client.get_cookie("session").value
    boss = signed_in(admin)
    response = boss.post(f"/admin/users/{user.id}", data={"name": user.name, "role": "partner", "language": "en",
                                                          "organisation": str(user.organisation_id)})
    assert response.status_code == 302
    replays.append(("disabled", _replay(app, cookie).status_code))
    # Re-enabled, the old cookie still does not come back to life.
    db.session.refresh(user)
    user.active = True
    db.session.commit()
    replays.append(("re-enabled", _replay(app, cookie).status_code))
    assert replays == [("logout", 302), ("password change", 302), ("disabled", 302), ("re-enabled", 302)]


@pytest.mark.parametrize("field,age,alive", [("last_seen_at", timedelta(hours=1), True),
                                              ("last_seen_at", timedelta(hours=2, minutes=1), False),
                                              ("created_at", timedelta(hours=11), True),
                                              ("created_at", timedelta(hours=12, minutes=1), False)])
def test_idle_and_absolute_timeouts(app, make, field, age, alive, signed_in):
    user = make.user("facilitator")
    client = signed_in(user)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    setattr(row, field, getattr(row, field) - age)
    if field == "created_at":
        row.last_seen_at = row.last_seen_at  # seen a moment ago: only the absolute limit applies
    db.session.commit()
    assert (client.get("/account").status_code == 200) is alive


@pytest.mark.parametrize("password", ["1234567890", "qwertyuiop", "Password12", "1q2w3e4r5t", "basketball"])
def test_common_passwords_are_refused(app, make, password, signed_in):
    user = make.user("delegate", member="BJ")
    client = signed_in(user)
    response = client.post("/account", data={"password-current": TEST_PASSWORD, "password-password": password,
                                              "password-confirm": password, "password-submit": "1"})
    assert response.status_code == 422
    assert "too easy to guess" in response.get_data(as_text=True)
    assert login(app.test_client(), user).status_code == 302  # the old password still works


def test_common_password_list_is_the_published_one():
    from matchmaker.auth.forms import common_passwords

    words = common_passwords()
    assert len(words) == 19640 and "password" in words and "correct horse battery" not in words


@pytest.mark.slow
def test_fifty_wrong_passwords_across_four_workers(app, make, server):
    """Wrong passwords for one account sent in parallel to 4 gunicorn workers, each from another address behind the
    proxy (no address or pair limit applies): none is checked beyond the account's limit for unknown devices."""

    base, log = server
    user = make.user("partner", organisation=make.organisation())
    email = user.email
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    statuses: list[int] = []
    lock = threading.Lock()

    def attack(worker: int, n: int) -> None:
        for i in range(n):
            browser = Browser(base, address=f"203.0.113.{worker * 20 + i + 1}")
            token = browser.token("/login")
            status, _ = browser.request("/login", {"email": email, "password": f"guess {i}", "csrf_token": token})
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=attack, args=(worker, n)) for worker, n in enumerate((13, 13, 12, 12))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert len(statuses) == 50
    checked = statuses.count(401)
    assert checked == limit and statuses.count(429) == 50 - limit, statuses
    db.session.rollback()  # end this test's read snapshot to see what the workers committed
    assert db.session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.email == email)) == limit
    # The real user on a device the account has not used is refused during the window, and let in once it has passed.
    browser = Browser(base, address="198.51.100.8")
    status, _ = browser.request("/login", {"email": user.email, "password": TEST_PASSWORD,
                                           "csrf_token": browser.token("/login")})
    assert status == 429
    db.session.rollback()
    for attempt in db.session.scalars(select(LoginAttempt)).all():
        attempt.at = attempt.at - timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"] + 1)
    db.session.commit()
    status, _ = browser.request("/login", {"email": user.email, "password": TEST_PASSWORD,
                                           "csrf_token": browser.token("/login")})
    assert status == 302
    assert db.session.get(User, user.id) is not None


@pytest.mark.parametrize("role, side", [("delegate", "member"), ("partner", "organisation")])
def test_a_signed_in_request_reads_its_session_user_and_side_in_one_statement(app, make, role, side):
    user = make.user(role, member="BJ" if role == "delegate" else None,
                     organisation=make.organisation("ITU") if role == "partner" else None)
    token = accounts.start_session(user, "127.0.0.1")
    db.session.commit()
    user_id = user.id
    db.session.expunge_all()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with app.test_request_context("/"):
            session["sid"] = token
            loaded = load_user(str(user_id))
            assert getattr(loaded, side) is not None and loaded.unread_messages == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1, statements


def test_the_navigation_counts_the_unread_messages_of_the_signed_in_user(app, make, signed_in):
    client = signed_in("delegate")
    delegate = db.session.scalar(select(User).where(User.role == "delegate"))
    other = make.user("delegate", member="SN")
    for user, read_at in ((delegate, None), (delegate, None), (delegate, utcnow()), (other, None)):
        db.session.add(Notification(user_id=user.id, subject="Introduction", body="You were introduced.",
                                    read_at=read_at))
    db.session.commit()
    assert re.findall(r'class="badge">(\d+)', client.get("/").get_data(as_text=True)) == ["2"]
    client.post("/inbox/read")
    assert 'class="badge"' not in client.get("/").get_data(as_text=True)


def test_a_sign_in_ends_with_its_commit_and_its_answer_is_private(app, make):
    """Marking the answer private (Cache-Control: no-store) reads nothing the commit expired (a query more)."""
    user = make.user("delegate", member="BJ")
    db.session.commit()
    client = app.test_client()
    client.get("/login")
    sent: list[str] = []

    def note_statement(*args):
        sent.append(args[2].split()[0])

    def note_commit(_session):
        sent.append("COMMIT")

    event.listen(db.engine, "before_cursor_execute", note_statement)
    event.listen(db.session, "after_commit", note_commit)
    try:
        answer = login(client, user)
    finally:
        event.remove(db.engine, "before_cursor_execute", note_statement)
        event.remove(db.session, "after_commit", note_commit)
    assert answer.status_code == 302 and answer.headers["Cache-Control"] == "no-store"
    assert sent[-1] == "COMMIT", sent
