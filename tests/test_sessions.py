"""Matchmaking sessions: planning, invitations, availability, the agenda and its changes, .ics, outcomes, summaries."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from matchmaker.errors import DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.models import AuditEvent, MatchmakingSession, Notification
from matchmaker.services import session_queries, session_summary
from matchmaker.services import sessions as service
from tests.fixtures.records import DAY, invite, plan_session
from tests.helpers import wait_for
from tests.samples import mutations_of

VALID = {
    "title": "E-commerce law clinic", "theme": "Electronic transactions and consumer trust",
    "policy_areas": ["e_transactions"], "date": DAY.isoformat(), "start_time": "10:00", "time_zone": "Europe/Zurich",
    "mode": "in_person", "place": "WTO, Centre William Rappard, Room S1", "link": "", "slot_minutes": "20",
    "rounds": "3", "tables": "2",
}


def _after_the_session(monkeypatch) -> None:
    """The sessions here are a month ahead; a session is marked held only once it has started."""
    later = datetime.combine(DAY + timedelta(days=1), time(12, 0), tzinfo=ZoneInfo("UTC"))
    monkeypatch.setattr(service, "utcnow", lambda: later)


def test_a_facilitator_plans_a_session_and_each_party_gets_an_agenda(app, make, parties, signed_in):
    people, matches, _offers = parties
    client = signed_in(people["facilitator"])
    response = client.post("/sessions/new", data=VALID)
    assert response.status_code == 302
    session = db.session.scalar(select(MatchmakingSession))
    assert session.title == VALID["title"] and session.link is None and session.rounds == 3
    response = client.post(f"/sessions/{session.id}/invite", data={"match_ids": [m.id for m in matches.values()]})
    assert response.status_code == 302
    assert len(session.meetings) == 3
    # The French delegate was asked, in French, for their availability.
    note = db.session.scalar(select(Notification).where(Notification.user_id == people["BJ"].id))
    assert note.subject.startswith("Session de mise en relation") and note.link == f"/sessions/{session.id}"
    # Benin's delegate can attend the last slot only; ITU's partner the first two.
    bj = signed_in(people["BJ"])
    assert bj.get(f"/sessions/{session.id}/availability").status_code == 200
    assert bj.post(f"/sessions/{session.id}/availability", data={"rounds": ["2"]}).status_code == 302
    itu = signed_in(people["ITU"])
    assert itu.post(f"/sessions/{session.id}/availability", data={"rounds": ["0", "2"]}).status_code == 302
    response = client.post(f"/sessions/{session.id}/agenda/build")
    assert response.status_code == 302
    db.session.expire_all()
    by_match = {m.match_id: m for m in session.meetings}
    assert by_match[matches["BJ-ITU"].id].round == 2
    assert by_match[matches["SN-ITU"].id].round == 0  # ITU is at Benin's table in slot 3, free in slot 1 only
    assert all(m.is_placed for m in session.meetings)
    # Everyone concerned got their agenda, in their language.
    agenda_note = db.session.scalars(select(Notification).where(Notification.user_id == people["HT"].id)
                                     .order_by(Notification.id.desc())).first()
    assert agenda_note.subject.startswith("Su agenda") and re.search(r"10:[024]0–10:[024]0, mesa \d", agenda_note.body)
    # The partner's page and printable agenda name its meetings with the (introduced) members.
    page = itu.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Benin" in page and "Senegal" in page and "Haiti" not in page
    printable = itu.get(f"/sessions/{session.id}/agenda/print")
    assert printable.status_code == 200 and "Benin" in printable.get_data(as_text=True)
    # The calendar file parses back: one event per meeting, times in the session's zone, UID and DTSTAMP present.
    response = itu.get(f"/sessions/{session.id}/agenda.ics")
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
    assert len(events) == 2
    zurich = ZoneInfo("Europe/Zurich")
    first = events[0].decoded("dtstart")
    assert first == datetime.combine(DAY, time(10, 0), tzinfo=zurich)
    assert events[0]["DTSTART"].params["TZID"] == "Europe/Zurich"
    assert events[1].decoded("dtend") - events[1].decoded("dtstart") == timedelta(minutes=20)
    assert events[1].decoded("dtstart") == datetime.combine(DAY, time(10, 40), tzinfo=zurich)
    assert len({str(e["UID"]) for e in events}) == 2 and all(e.get("DTSTAMP") for e in events)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Zurich"]
    assert "Room S1" in str(events[0]["LOCATION"])
    # Audit trail of every step.
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "matchmakingsession")))
    assert {"session.create", "session.invite", "session.availability", "session.agenda_built"} <= actions


def test_the_dashboard_can_prefill_a_new_session(app, make, signed_in):
    client = signed_in(make.user("facilitator"))
    page = client.get("/sessions/new?title=Payments+workshop&theme=mobile+money%2C+QR+codes"
                      "&policy_area=payments&policy_area=skills&policy_area=teleportation").get_data(as_text=True)
    assert 'value="Payments workshop"' in page and "mobile money, QR codes</textarea>" in page
    checked = re.findall(r'<input checked[^>]*value="(\w+)"|<input[^>]*value="(\w+)"[^>]*checked', page)
    assert sorted(a or b for a, b in checked) == ["payments", "skills"]


def test_unplaceable_meetings_are_listed_with_the_reason(app, make, parties, signed_in):
    people, matches, offers = parties
    facilitator = people["facilitator"]
    extra = make.match(make.need("HT", "matched"), offers["ITU"], "approved")
    session = plan_session(make, facilitator, rounds=2, tables=5)
    invite(session, facilitator, [matches["BJ-ITU"], matches["SN-ITU"], extra, matches["HT-OECD"]])
    service.set_availability(people["OECD"], session, [])  # OECD can come at no slot
    agenda = service.build_agenda(facilitator, session)
    db.session.commit()
    assert len(agenda.placed) == 2
    reasons = {m.match_id: m.unplaced_reason for m in session.meetings if not m.is_placed}
    assert reasons[matches["HT-OECD"].id] == "no_common_round"
    assert list(reasons.values()).count("party_busy") == 1  # ITU has three meetings for two slots
    itu_rounds = [m.round for m in session.meetings if m.is_placed and m.match.offering.organisation.acronym == "ITU"]
    assert sorted(itu_rounds) == [0, 1]
    client = signed_in(facilitator)
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "share no time slot they can both attend" in page and "taken by another meeting of one of them" in page


def test_moves_and_swaps_are_checked_and_announced(app, make, parties, signed_in):
    people, matches, _offers = parties
    facilitator = people["facilitator"]
    session = plan_session(make, facilitator, rounds=3, tables=1)
    invite(session, facilitator, matches.values())
    service.build_agenda(facilitator, session)
    db.session.commit()
    meeting = {m.match_id: m for m in session.meetings}
    bj, sn, ht = meeting[matches["BJ-ITU"].id], meeting[matches["SN-ITU"].id], meeting[matches["HT-OECD"].id]
    client = signed_in(facilitator)
    before = {m.id: (m.round, m.table_no) for m in session.meetings}
    # A slot taken at the only table, and ITU double-booked: refused, nothing changes.
    response = client.post(f"/sessions/{session.id}/agenda/move", data={"move-match": bj.match_id,
                                                                          "move-round": sn.round, "move-table": "0"},
                                                                          follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "cannot go there" in page and "already in the meeting" in page and "that table is taken" in page
    db.session.expire_all()
    assert {m.id: (m.round, m.table_no) for m in session.meetings} == before
    # Benin's delegate cannot attend Senegal's slot any more: swapping them is refused for that reason.
    service.set_availability(people["BJ"], session, [bj.round, ht.round])
    db.session.commit()
    response = client.post(f"/sessions/{session.id}/agenda/swap", data={"swap-first": bj.match_id,
                                                                        "swap-second": sn.match_id},
                           follow_redirects=True)
    assert "cannot attend that slot" in response.get_data(as_text=True)
    # A valid swap: both moved, their sequence bumped, their parties told, the others not.
    counts = {k: _inbox(people[k]) for k in ("BJ", "HT", "OECD")}
    old_bj, old_ht = (bj.round, bj.table_no), (ht.round, ht.table_no)
    response = client.post(f"/sessions/{session.id}/agenda/swap", data={"swap-first": bj.match_id,
                                                                        "swap-second": ht.match_id})
    assert response.status_code == 302
    db.session.expire_all()
    assert (bj.round, bj.table_no) == old_ht and (ht.round, ht.table_no) == old_bj and bj.sequence == 2
    assert _inbox(people["BJ"]) == counts["BJ"] + 1 and _inbox(people["OECD"]) == counts["OECD"] + 1
    swaps = select(func.count(AuditEvent.id)).where(AuditEvent.action == "session.meetings_swapped")
    assert db.session.scalar(swaps) == 1
    # Moving to a free slot after widening the session.
    service.update_session(facilitator, session, dict(_fields(session), tables=2))
    db.session.commit()
    response = client.post(f"/sessions/{session.id}/agenda/move", data={"move-match": sn.match_id,
                                                                          "move-round": ht.round, "move-table": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert (sn.round, sn.table_no) == (ht.round, 1)
    # Taking a match off the session tells its parties.
    before = _inbox(people["HT"])
    assert client.post(f"/sessions/{session.id}/remove", data={"remove-match": ht.match_id}).status_code == 302
    db.session.expire_all()
    assert ht.match_id not in {m.match_id for m in session.meetings} and _inbox(people["HT"]) == before + 1


def _inbox(user) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id))


def _fields(session) -> dict:
    return {k: getattr(session, k) for k in service.EDITABLE_FIELDS}


def test_changing_the_times_tells_the_participants_and_drops_what_no_longer_fits(make, parties):
    people, matches, _offers = parties
    facilitator = people["facilitator"]
    session = plan_session(make, facilitator, rounds=3, tables=2)
    invite(session, facilitator, matches.values())
    service.build_agenda(facilitator, session)
    db.session.commit()
    before = _inbox(people["HT"])
    service.update_session(facilitator, session, dict(_fields(session), rounds=1, start_time=time(14, 0)))
    db.session.commit()
    assert all(m.round == 0 or m.unplaced_reason == "session_changed" for m in session.meetings)
    assert sum(m.is_placed for m in session.meetings) == 2
    assert _inbox(people["HT"]) == before + 1
    body = db.session.scalars(select(Notification.body).where(Notification.user_id == people["HT"].id)
                              .order_by(Notification.id.desc())).first()
    assert "14:00" in body


def test_inviting_a_pending_proposal_approves_it_and_only_then_shows_the_member(app, make, parties, signed_in):
    people, matches, offers = parties
    facilitator = people["facilitator"]
    proposal = make.match(make.need("SN", "open", title="Consumer protection online for Senegal"), offers["OECD"],
                          "proposed", score=0.9)
    session = plan_session(make, facilitator)
    invite(session, facilitator, [matches["HT-OECD"]])
    oecd = signed_in(people["OECD"])
    page = oecd.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Senegal" not in page
    listing = signed_in(facilitator)
    invite_page = listing.get(f"/sessions/{session.id}/invite").get_data(as_text=True)
    assert "Best pending proposals" in invite_page and f'value="{proposal.id}"' in invite_page
    invited, refused = invite(session, facilitator, [proposal, matches["HT-OECD"]])
    assert invited == [proposal] and refused == [f"#{matches['HT-OECD'].id}: already invited."]
    assert proposal.status == "approved"
    assert "Senegal" in oecd.get(f"/sessions/{session.id}").get_data(as_text=True)
    # A rejected match cannot be invited.
    rejected = make.match(make.need("BJ", "open"), offers["OECD"], "rejected")
    assert invite(session, facilitator, [rejected])[0] == []


def test_who_may_see_and_do_what(app, make, parties, signed_in):
    people, matches, _offers = parties
    facilitator = people["facilitator"]
    session = plan_session(make, facilitator)
    invite(session, facilitator, [matches["BJ-ITU"]])
    outsider = make.user("delegate", member="SN")  # Senegal has no match invited to this session
    for user, expected in ((people["BJ"], 200), (people["ITU"], 200), (outsider, 403), (people["OECD"], 403)):
        client = signed_in(user)
        assert client.get(f"/sessions/{session.id}").status_code == expected
        assert client.get(f"/sessions/{session.id}/agenda.ics").status_code == expected
    with pytest.raises(NotPermitted):
        service.build_agenda(people["BJ"], session)
    with pytest.raises(NotPermitted):
        service.set_availability(outsider, session, [0])
    with pytest.raises(DomainError):
        service.set_availability(people["BJ"], session, [7])
    # A withdrawn match leaves the parties' view and the agenda.
    from matchmaker.services import matches as match_service

    match_service.withdraw(facilitator, matches["BJ-ITU"], "Changed priorities")
    db.session.commit()
    client = signed_in(people["ITU"])
    assert client.get(f"/sessions/{session.id}").status_code == 403
    agenda = service.build_agenda(facilitator, session)
    assert list(agenda.unplaced.values()) == ["match_inactive"]


def test_outcomes_feed_the_match_life_cycle(make, parties, monkeypatch):
    people, matches, _offers = parties
    facilitator = people["facilitator"]
    session = plan_session(make, facilitator)
    invite(session, facilitator, matches.values())
    service.build_agenda(facilitator, session)
    meeting = {m.match_id: m for m in session.meetings}
    with pytest.raises(TransitionNotAllowed):
        service.record_outcome(facilitator, session, meeting[matches["SN-ITU"].id], "informative", None)
    _after_the_session(monkeypatch)
    service.transition(facilitator, session, "held")
    db.session.commit()
    # Accepted by both: the meeting is recorded on the match.
    assert service.record_outcome(facilitator, session, meeting[matches["SN-ITU"].id], "cooperation_possible", None)
    assert matches["SN-ITU"].status == "meeting_held" and matches["SN-ITU"].outcome == "cooperation_possible"
    # Introduced but not yet answered in the app: sitting at the table is their acceptance.
    assert service.record_outcome(facilitator, session, meeting[matches["BJ-ITU"].id], "informative", "Useful")
    assert matches["BJ-ITU"].status == "meeting_held" and matches["BJ-ITU"].need_response == "accepted"
    # Did not take place: the session records it, the introduction stays open.
    assert not service.record_outcome(facilitator, session, meeting[matches["HT-OECD"].id], "did_not_take_place", "")
    assert matches["HT-OECD"].status == "approved"
    db.session.commit()
    with pytest.raises(TransitionNotAllowed):
        service.record_outcome(facilitator, session, meeting[matches["HT-OECD"].id], "informative", None)
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert "match.accepted_by_attendance" in actions and actions.count("session.outcome") == 3


def test_the_public_summary_names_nobody_and_hides_small_cells(app, make, parties, monkeypatch, signed_in):
    people, matches, offers = parties
    facilitator = people["facilitator"]
    # A fourth member and a need in another area: payments describe one member only.
    matches["KH-OECD"] = make.match(make.need("KH", "matched", policy_areas=["payments"]), offers["OECD"], "approved")
    for key in ("BJ-ITU", "SN-ITU", "HT-OECD"):
        matches[key].need.policy_areas = ["e_transactions", "data_protection"]
    session = plan_session(make, facilitator, rounds=4)
    invite(session, facilitator, matches.values())
    service.build_agenda(facilitator, session)
    _after_the_session(monkeypatch)
    service.transition(facilitator, session, "held")
    for m in session.meetings:
        service.record_outcome(facilitator, session, m, "informative", None)
    db.session.commit()
    figures = session_summary.summary_figures(session)
    assert figures["members"] == 4 and figures["meetings"] == 4
    # Payments (one member) is hidden, and so is the smallest other cell, so that no total gives it back.
    assert figures["areas"] == {"e_transactions": 3, "data_protection": None, "payments": None}
    assert figures["outcomes"] == {"informative": 4}
    # Regions: no region has three members here.
    assert set(figures["regions"].values()) == {None}
    draft = session_summary.draft_public_summary(session)
    for name in ("Benin", "Bénin", "Senegal", "Haiti", "Cambodia", "BJ", "SN", "HT", "KH", people["BJ"].name):
        assert not re.search(rf"\b{re.escape(name)}\b", draft), name
    assert "Bilateral meetings on the agenda: 4;" in draft and "fewer than 3 members (not shown)" in draft
    client = signed_in(facilitator)
    page = client.get(f"/sessions/{session.id}/summary").get_data(as_text=True)
    assert "Bilateral meetings on the agenda: 4;" in page
    response = client.post(f"/sessions/{session.id}/summary", data={
        "summary": "Benin and ITU agreed to meet again.", "public_summary": draft + "\nSénégal was very active."})
    assert response.status_code == 422 and "remove Senegal" in response.get_data(as_text=True).replace("Sénégal",
                                                                                                       "Senegal")
    assert client.post(f"/sessions/{session.id}/close", data={"confirm": "1"}).status_code == 302
    assert db.session.get(MatchmakingSession, session.id).status == "held"  # no public summary yet
    response = client.post(f"/sessions/{session.id}/summary", data={"summary": "Benin and ITU agreed to meet again.",
                                                                     "public_summary": draft})
    assert response.status_code == 302
    assert client.post(f"/sessions/{session.id}/close", data={"confirm": "1"}).status_code == 302
    partner = signed_in(people["OECD"])
    page = partner.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Bilateral meetings on the agenda: 4;" in page and "agreed to meet again" not in page


def test_a_session_with_few_members_gives_no_figures(make, parties):
    people, matches, _offers = parties
    session = plan_session(make, people["facilitator"])
    invite(session, people["facilitator"], [matches["BJ-ITU"], matches["HT-OECD"]])
    draft = session_summary.draft_public_summary(session)
    assert "Fewer than 3 members took part" in draft and "Meetings by region" not in draft


def test_agenda_changes_are_emailed_in_the_recipients_language(app, make, parties, smtp_server):

    people, matches, _offers = parties
    session = plan_session(make, people["facilitator"])
    invite(session, people["facilitator"], [matches["BJ-ITU"]])
    messages = wait_for(smtp_server, 2)
    recipients = sorted(r for m in messages for r in m.rcpt_tos)
    assert recipients == sorted([people["BJ"].email, people["ITU"].email])
    french = next(m for m in messages if m.rcpt_tos == [people["BJ"].email]).content.decode("utf-8", "replace")
    assert "Session de mise en relation" in french or "=?utf-8?" in french
    assert f"/sessions/{session.id}" in french



# --- Bad input on every form -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["create", "edit"])
def test_hostile_session_forms_never_500_and_never_corrupt(app, make, kind, signed_in):

    facilitator = make.user("facilitator")
    session = plan_session(make, facilitator)
    client = signed_in(facilitator)
    url = "/sessions/new" if kind == "create" else f"/sessions/{session.id}/edit"

    def signature():
        db.session.expire_all()
        return [(s.id, s.title, s.rounds, s.time_zone, s.version) for s in
                db.session.scalars(select(MatchmakingSession).order_by(MatchmakingSession.id))]

    mutations = list(mutations_of(VALID))
    if kind == "edit":  # the same form: every field on creation, the ones an edit is likeliest to break here
        mutations = [(label, data) for label, data in mutations if label in ("title", "date", "time_zone", "link")]
    checked = 0
    for label, data in mutations + [
            ("unknown zone", dict(VALID, time_zone="Mars/Olympus_Mons")),
            ("path zone", dict(VALID, time_zone="../etc")),
            ("script link", dict(VALID, mode="online", link="javascript:alert(1)")),
            ("ftp link", dict(VALID, mode="online", link="ftp://example.org/x")),
            ("bad port", dict(VALID, mode="online", link="https://example.org:99999/")),
            ("online without link", dict(VALID, mode="online", link="")),
            ("in person without place", dict(VALID, place="")),
            ("too long a day", dict(VALID, rounds="48", slot_minutes="240")),
            ("zero tables", dict(VALID, tables="0")), ("bad time", dict(VALID, start_time="25:61")),
            ("unknown mode", dict(VALID, mode="hologram"))]:
        before = signature()
        response = client.post(url, data=data)
        assert response.status_code in (302, 422), (label, response.status_code)
        if response.status_code == 422:
            assert signature() == before, label
        checked += 1
    assert checked > (100 if kind == "create" else 50)
    past = client.post("/sessions/new", data=dict(VALID, date=(date.today() - timedelta(days=1)).isoformat()))
    assert past.status_code == 422 and "The date is in the past." in past.get_data(as_text=True)


def test_hostile_posts_to_the_other_session_forms(app, make, parties, monkeypatch, signed_in):
    people, matches, _offers = parties
    facilitator = people["facilitator"]
    session = plan_session(make, facilitator)
    invite(session, facilitator, [matches["BJ-ITU"]])
    service.build_agenda(facilitator, session)
    db.session.commit()
    meeting = session.meetings[0]
    before = (meeting.round, meeting.table_no)
    delegate = signed_in(people["BJ"])
    for value in (["99"], ["-1"], ["abc"], ["1 OR 1=1"], ["\x00"], ["9" * 30]):
        response = delegate.post(f"/sessions/{session.id}/availability", data={"rounds": value})
        assert response.status_code == 422, value
    assert session_queries.availability_of(people["BJ"], session) is None
    client = signed_in(facilitator)
    for data in ({}, {"match_ids": ["abc"]}, {"match_ids": ["999999"]},
                 {"match_ids": [str(matches["BJ-ITU"].id)] * 2000}):
        assert client.post(f"/sessions/{session.id}/invite", data=data).status_code == 422
    m = str(meeting.match_id)
    for data in ({}, {"move-match": "x", "move-round": "0"}, {"move-match": m, "move-round": "99"},
                 {"move-match": "999999", "move-round": "0"}, {"move-match": m, "move-round": "0", "move-table": "7"},
                 {"move-match": m, "move-round": "0", "move-table": "x"}, {"move-match": "9" * 30, "move-round": "0"}):
        assert client.post(f"/sessions/{session.id}/agenda/move", data=data).status_code == 302, data
    for data in ({}, {"swap-first": m, "swap-second": m}, {"swap-first": "1e9", "swap-second": "x"},
                 {"swap-first": m, "swap-second": "999999"}):
        assert client.post(f"/sessions/{session.id}/agenda/swap", data=data).status_code == 302
    for data in ({}, {"remove-match": "abc"}, {"remove-match": "999999"}, {"remove-match": "-5"}):
        assert client.post(f"/sessions/{session.id}/remove", data=data).status_code == 302
    assert len(session.meetings) == 1
    db.session.expire_all()
    assert (meeting.round, meeting.table_no) == before
    for data in ({}, {"match": m, "outcome": "teleported"}, {"match": m, "outcome": "informative", "note": "x" * 3000},
                 {"match": "999999", "outcome": "informative"}):
        assert client.post(f"/sessions/{session.id}/outcome", data=data).status_code == 302
    db.session.expire_all()
    assert meeting.outcome is None
    assert client.post(f"/sessions/{session.id}/fly").status_code == 404
    assert client.get("/sessions/99999999999").status_code == 404
    _after_the_session(monkeypatch)
    service.transition(facilitator, session, "held")
    db.session.commit()
    response = client.post(f"/sessions/{session.id}/summary", data={"summary": "x" * 30000, "public_summary": "\x00"})
    assert response.status_code == 422
    assert db.session.get(MatchmakingSession, session.id).summary is None


def test_slot_times_are_computed_across_a_change_to_summer_time():
    # Zurich moves from 02:00 to 03:00 on 28 March 2027: the second half-hour slot starts at 03:00, 30 minutes later.
    session = MatchmakingSession(date=date(2027, 3, 28), start_time=time(1, 30), time_zone="Europe/Zurich",
                                 slot_minutes=30, rounds=3, tables=1)
    starts = [session.round_start(r) for r in range(3)]
    assert [s.strftime("%H:%M %Z") for s in starts] == ["01:30 CET", "03:00 CEST", "03:30 CEST"]
    utc = ZoneInfo("UTC")  # (the difference of two times in one zone is wall-clock time in Python)
    assert all(b.astimezone(utc) - a.astimezone(utc) == timedelta(minutes=30) for a, b in pairwise(starts))
    assert session.ends_at.strftime("%H:%M") == "04:00"
