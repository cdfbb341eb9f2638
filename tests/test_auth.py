"""Sign-in, throttling, sessions that really end, invitations and password resets."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from config import ProductionConfig
from matchmaker.extensions import db
from matchmaker.models import AuditEvent, LoginAttempt, User, UserSession
from matchmaker.services import accounts
from tests.helpers import TEST_PASSWORD, login, wait_for


def test_sign_in_and_out(client, make):
    user = make.user("facilitator")
    response = login(client, user)
    assert response.status_code == 302
    assert client.get("/needs/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/needs/").status_code == 302
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"user.login", "user.logout"} <= actions


def test_wrong_password_is_refused_with_a_message(client, make):
    user = make.user("delegate", member="BJ")
    response = login(client, user, "wrong password here")
    assert response.status_code == 401
    assert "Wrong e-mail address or password" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(LoginAttempt.id))) == 1


def test_open_redirect_after_login_is_refused(client, make):
    user = make.user("admin")
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/\\evil.example"):
        c = client.application.test_client()
        response = c.post("/login?next=" + target, data={"email": user.email, "password": TEST_PASSWORD})
        assert response.headers["Location"] == "/", target
    c = client.application.test_client()
    response = c.post("/login?next=/needs/", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/needs/"


def test_logout_ends_the_session_even_if_the_cookie_is_replayed(app, make, signed_in):
    user = make.user("facilitator")
    client = signed_in(user)
    stolen = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/needs/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_password_change_and_disabling_end_other_sessions(app, make, signed_in):
    user = make.user("admin")
    admin = make.user("admin")
    first, second = app.test_client(), app.test_client()
    login(first, user)
    login(second, user)
    response = first.post("/account", data={"password-current": TEST_PASSWORD,
                                            "password-password": "a brand new secret",
                                            "password-confirm": "a brand new secret", "password-submit": "1"})
    assert response.status_code == 302
    assert first.get("/account").status_code == 200  # this browser got a fresh session
    assert second.get("/account").status_code == 302  # the other one was signed out
    # An admin disables the account: its remaining session dies too.
    boss = signed_in(admin)
    response = boss.post(f"/admin/users/{user.id}", data={"name": user.name, "role": "admin", "language": "en"})
    assert response.status_code == 302
    assert first.get("/account").status_code == 302
    assert db.session.scalar(select(func.count(UserSession.id)).where(UserSession.user_id == user.id)) == 0


def test_idle_sessions_time_out(app, make, signed_in):
    user = make.user("facilitator")
    client = signed_in(user)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id))
    row.last_seen_at = row.last_seen_at.replace(year=row.last_seen_at.year - 1)
    db.session.commit()
    assert client.get("/account").status_code == 302


def test_session_is_new_at_login(app, make):
    user = make.user("facilitator")
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("session")
    login(client, user)
    after = client.get_cookie("session")
    assert after is not None and (before is None or before.value != after.value)


def test_hash_is_argon2id_at_owasp_parameters_and_old_pbkdf2_hashes_are_upgraded(app, make):
    from argon2 import PasswordHasher
    from argon2.exceptions import VerifyMismatchError
    from werkzeug.security import generate_password_hash

    assert ProductionConfig.PASSWORD_ARGON2 == {"memory_cost": 7168, "time_cost": 5, "parallelism": 1}
    user = make.user("admin")
    assert user.password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # the test settings, for speed
    # An account whose hash was made by the PBKDF2 of before still signs in, and its hash is replaced.
    user.password_hash = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:600000")
    db.session.commit()
    assert login(app.test_client(), make.user("delegate", member="BJ").email, "wrong password").status_code == 401
    assert login(app.test_client(), user, "not the password").status_code == 401
    db.session.refresh(user)
    assert user.password_hash.startswith("pbkdf2:sha256:600000$")  # a wrong password changes nothing
    assert login(app.test_client(), user).status_code == 302
    db.session.refresh(user)
    assert user.password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert PasswordHasher().verify(user.password_hash, TEST_PASSWORD)
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(user.password_hash, "not the password")
    # A hash with weaker parameters than configured is replaced at the next sign-in, too.
    app.config["PASSWORD_ARGON2"] = {"memory_cost": 2048, "time_cost": 1, "parallelism": 1}
    try:
        assert login(app.test_client(), user).status_code == 302
        db.session.refresh(user)
        assert user.password_hash.startswith("$argon2id$v=19$m=2048,t=1,p=1$")
    finally:
        app.config["PASSWORD_ARGON2"] = {"memory_cost": 1024, "time_cost": 1, "parallelism": 1}


def test_long_and_non_ascii_passwords(app, make):
    for password in ("é" * 64, "密码密码密码密码密码密码", "x" * 200 + "yz!"):
        user = make.user("admin", password=password)
        assert login(app.test_client(), user, password).status_code == 302


def _link(envelope) -> str:
    body = envelope.content.decode("utf-8", "replace").replace("=\r\n", "").replace("=\n", "")
    match = re.search(r"https?://\S+", body)
    assert match, body
    return match.group(0)


@pytest.mark.slow
def test_invitation_by_email_then_set_password(app, make, smtp_server, signed_in):
    facilitator = make.user("facilitator")
    client = signed_in(facilitator)
    member_id = make.member("SN").id
    response = client.post("/admin/users/invite", data={"email": "New.Delegate@Example.org", "name": "Awa Ndiaye",
                                                         "role": "delegate", "member": str(member_id),
                                                         "language": "fr"})
    assert response.status_code == 302
    messages = wait_for(smtp_server)
    assert messages and messages[0].rcpt_tos == ["new.delegate@example.org"]
    url = _link(messages[0])
    assert url.startswith("https://matchmaker.test/invite/")
    path = url.replace("https://matchmaker.test", "")
    invitee = app.test_client()
    assert invitee.get(path).status_code == 200
    weak = invitee.post(path, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 422 and "at least" in weak.get_data(as_text=True)
    done = invitee.post(path, data={"password": "baobab under the sun", "confirm": "baobab under the sun"})
    assert done.status_code == 302
    assert login(invitee, "new.delegate@example.org", "baobab under the sun").status_code == 302
    assert invitee.get("/needs/new").status_code == 200
    # The link works once.
    again = app.test_client().get(path)
    assert again.status_code == 302 and "/reset" in again.headers["Location"]


@pytest.mark.slow
def test_reset_link_comes_from_configuration_not_the_host_header(app, make, smtp_server):
    user = make.user("partner", organisation=make.organisation())
    client = app.test_client()
    response = client.post("/reset", data={"email": user.email}, headers={"Host": "evil.example"})
    assert response.status_code == 302
    url = _link(wait_for(smtp_server)[0])
    assert url.startswith("https://matchmaker.test/reset/") and "evil" not in url
    path = url.replace("https://matchmaker.test", "")
    assert client.post(path, data={"password": "fresh password 2026",
                                   "confirm": "fresh password 2026"}).status_code == 302
    assert login(app.test_client(), user, "fresh password 2026").status_code == 302
    assert login(app.test_client(), user).status_code == 401


def test_reset_for_unknown_address_says_the_same(client, make):
    response = client.post("/reset", data={"email": "nobody@example.org"}, follow_redirects=True)
    assert "If an account exists" in response.get_data(as_text=True)


def test_expired_and_forged_tokens_are_refused(app, make):
    user = make.user("delegate", member="BJ", password=None)
    token = accounts.make_token(user, "invite")
    assert accounts.user_from_token(token, "invite").id == user.id
    assert accounts.user_from_token(token, "reset") is None  # another purpose
    assert accounts.user_from_token(token[:-2] + "xx", "invite") is None
    app.config["INVITE_MAX_AGE"] = -1
    try:
        assert accounts.user_from_token(token, "invite") is None
    finally:
        app.config["INVITE_MAX_AGE"] = 7 * 24 * 3600


def test_facilitator_cannot_invite_an_admin(app, make, signed_in):
    client = signed_in(make.user("facilitator"))
    response = client.post("/admin/users/invite", data={"email": "x@example.org", "name": "X", "role": "admin",
                                                         "language": "en"})
    assert response.status_code == 422
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_invite_without_smtp_shows_the_link_to_the_inviter(app, make, signed_in):
    client = signed_in(make.user("admin"))
    org = make.organisation()
    response = client.post("/admin/users/invite", data={"email": "p@example.org", "name": "P", "role": "partner",
                                                         "organisation": str(org.id), "language": "es"},
                           follow_redirects=True)
    assert "https://matchmaker.test/invite/" in response.get_data(as_text=True)
    duplicate = client.post("/admin/users/invite", data={"email": "P@example.org", "name": "P", "role": "partner",
                                                          "organisation": str(org.id), "language": "es"})
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.get_data(as_text=True)


def test_invitation_links_cannot_be_forged_with_the_signing_key(app, make):
    """Before, a link was the user's id and a fingerprint that was the same for every account without a password,
    signed with SECRET_KEY: whoever had the key could sign one for any invitee."""
    import hashlib

    from itsdangerous import URLSafeTimedSerializer

    from matchmaker.models import AccountLink

    invitee = make.user("delegate", member="BJ", password=None)
    for purpose in ("invite", "reset"):
        signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=f"matchmaker-{purpose}")
        forged = signer.dumps([invitee.id, hashlib.sha256(b"no-password").hexdigest()[:16]])
        response = app.test_client().get(f"/{purpose}/{forged}")
        assert response.status_code == 302 and "/reset" in response.headers["Location"], purpose
        assert accounts.user_from_token(forged, purpose) is None
    # A real link carries a random secret of which the database keeps only the SHA-256.
    token = accounts.make_token(invitee, "invite")
    db.session.commit()
    row = db.session.scalar(select(AccountLink).where(AccountLink.user_id == invitee.id))
    assert row.secret_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.secret_hash
    assert accounts.user_from_token(token, "invite").id == invitee.id
    assert accounts.user_from_token(token + "x", "invite") is None


def test_setting_a_password_spends_every_link_sent_before(app, make, signed_in):
    user = make.user("partner", organisation=make.organisation())
    first, second = accounts.make_token(user, "reset"), accounts.make_token(user, "reset")
    db.session.commit()
    assert app.test_client().post(f"/reset/{second}", data={"password": "spring rain on baobabs",
                                                            "confirm": "spring rain on baobabs"}).status_code == 302
    assert accounts.user_from_token(first, "reset") is None and accounts.user_from_token(second, "reset") is None
    # A link sent before the holder changed their password on the account page works no more either.
    third = accounts.make_token(user, "reset")
    db.session.commit()
    client = signed_in(user, "spring rain on baobabs")
    assert client.post("/account", data={"password-current": "spring rain on baobabs",
                                         "password-password": "autumn wind in acacias",
                                         "password-confirm": "autumn wind in acacias",
                                         "password-submit": "1"}).status_code == 302
    assert app.test_client().get(f"/reset/{third}").status_code == 302
    assert accounts.user_from_token(third, "reset") is None


@pytest.mark.parametrize("role, dashboard", [("admin", 200), ("facilitator", 200), ("delegate", 403),
                                             ("partner", 403), ("anonymous", 302)])
def test_the_signed_in_fixture_signs_in_each_role_through_the_form(signed_in, role, dashboard):
    client = signed_in(role)
    assert client.get("/account").status_code == (302 if role == "anonymous" else 200)
    assert client.get("/dashboard/").status_code == dashboard
