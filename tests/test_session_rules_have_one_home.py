"""Sessions ask the one home of each rule: suppression.py for small cells, the service for the next steps, and
permissions.py for who sees what."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest

from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.models import MatchmakingSession
from matchmaker.permissions import side_of
from matchmaker.services import session_summary, suppression
from matchmaker.services import sessions as service
from tests.conftest import login

DAY = date.today() + timedelta(days=30)
GROUPS = {"africa": {1, 2, 3, 4}, "asia": {5, 6, 7}, "pacific": {8, 9}}
COUNTS = {"africa": 6, "asia": 4, "pacific": 2}


@pytest.fixture
def parties(make):
    """Three members' delegates, a partner, a facilitator, and an introduced match for each member."""
    itu = make.organisation("ITU")
    offering = make.offering(itu)
    people = {code: make.user("delegate", member=code) for code in ("BJ", "SN", "HT")}
    people.update(ITU=make.user("partner", organisation=itu), facilitator=make.user("facilitator"))
    matches = {code: make.match(make.need(code, "matched"), offering, "approved") for code in ("BJ", "SN", "HT")}
    return people, matches


def _session(facilitator, rounds: int = 3):
    session = service.create_session(facilitator, dict(
        title="Clinic on e-signatures", theme=None, policy_areas=["e_transactions"], date=DAY, start_time=time(10, 0),
        time_zone="Europe/Zurich", mode="in_person", place="Geneva", link=None, slot_minutes=20, rounds=rounds,
        tables=2))
    db.session.commit()
    return session


def test_the_summary_hides_what_suppression_hides():
    hidden = suppression.suppress({**COUNTS, "all": 12}, {"africa": 4, "asia": 3, "pacific": 2, "all": 9},
                                  [suppression.Line("all", tuple(sorted(COUNTS)))])
    shown = session_summary.suppressed(GROUPS, COUNTS)
    assert {code for code, value in shown.items() if value is None} == hidden - {"all"} == {"asia", "pacific"}


def test_changing_min_members_changes_the_summary_as_it_changes_suppression(monkeypatch):
    monkeypatch.setattr(suppression, "MIN_MEMBERS", 2)
    assert session_summary.suppressed(GROUPS, COUNTS) == COUNTS
    monkeypatch.setattr(suppression, "MIN_MEMBERS", 5)
    assert set(session_summary.suppressed(GROUPS, COUNTS).values()) == {None}


def test_the_summary_gives_no_figure_below_min_members(app, make, parties, monkeypatch):
    people, matches = parties
    facilitator = people["facilitator"]
    session = _session(facilitator, rounds=4)
    service.invite(facilitator, session, list(matches.values()))
    service.build_agenda(facilitator, session)
    db.session.commit()
    members = session_summary.summary_figures(session)["members"]
    assert members is not None
    monkeypatch.setattr(suppression, "MIN_MEMBERS", members + 1)
    figures = session_summary.summary_figures(session)
    assert figures["members"] is None and figures["meetings"] is None
    assert f"Fewer than {members + 1} members took part" in session_summary.draft_public_summary(session)


def test_next_steps_follow_the_state_and_the_start(make, parties, monkeypatch):
    people, _matches = parties
    session = _session(people["facilitator"])
    assert service.next_steps(session) == ["cancel"]
    monkeypatch.setattr(service, "utcnow", lambda: datetime(2100, 1, 1, tzinfo=UTC))
    assert service.next_steps(session) == ["held", "cancel"]
    service.transition(people["facilitator"], session, "held")
    assert service.next_steps(session) == ["close"]


def test_the_session_page_offers_the_services_next_steps(app, make, parties):
    people, _matches = parties
    session = _session(people["facilitator"])
    client = app.test_client()
    login(client, people["facilitator"])
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    actions = set(re.findall(rf'action="/sessions/{session.id}/(held|close|cancel)"', page))
    assert actions == set(service.next_steps(session)) == {"cancel"}


@pytest.mark.parametrize("role, side", [("delegate", "member"), ("partner", "organisation"), ("facilitator", None),
                                        ("admin", None)])
def test_each_role_acts_for_its_side(make, role, side):
    organisation = make.organisation() if role == "partner" else None
    user = make.user(role, member="BJ" if role == "delegate" else None, organisation=organisation)
    found = side_of(user)
    assert (found[0] if found else None) == side


def test_the_reports_texts_name_the_threshold_of_suppression(app, monkeypatch, signed_in):
    """The dashboard says "fewer than N members" with N read from the one rule, never a number of its own."""
    assert app.jinja_env.globals["min_members"] == suppression.MIN_MEMBERS
    monkeypatch.setitem(app.jinja_env.globals, "min_members", 4)
    page = signed_in("facilitator").get("/dashboard/").get_data(as_text=True)
    assert "fewer than 4 members" in page and "fewer than 3 members" not in page


def test_when_outcomes_are_written_is_one_rule_that_the_page_and_the_service_ask(app, make, parties, monkeypatch):
    """The outcome form and the summaries' form are shown exactly when the service takes outcomes."""
    people, matches = parties
    facilitator = people["facilitator"]
    session = _session(facilitator)
    service.invite(facilitator, session, list(matches.values()))
    service.build_agenda(facilitator, session)
    monkeypatch.setattr(service, "utcnow", lambda: datetime(2100, 1, 1, tzinfo=UTC))
    service.transition(facilitator, session, "held")
    db.session.commit()
    client = app.test_client()
    login(client, facilitator)

    def forms_shown() -> tuple[bool, bool]:
        detail = client.get(f"/sessions/{session.id}").get_data(as_text=True)
        summary = client.get(f"/sessions/{session.id}/summary").get_data(as_text=True)
        return f'action="/sessions/{session.id}/outcome"' in detail, "<textarea" in summary

    assert forms_shown() == (True, True)
    monkeypatch.setattr(MatchmakingSession, "takes_outcomes", property(lambda s: False))
    assert forms_shown() == (False, False)
    with pytest.raises(DomainError, match="once the session has been held"):
        service.record_outcome(facilitator, session, session.meetings[0], "informative", None)
