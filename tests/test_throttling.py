"""Sign-in throttling that protects the account holder: growing waits per account and address, known devices that
keep signing in (OWASP's device cookies), resets and admins that lift locks, re-authentication under the same limits,
the client's address through trusted proxies, and exact limits under concurrent tries on both databases."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from matchmaker.app import create_app
from matchmaker.extensions import db
from matchmaker.models import AuditEvent, LoginAttempt, UserSession
from matchmaker.services import accounts
from tests.helpers import TEST_PASSWORD, login

WRONG = "not the password at all"


def post_login(client, email, password, address="127.0.0.1", **kwargs):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address}, **kwargs)


def age_attempts(seconds: float) -> None:
    """Move every recorded try back in time, as if ``seconds`` had passed."""
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.at -= timedelta(seconds=seconds)
    db.session.commit()


def known_device(app, user):
    """A browser that signed in to the account once (it keeps the device cookie), then signed out."""
    browser = app.test_client()
    assert post_login(browser, user.email, TEST_PASSWORD, "198.51.100.1").status_code == 302
    assert browser.get_cookie(app.config["DEVICE_COOKIE_NAME"]) is not None
    browser.post("/logout")
    return browser


def lock_account_for_unknown_devices(app, user):
    """The account's failures from unknown devices, each from another address (no pair waits)."""
    for n in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        assert post_login(app.test_client(), user.email, WRONG, f"203.0.113.{n + 1}").status_code == 401


def test_each_failure_of_an_account_and_address_pair_doubles_the_wait(app, make):
    user = make.user("partner", organisation=make.organisation())
    client = app.test_client()
    free = app.config["LOGIN_FREE_FAILURES"]
    for _ in range(free):
        assert post_login(client, user.email, WRONG).status_code == 401
    waits = []
    for _ in range(3):
        refused = post_login(client, user.email, TEST_PASSWORD)
        assert refused.status_code == 429 and "Wait" in refused.get_data(as_text=True)
        waits.append(int(refused.headers["Retry-After"]))
        age_attempts(waits[-1])
        assert post_login(client, user.email, WRONG).status_code == 401  # the wait is over: one more guess
    assert waits == [2, 4, 8]
    # Neither the account from another address nor another account from this address waits.
    assert post_login(app.test_client(), user.email, TEST_PASSWORD, "192.0.2.50").status_code == 302
    other = make.user("facilitator")
    assert post_login(app.test_client(), other.email, TEST_PASSWORD).status_code == 302


def test_the_holder_keeps_signing_in_from_a_known_device_while_unknown_devices_are_refused(app, make):
    user = make.user("admin")
    browser = known_device(app, user)
    lock_account_for_unknown_devices(app, user)
    refused = post_login(app.test_client(), user.email, TEST_PASSWORD, "192.0.2.9")
    assert refused.status_code == 429
    assert "devices it has not used before" in refused.get_data(as_text=True)
    # The holder's own browser, from a new address even, signs in.
    assert post_login(browser, user.email, TEST_PASSWORD, "192.0.2.77").status_code == 302
    assert browser.get("/account").status_code == 200
    # An attacker's device cookie for their own account, or a forged one, is no known device of this account.
    attacker_account = make.user("partner", organisation=make.organisation())
    attacker = known_device(app, attacker_account)
    assert post_login(attacker, user.email, TEST_PASSWORD).status_code == 429
    forged = app.test_client()
    forged.set_cookie(app.config["DEVICE_COOKIE_NAME"], browser.get_cookie(app.config["DEVICE_COOKIE_NAME"]).value[:-3]
                      + "abc")
    assert post_login(forged, user.email, TEST_PASSWORD).status_code == 429


def test_a_known_device_is_locked_on_its_own(app, make):
    user = make.user("delegate", member="BJ")
    browser = known_device(app, user)
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_DEVICE"]):
        assert post_login(browser, user.email, WRONG).status_code == 401  # no waits between a device's own tries
    refused = post_login(browser, user.email, TEST_PASSWORD)
    assert refused.status_code == 429 and "from this device" in refused.get_data(as_text=True)
    # The device's failures lock neither the account for other devices nor the address.
    assert post_login(app.test_client(), user.email, TEST_PASSWORD).status_code == 302


