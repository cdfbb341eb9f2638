"""The needs list works out who may know each need's member once per page, not once per need."""
from __future__ import annotations

from sqlalchemy import event

from matchmaker.extensions import db


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


def test_a_partner_s_needs_list_costs_the_same_for_3_and_20_needs(app, make, signed_in):
    partner = make.user("partner")
    for _ in range(3):
        make.need("BJ", "open")
    db.session.commit()
    client = signed_in(partner)
    client.get("/needs/")
    few = _statements_for(client, "/needs/")
    for _ in range(17):
        make.need("BJ", "open")
    db.session.commit()
    client.get("/needs/")
    many = _statements_for(client, "/needs/")
    assert many == few, (few, many)
