"""With CSRF on (as in production), forged posts are refused and write nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import Need
from tests.helpers import TEST_PASSWORD, csrf_token, row_counts
from tests.route_matrix import LOGIN, MATRIX, session_of

NEED = {"title": "Help with online consumer complaints", "description": "Buyers have no way to complain about "
        "online sellers and we want a complaints mechanism.", "language": "en",
        "policy_areas": ["consumer_protection"], "support_kinds": ["policy_advice"], "delivery_languages": ["en"],
        "priority": "medium"}


def test_login_form_without_token_is_refused(csrf_app, make):
    user = make.user("admin")
    response = csrf_app.test_client().post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)


def test_forged_posts_write_nothing(csrf_app, make, signed_in):
    delegate = make.user("delegate", member="BJ")
    client = signed_in(delegate.email)
    # No token, a wrong token, and another session's token.
    other = signed_in(make.user("delegate", member="BJ").email)
    foreign = csrf_token(other.get("/needs/new").get_data(as_text=True))
    for token in (None, "not-a-token", foreign):
        data = dict(NEED, **({"csrf_token": token} if token else {}))
        response = client.post("/needs/new", data=data)
        assert response.status_code == 400
    need = make.need("BJ", "draft")
    for token in (None, "bogus"):
        response = client.post(f"/needs/{need.id}/submit", data={"csrf_token": token} if token else {})
        assert response.status_code == 400
    db.session.refresh(need)
    assert need.status == "draft"
    assert db.session.scalar(select(func.count(Need.id))) == 1
    # The logout button is protected too: a cross-site post does not sign the user out.
    assert client.post("/logout").status_code == 400
    assert client.get("/needs/new").status_code == 200


def test_real_token_works(csrf_app, make, signed_in):
    client = signed_in(make.user("delegate", member="BJ").email)
    token = csrf_token(client.get("/needs/new").get_data(as_text=True))
    response = client.post("/needs/new", data=dict(NEED, csrf_token=token))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Need.id))) == 1


def test_every_state_changing_route_refuses_forged_posts(csrf_app, world, signed_in):
    """Every POST route of the web pages (from the route matrix), as a role allowed to use it: without a token,
    with a wrong one and with another session's token, it answers 400 and writes nothing."""

    world["ids"].update(session_of(world, "session"), **session_of(world, "held_session"))
    posts = [(template, data, expected) for method, _endpoint, template, data, expected in MATRIX
             if method == "POST" and not template.startswith("/api/")]
    assert len(posts) >= 40
    clients = {}

    def client_for(role):
        if role not in clients:
            clients[role] = csrf_app.test_client() if role == "anon" else signed_in(world["users"][role])
        return clients[role]

    other = signed_in(world["users"]["admin"])
    foreign = csrf_token(other.get("/account").get_data(as_text=True))
    checked, accepted = 0, []
    for template, data, expected in posts:
        allowed = [r for r in ("admin", "facilitator", "delegate_own", "partner_own", "anon")
                   if expected[r] not in (403, 404, LOGIN)]
        role = allowed[0] if allowed else "admin"
        url = template.format(**world["ids"])
        client = client_for(role)      # signed in before counting: signing in writes a session row
        for token in (None, "forged-token", foreign):
            before = row_counts()
            form = dict(data or {}, **({"csrf_token": token} if token else {}))
            response = client.post(url, data=form)
            checked += 1
            if response.status_code != 400 or row_counts() != before:
                accepted.append((role, url, token, response.status_code))
    assert accepted == [], accepted
    assert checked == 3 * len(posts)