def test_a_completed_reset_lifts_the_accounts_locks(app, make):
    user = make.user("partner", organisation=make.organisation())
    lock_account_for_unknown_devices(app, user)
    assert post_login(app.test_client(), user.email, TEST_PASSWORD).status_code == 429
    token = accounts.make_token(user, "reset")
    db.session.commit()
    new_password = "a fresh password for spring"
    response = app.test_client().post(f"/reset/{token}", data={"password": new_password, "confirm": new_password})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(LoginAttempt.id)).where(LoginAttempt.email == user.email)) == 0
    assert post_login(app.test_client(), user.email, new_password, "192.0.2.3").status_code == 302


def test_an_admin_sees_and_lifts_locks(app, make, signed_in):
    user = make.user("partner", organisation=make.organisation())
    lock_account_for_unknown_devices(app, user)
    for n in range(app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]):
        post_login(app.test_client(), f"nobody{n}@example.org", WRONG, "192.0.2.200")
    facilitator = signed_in(make.user("facilitator"))
    assert facilitator.get("/admin/sign-in-locks").status_code == 403
    assert facilitator.post("/admin/sign-in-locks/clear", data={"kind": "account",
                                                                "subject": user.email}).status_code == 403
    admin = signed_in(make.user("admin"))
    page = admin.get("/admin/sign-in-locks").get_data(as_text=True)
    assert f"Account {user.email}, for devices it has not used before" in page
    assert "10 failed sign-ins; locked until" in page
    assert "Address 192.0.2.200, for unknown devices" in page
    response = admin.post("/admin/sign-in-locks/clear", data={"kind": "account", "subject": user.email},
                          follow_redirects=True)
    assert f"The lock on {user.email} was lifted (10 failed sign-ins forgotten)." in response.get_data(as_text=True)
    assert post_login(app.test_client(), user.email, TEST_PASSWORD, "192.0.2.4").status_code == 302
    assert post_login(app.test_client(), user.email, TEST_PASSWORD, "192.0.2.200").status_code == 429
    admin.post("/admin/sign-in-locks/clear", data={"kind": "address", "subject": "192.0.2.200"})
    assert post_login(app.test_client(), user.email, TEST_PASSWORD, "192.0.2.200").status_code == 302
    events = db.session.execute(select(AuditEvent.object_type, AuditEvent.object_id, AuditEvent.detail)
                                .where(AuditEvent.action == "sign_in.lock_cleared").order_by(AuditEvent.id)).all()
    assert [(kind, object_id) for kind, object_id, _detail in events] == [("user", user.id), ("signinlock", None)]
    assert events[1][2] == {"kind": "address", "address": "192.0.2.200", "failures": 20}
    assert "No sign-in is locked now." in admin.get("/admin/sign-in-locks").get_data(as_text=True)


def test_the_current_password_on_the_account_page_is_throttled_like_a_sign_in(app, make):
    user = make.user("delegate", member="BJ")
    browser, other = app.test_client(), app.test_client()
    login(browser, user)
    login(other, user)
    change = {"password-password": "a brand new secret", "password-confirm": "a brand new secret",
              "password-submit": "1"}
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_DEVICE"]):
        wrong = browser.post("/account", data={**change, "password-current": WRONG})
        assert "This is not your current password." in wrong.get_data(as_text=True)
    refused = browser.post("/account", data={**change, "password-current": TEST_PASSWORD})
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert accounts.verify_password(db.session.get(type(user), user.id).password_hash, TEST_PASSWORD)
    assert other.get("/account").status_code == 200  # the holder's other sessions were not ended
    assert db.session.scalar(select(func.count(UserSession.id)).where(UserSession.user_id == user.id)) == 2


@pytest.fixture
def behind_proxy(app, database_url):
    """The service behind one HTTPS proxy that adds X-Forwarded-For (TRUSTED_PROXIES=1)."""
    application = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "BASE_URL": "https://matchmaker.test",
                              "TRUSTED_PROXIES": 1})
    yield application
    with application.app_context():
        db.engine.dispose()


