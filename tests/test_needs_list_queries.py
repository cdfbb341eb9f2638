"""The needs list works out who may know each need's member once per page, not once per need."""
from __future__ import annotations

from sqlalchemy import event

from matchmaker.extensions import db
from tests.conftest import login


def _statements_for(client, path: str) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_a_partner_s_needs_list_costs_the_same_for_3_and_20_needs(app, make):
    partner = make.user("partner")
    for _ in range(3):
        make.need("BJ", "open")
    db.session.commit()
    client = app.test_client()
    login(client, partner)
    client.get("/needs/")
    few = _statements_for(client, "/needs/")
    for _ in range(17):
        make.need("BJ", "open")
    db.session.commit()
    client.get("/needs/")
    many = _statements_for(client, "/needs/")
    assert many == few, (few, many)


def test_the_facilitators_queue_costs_the_same_for_3_and_20_proposals(app, make):
    """Each row names its need's member and its offering's organisation: loaded with the page, not row by row."""
    facilitator = make.user("facilitator")

    def propose(count: int) -> None:
        for _ in range(count):
            make.match(make.need("BJ", "open"), make.offering(make.organisation()))

    propose(3)
    client = app.test_client()
    login(client, facilitator)
    client.get("/matches/")
    db.session.commit()
    db.session.expunge_all()  # the page loads its rows itself, as in a worker (the factory's objects are forgotten)
    few = _statements_for(client, "/matches/")
    propose(17)
    db.session.expunge_all()
    many = _statements_for(client, "/matches/")
    assert many == few, (few, many)
