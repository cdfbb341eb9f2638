"""One record per submitted form: the same create form posted twice (a replay, a double click, a retry over a slow
network), one after the other or at the same moment, gives one record, and the second post is shown the first's;
the API's Idempotency-Key does the same."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from matchmaker.api.tokens import create_token
from matchmaker.extensions import db
from matchmaker.models import Need, Offering
from tests.helpers import login
from tests.samples import API_NEED, API_OFFERING
from tests.samples import NEED_FORM as NEED
from tests.samples import OFFERING_FORM as OFFERING


def count(model) -> int:
    db.session.rollback()  # see what the requests committed
    return db.session.scalar(select(func.count(model.id)))


def filled_form(client, path: str, values: dict) -> dict:
    """The create form as the browser got it (with its hidden fields), filled in."""
    html = client.get(path).get_data(as_text=True)
    hidden = dict(re.findall(r'<input[^>]*name="(submission)"[^>]*value="([^"]+)"', html))
    assert "submission" in hidden, "the create form carries a one-time key"
    return {**values, **hidden}


@pytest.mark.parametrize("path,values,model,role", [
    ("/needs/new", NEED, Need, ("delegate", {"member": "BJ"})),
    ("/offerings/new", OFFERING, Offering, ("partner", {})),
])
def test_a_form_posted_twice_creates_one_record_and_shows_it_again(app, make, path, values, model, role, signed_in):
    name, extra = role
    user = make.user(name, **extra) if name == "delegate" else make.user(name, organisation=make.organisation())
    client = signed_in(user)
    form = filled_form(client, path, values)
    first = client.post(path, data=form)
    assert first.status_code == 302
    again = client.post(path, data=form)
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert "This form was already sent" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert count(model) == 1
    # A new form (a new key) is a new record.
    assert client.post(path, data=filled_form(client, path, values)).status_code == 302
    assert count(model) == 2


def test_the_same_form_posted_at_the_same_moment_creates_one_record(app, make):
    user = make.user("delegate", member="BJ")
    clients = [app.test_client() for _ in range(6)]
    for client in clients:
        login(client, user)
    form = filled_form(clients[0], "/needs/new", NEED)
    db.session.rollback()  # the sign-ins ran in this test's app context: end their transaction before the threads
    locations: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients))

    def post(client):
        barrier.wait(timeout=30)
        response = client.post("/needs/new", data=form)
        with lock:
            locations.append((response.status_code, response.headers.get("Location")))

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(set(locations)) == 1 and locations[0][0] == 302, locations
    assert count(Need) == 1


def test_the_api_takes_an_idempotency_key(app, make):
    partner = make.user("partner", organisation=make.organisation())
    delegate = make.user("delegate", member="BJ")
    client = app.test_client()
    for user, path, body, model in ((partner, "/api/v1/offerings", API_OFFERING, Offering),
                                    (delegate, "/api/v1/needs", API_NEED, Need)):
        _token, secret = create_token(user, "tests")
        db.session.commit()
        headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "7f3c2a9e-retry-0001"}
        first = client.post(path, json=body, headers=headers)
        again = client.post(path, json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.get_json()["id"] == first.get_json()["id"] and again.headers["Idempotent-Replayed"] == "true"
        assert count(model) == 1
        assert client.post(path, json=body, headers={"Authorization": f"Bearer {secret}"}).status_code == 201
        assert count(model) == 2
        bad = client.post(path, json=body, headers={**headers, "Idempotency-Key": "short"})
        assert bad.status_code == 422 and "Idempotency-Key" in bad.get_json()["errors"]
