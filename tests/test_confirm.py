"""Every action that cannot be undone asks first, without JavaScript: the button's post answers with a page saying what
will happen (nothing changes yet); its Confirm button posts the same form again, with what was typed; Cancel goes back.
Steps that can still be corrected later (approve, submit, open, accept) act at once."""
from __future__ import annotations

from datetime import date, time

import html5lib
import pytest
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import AuditEvent, Match, MatchmakingSession, Need, Offering, SessionMeeting


def _events() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def _confirmation_form(body: str) -> tuple[str, dict[str, list[str]], str]:
    """The confirmation page's form: where it posts, its hidden fields, and where Cancel leads."""
    tree = html5lib.parse(body, namespaceHTMLElements=False)
    form = next(f for f in tree.iter("form") if any(i.get("name") == "confirm" for i in f.iter("input")))
    fields: dict[str, list[str]] = {}
    for field in form.iter("input"):
        fields.setdefault(field.get("name"), []).append(field.get("value"))
    cancel = next(a.get("href") for a in form.iter("a"))
    return form.get("action"), fields, cancel


@pytest.fixture
def parties(make):
    org = make.organisation("ITC")
    return {"org": org, "delegate": make.user("delegate", member="BJ"), "partner": make.user("partner",
                                                                                             organisation=org),
            "facilitator": make.user("facilitator")}


def _match(make, parties, status, **kw):
    need = make.need("BJ", "matched" if status not in ("proposed",) else "open")
    offering = make.offering(parties["org"], "published")
    return make.match(need, offering, status, decided_by=parties["facilitator"], **kw)


def _case(name, make, parties):
    """(who acts, url, form data, the record and the status it must reach, words of the question)."""
    if name.startswith("match-"):
        return _match_case(name, make, parties)
    if name.startswith("session-"):
        return _session_case(name, make, parties)
    if name == "need-withdraw":
        need = make.need("BJ", "open")
        return "delegate", f"/needs/{need.id}/withdraw", {"reason": "A bilateral project covers it."}, \
            (Need, need.id, "withdrawn"), "Withdraw the need"
    if name == "need-close":
        need = make.need("BJ", "open")
        return "facilitator", f"/needs/{need.id}/close", {"reason": ""}, (Need, need.id, "closed"), "Close the need"
    if name == "offering-close":
        offering = make.offering(parties["org"], "published")
        return "partner", f"/offerings/{offering.id}/close", {"reason": "Fully booked"}, \
            (Offering, offering.id, "closed"), "Close the offering"
    raise ValueError(name)


def _match_case(name, make, parties):
    if name == "match-reject":
        match = _match(make, parties, "proposed")
        return "facilitator", f"/matches/{match.id}/decide", {"action": "reject", "reason": "Out of scope"}, \
            (Match, match.id, "rejected"), "Reject the proposal"
    if name == "match-withdraw":
        match = _match(make, parties, "approved")
        return "facilitator", f"/matches/{match.id}/decide", {"action": "withdraw", "reason": ""}, \
            (Match, match.id, "withdrawn"), "Withdraw the introduction"
    if name == "match-decline":
        match = _match(make, parties, "approved")
        return "delegate", f"/matches/{match.id}/respond", {"answer": "decline", "note": "Not now"}, \
            (Match, match.id, "declined"), "Decline the introduction"
    if name == "match-close":
        match = _match(make, parties, "accepted", need_response="accepted", offering_response="accepted")
        return "partner", f"/matches/{match.id}/progress", {"action": "close", "note": "Budget cut"}, \
            (Match, match.id, "closed_no_result"), "without result"
    if name == "match-not-held":
        match = _match(make, parties, "accepted", need_response="accepted", offering_response="accepted")
        return "partner", f"/matches/{match.id}/progress", {"action": "not_held", "note": ""}, \
            (Match, match.id, "closed_no_result"), "The meeting did not take place."
    if name == "match-little-interest":
        match = _match(make, parties, "accepted", need_response="accepted", offering_response="accepted")
        return "delegate", f"/matches/{match.id}/progress", \
            {"action": "meeting_held", "outcome": "insufficient_interest", "note": "Different priorities"}, \
            (Match, match.id, "closed_no_result"), "too little interest"
    if name == "match-complete":
        match = _match(make, parties, "in_delivery", need_response="accepted", offering_response="accepted",
                       outcome="cooperation_possible")
        return "partner", f"/matches/{match.id}/progress", {"action": "complete", "note": ""}, \
            (Match, match.id, "completed"), "as completed"
    raise ValueError(name)