def test_behind_the_proxy_each_client_is_counted_at_its_own_address(app, behind_proxy, make):
    def through_proxy(client, email, password, forwarded):
        return client.post("/login", data={"email": email, "password": password},
                           headers={"X-Forwarded-For": forwarded})

    for n in range(app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]):
        assert through_proxy(behind_proxy.test_client(), f"nobody{n}@example.org", WRONG,
                             "203.0.113.66").status_code == 401
    user = make.user("facilitator")
    assert through_proxy(behind_proxy.test_client(), user.email, TEST_PASSWORD, "203.0.113.66").status_code == 429
    # Another client behind the same proxy signs in, and its session records its own address.
    assert through_proxy(behind_proxy.test_client(), user.email, TEST_PASSWORD, "198.51.100.23").status_code == 302
    db.session.rollback()  # a fresh read of what the other app wrote
    assert db.session.scalar(select(UserSession.address).where(UserSession.user_id == user.id)) == "198.51.100.23"
    # Only the hop the proxy added counts: a client cannot pick its address by sending the header itself.
    assert through_proxy(behind_proxy.test_client(), user.email, TEST_PASSWORD,
                         "198.51.100.23, 203.0.113.66").status_code == 429
    # Without trusted proxies the header is ignored altogether.
    assert app.test_client().post("/login", data={"email": user.email, "password": TEST_PASSWORD},
                                  headers={"X-Forwarded-For": "203.0.113.66"}).status_code == 302


PARALLEL = 80


def _parallel_sign_ins(app, tries, password=WRONG):
    """Each (email, address) of ``tries`` posted with ``password`` by its own thread, all released at once."""
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(tries))

    def attempt(email, address):
        client = app.test_client()
        barrier.wait(timeout=60)
        status = post_login(client, email, password, address).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=attempt, args=pair) for pair in tries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(statuses)


def test_parallel_wrong_sign_ins_from_one_address_check_exactly_the_limit(app, make):
    limit = app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    statuses = _parallel_sign_ins(app, [(f"guess{n}@example.org", "203.0.113.80") for n in range(PARALLEL)])
    assert statuses.count(401) == limit and statuses.count(429) == PARALLEL - limit, statuses


def test_parallel_wrong_sign_ins_to_one_account_check_exactly_the_limit(app, make):
    user = make.user("admin")
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    statuses = _parallel_sign_ins(app, [(user.email, f"10.0.{n // 250}.{n % 250 + 1}") for n in range(PARALLEL)])
    assert statuses.count(401) == limit and statuses.count(429) == PARALLEL - limit, statuses


def test_tries_older_than_the_window_are_removed_for_the_account_and_the_address(app, make):
    for n in range(5):
        post_login(app.test_client(), f"sprayed{n}@example.org", WRONG, "192.0.2.99")
    age_attempts(app.config["LOGIN_WINDOW_SECONDS"] + 1)
    post_login(app.test_client(), "someone@example.org", WRONG, "192.0.2.99")
    assert db.session.scalar(select(func.count(LoginAttempt.id))) == 1


def test_people_signing_in_at_the_same_moment_are_not_refused_for_each_others_tries(app, make):
    """A workshop: 40 people sign in at once from the venue's one address, half of them to one shared account;
    their tries being checked count towards no limit (only failures do), so nobody gets 429."""
    shared = make.user("delegate", member="BJ")
    others = [make.user("partner", organisation=make.organisation()) for _ in range(20)]
    tries = [(shared.email, "203.0.113.40")] * 20 + [(user.email, "203.0.113.40") for user in others]
    statuses = _parallel_sign_ins(app, tries, TEST_PASSWORD)
    assert statuses == [302] * 40, statuses


def test_a_sign_in_reads_its_limits_in_one_statement_and_locks_once_per_transaction(app, make):
    """The account's, the address's and the pair's tries are read by one statement, and each of the sign-in's two
    transactions takes its advisory locks (PostgreSQL) in one: fewer round trips while the locks are held."""
    user = make.user("delegate", member="BJ")
    seen = []

    def statement(_conn, _cursor, sql, *_args):
        seen.append(sql)

    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        assert post_login(app.test_client(), user.email, TEST_PASSWORD, "192.0.2.7").status_code == 302
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
    reads = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT") and "login_attempts" in sql]
    assert len(reads) == 1, reads
    if db.engine.dialect.name == "postgresql":
        assert sum("pg_advisory_xact_lock" in sql for sql in seen) == 2, seen
