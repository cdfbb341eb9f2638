"""List pages cost the same number of statements for 3 rows as for 20: what each row shows is loaded with the page
(who may know each need's member, each proposal's parties, each offering's organisation, each event's actor)."""
from __future__ import annotations

from sqlalchemy import event

from matchmaker.extensions import db
from matchmaker.models import Need
from matchmaker.services.audit import record


def _statements_for(client, path: str, **kwargs) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path, **kwargs).status_code == 200
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


def test_the_api_s_needs_list_costs_a_partner_the_same_for_3_and_20_needs(app, make, client):
    """Who may know each need's member is worked out for the page at once, as on the list page."""
    from tests.test_api import token_for

    headers = {"Authorization": f"Bearer {token_for(make.user('partner', organisation=make.organisation()))}"}
    counts = []
    for added in (3, 17):
        for _ in range(added):
            make.need("BJ", "open")
        client.get("/api/v1/needs?per_page=20", headers=headers)     # what is done once (the token's last use)
        db.session.commit()
        db.session.expunge_all()
        counts.append(_statements_for(client, "/api/v1/needs?per_page=20", headers=headers))
    assert counts[0] == counts[1], counts


def test_the_facilitators_queue_costs_the_same_for_3_and_20_proposals(make, signed_in):
    """Each row names its need's member and its offering's organisation: loaded with the page, not row by row."""
    facilitator = make.user("facilitator")

    def propose(count: int) -> None:
        for _ in range(count):
            make.match(make.need("BJ", "open"), make.offering(make.organisation()))

    propose(3)
    client = signed_in(facilitator)
    client.get("/matches/")
    db.session.commit()
    db.session.expunge_all()  # the page loads its rows itself, as in a worker (the factory's objects are forgotten)
    few = _statements_for(client, "/matches/")
    propose(17)
    client.get("/matches/")             # what is computed once per state of the data (the competition) is done
    db.session.commit()
    db.session.expunge_all()
    many = _statements_for(client, "/matches/")
    assert many == few, (few, many)


def _same_cost_for_3_and_20(signed_in, user, path: str, add_one) -> None:
    for _ in range(3):
        add_one()
    client = signed_in(user)
    client.get(path)
    db.session.commit()
    db.session.expunge_all()  # the page loads its rows itself, as in a worker (the factory's objects are forgotten)
    few = _statements_for(client, path)
    for _ in range(17):
        add_one()
    db.session.commit()
    db.session.expunge_all()
    many = _statements_for(client, path)
    assert many == few, (few, many)


def test_the_offerings_list_costs_the_same_for_3_and_20_organisations(make, signed_in):
    _same_cost_for_3_and_20(signed_in, make.user("partner", organisation=make.organisation()), "/offerings/",
                            lambda: make.offering(make.organisation()))


def test_the_audit_log_costs_the_same_for_3_and_20_actors(make, signed_in):
    admin = make.user("admin")

    def one_event() -> None:
        actor = make.user("facilitator")
        record(actor, "need.screened", make.need("BJ", "open"))
        db.session.commit()

    _same_cost_for_3_and_20(signed_in, admin, "/admin/audit", one_event)


def test_a_need_s_page_costs_a_partner_the_same_for_1_and_4_proposals(make, signed_in):
    """Whose side each proposal is on is loaded with the proposals; who may know the member is asked once."""
    partner = make.user("partner", organisation=make.organisation())
    need_id = make.need("BJ", "open").id

    def propose(count: int) -> None:
        for _ in range(count):
            make.match(db.session.get(Need, need_id), make.offering(make.organisation()))

    _same_cost(signed_in, partner, f"/needs/{need_id}", propose, (1, 3))


def _same_cost(signed_in, user, path: str, add, counts: tuple[int, int]) -> None:
    client = signed_in(user)
    seen = []
    for count in counts:
        add(count)
        client.get(path)
        db.session.commit()
        db.session.expunge_all()
        seen.append(_statements_for(client, path))
    assert seen[0] == seen[1], seen