def _session_case(name, make, parties):
    session = MatchmakingSession(title="Payments clinic", policy_areas=[], date=date(2026, 1, 7), start_time=time(10),
                                 time_zone="Europe/Zurich", mode="online", link="https://meet.example.org/x",
                                 slot_minutes=20, rounds=2, tables=1, status="planning",
                                 created_by=parties["facilitator"])
    db.session.add(session)
    if name == "session-cancel":
        db.session.commit()
        return "facilitator", f"/sessions/{session.id}/cancel", {}, (MatchmakingSession, session.id, "cancelled"), \
            "Cancel the session"
    session.status, session.public_summary = "held", "Four meetings on payments."
    match = _match(make, parties, "accepted", need_response="accepted", offering_response="accepted")
    db.session.add(SessionMeeting(session=session, match=match, round=0, table_no=0))
    db.session.commit()
    if name == "session-close":
        return "facilitator", f"/sessions/{session.id}/close", {}, (MatchmakingSession, session.id, "closed"), \
            "share its summary"
    return "facilitator", f"/sessions/{session.id}/outcome", \
        {"match": str(match.id), "outcome": "insufficient_interest", "note": ""}, \
        (Match, match.id, "closed_no_result"), "too little interest"


CASES = ["need-withdraw", "need-close", "offering-close", "match-reject", "match-withdraw", "match-decline",
         "match-close", "match-not-held", "match-little-interest", "match-complete", "session-cancel",
         "session-close", "session-outcome"]


@pytest.mark.parametrize("name", CASES)
def test_an_irreversible_action_asks_first_then_acts_on_confirm(app, make, parties, name, signed_in):
    role, url, data, (model, record_id, target), words = _case(name, make, parties)
    client = signed_in(parties[role])
    before = _events()
    response = client.post(url, data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, (name, response.status_code, response.headers.get("Location"))
    assert words in body and "This cannot be undone." in body
    db.session.expire_all()
    assert db.session.get(model, record_id).status != target and _events() == before  # nothing happened yet
    action, fields, cancel = _confirmation_form(body)
    assert action == url and fields["confirm"] == ["1"]
    for key, value in data.items():
        assert fields[key] == [value], key  # what was typed travels with the confirmation
        if key in ("reason", "note") and value:
            assert value in body  # and is shown
    assert client.get(cancel).status_code == 200
    posted = {k: v for k, v in fields.items() if k != "csrf_token"}
    response = client.post(action, data=posted)
    assert response.status_code == 302, name
    db.session.expire_all()
    assert db.session.get(model, record_id).status == target
    assert _events() > before


def test_steps_that_can_be_corrected_later_act_at_once(app, make, parties, signed_in):
    match = _match(make, parties, "proposed")
    client = signed_in(parties["facilitator"])
    assert client.post(f"/matches/{match.id}/decide", data={"action": "approve"}).status_code == 302
    delegate = signed_in(parties["delegate"])
    assert delegate.post(f"/matches/{match.id}/respond", data={"answer": "accept"}).status_code == 302
    draft = make.need("BJ", "draft")
    assert delegate.post(f"/needs/{draft.id}/submit").status_code == 302
    db.session.expire_all()
    assert db.session.get(Match, match.id).need_response == "accepted"
    assert db.session.get(Need, draft.id).status == "submitted"


def test_a_refused_action_is_not_confirmed_first(app, make, parties, signed_in):
    """A step that no longer applies goes straight to the service's refusal: no question about it."""
    need = make.need("BJ", "withdrawn")
    client = signed_in(parties["delegate"])
    response = client.post(f"/needs/{need.id}/withdraw", data={"reason": ""})
    assert response.status_code == 302
    assert "This cannot be undone." not in client.get(response.headers["Location"]).get_data(as_text=True)
