"""The pages of a matchmaking session: held only once started, meetings named as on the agenda, a party's own
agenda flags slots it cannot attend, no "0 of 0 people", and plurals in the session's counts."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import AuditEvent, MatchmakingSession
from matchmaker.services import session_labels
from matchmaker.services import sessions as service
from tests.fixtures.records import invite, plan_session


def _events(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


def test_a_session_cannot_be_marked_held_before_it_starts(app, make, parties, monkeypatch, signed_in):
    people, matches, _offers = parties
    facilitator = people["facilitator"]
    # 10:00 in New York on 1 July 2030 is 14:00 UTC: at 12:00 UTC the session has not started yet.
    session = plan_session(make, facilitator, date=date(2030, 7, 1), start_time=time(10, 0),
                           time_zone="America/New_York")
    invite(session, facilitator, matches.values())
    service.build_agenda(facilitator, session)
    db.session.commit()
    client = signed_in(facilitator)
    monkeypatch.setattr(service, "utcnow", lambda: datetime(2030, 7, 1, 12, 0, tzinfo=UTC))
    version = session.version
    # not offered before the start; refused if posted all the same
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert f"/sessions/{session.id}/held" not in page and "It can be marked as held once it has started." in page
    page = client.post(f"/sessions/{session.id}/held", follow_redirects=True).get_data(as_text=True)
    assert "has not started yet" in page and "10:00" in page
    db.session.expire_all()
    session = db.session.get(MatchmakingSession, session.id)
    assert session.status == "planning" and session.version == version and _events("session.held") == 0
    # Closing still needs a held session; cancelling stays possible at any time (tested below on another session).
    client.post(f"/sessions/{session.id}/close", data={"confirm": "1"})
    db.session.expire_all()
    assert db.session.get(MatchmakingSession, session.id).status == "planning" and _events("session.close") == 0
    # Once it has started (14:00 UTC), it can be marked held.
    monkeypatch.setattr(service, "utcnow", lambda: datetime(2030, 7, 1, 14, 0, tzinfo=UTC))
    assert client.post(f"/sessions/{session.id}/held").status_code == 302
    db.session.expire_all()
    assert db.session.get(MatchmakingSession, session.id).status == "held" and _events("session.held") == 1
    # A future session can still be cancelled.
    future = plan_session(make, facilitator, date=date(2031, 1, 1))
    assert client.post(f"/sessions/{future.id}/cancel", data={"confirm": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(MatchmakingSession, future.id).status == "cancelled"


def _conflicted(make, parties):
    """A built agenda, then ITU's partner says they can attend no slot at all."""
    people, matches, _offers = parties
    facilitator = people["facilitator"]
    make.need("SN")  # so that meeting ids and match ids differ
    session = plan_session(make, facilitator, rounds=3, tables=2)
    invite(session, facilitator, matches.values())
    service.build_agenda(facilitator, session)
    db.session.commit()
    service.set_availability(people["ITU"], session, [])
    db.session.commit()
    return people, matches, session


def test_meetings_that_no_longer_fit_are_named_as_on_the_agenda(app, make, parties, signed_in):
    people, matches, session = _conflicted(make, parties)
    client = signed_in(people["facilitator"])
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    box = page.split("Meetings that no longer fit", 1)[1].split("</ul>", 1)[0]
    assert not re.search(r"Meeting \d+", box)
    meeting = next(m for m in session.meetings if m.match_id == matches["BJ-ITU"].id)
    label = session_labels.round_label(session, meeting.round)
    assert f"#{meeting.match_id}" in box and "BJ ↔ ITU" in box and label in box
    assert f"table {meeting.table_no + 1}" in box and "one of the sides cannot attend" in box
    assert "HT ↔ OECD" not in box


def test_a_party_sees_which_of_its_meetings_it_cannot_attend(app, make, parties, signed_in):
    people, matches, session = _conflicted(make, parties)
    itu = signed_in(people["ITU"])
    page = itu.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert page.count("You said you cannot attend at this time") == 2  # its two meetings
    assert "You said you cannot attend any time slot." in page
    # The other side of one of them is told the meeting will move; a party with no problem sees no warning.
    bj = signed_in(people["BJ"])
    assert "The other side cannot attend at this time" in bj.get(f"/sessions/{session.id}").get_data(as_text=True)
    ht = signed_in(people["HT"])
    page = ht.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "cannot attend at this time" not in page
    # A colleague at ITU who can come at every slot: the organisation can attend, the meetings stay, and says so.
    colleague = make.user("partner", organisation=people["ITU"].organisation)
    service.set_availability(colleague, session, [0, 1, 2])
    db.session.commit()
    page = itu.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert page.count("a colleague said they can") == 2 and "the facilitator will move" not in page


def test_availability_of_parties_without_accounts_is_not_0_of_0(app, make, parties, signed_in):
    people, matches, offers = parties
    facilitator = people["facilitator"]
    nobody = make.match(make.need("KH", "matched"), make.offering(make.organisation("UNDP")), "approved")
    session = plan_session(make, facilitator)
    invite(session, facilitator, [nobody, matches["BJ-ITU"]])
    client = signed_in(facilitator)
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "0 of 0" not in page and "No party has an account yet" in page and "0 of 2 people" in page


def test_counts_in_the_session_pages_agree_with_their_number(app, make, parties, signed_in):
    people, matches, _offers = parties
    facilitator = people["facilitator"]
    session = plan_session(make, facilitator, rounds=1, tables=1)
    client = signed_in(facilitator)
    response = client.post(f"/sessions/{session.id}/invite", data={"match_ids": [matches["HT-OECD"].id]},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "1 slot of 20 minutes, 1 table in parallel" in page and "1 match invited;" in page
    page = client.post(f"/sessions/{session.id}/agenda/build", follow_redirects=True).get_data(as_text=True)
    assert "1 meeting placed" in page and "1 meetings" not in page
    other = plan_session(make, facilitator, rounds=3, tables=2)
    page = client.get(f"/sessions/{other.id}").get_data(as_text=True)
    assert "3 slots of 20 minutes, 2 tables in parallel" in page
