"""The match pages: pairing by hand, over-long or malformed texts kept and explained, meetings that did not take place,
and counts in the singular in the messages."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import AuditEvent, Match
from matchmaker.services import matches as match_service
from matchmaker.services import matching
from tests.fixtures.records import match_at
from tests.samples import SIGNATURE_NEED, SIGNATURE_OFFERING


@pytest.fixture(autouse=True)
def fresh_index():
    matching.INDEX.reset()
    yield
    matching.INDEX.reset()


def _events(match) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "match", AuditEvent.object_id == match.id).order_by(AuditEvent.id)))


def _select(page: str, name: str) -> str:
    found = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert found, f"no select {name}"
    return found.group(1)


# 1. Pairing by hand: nothing is chosen until the facilitator chooses.

def test_pair_by_hand_starts_with_nothing_chosen_and_refuses_until_both_are(app, make, signed_in):
    org = make.organisation()
    need, offering = make.need("BJ", "open"), make.offering(org, "published")
    client = signed_in(make.user("facilitator"))
    page = client.get("/matches/new").get_data(as_text=True)
    for name in ("need", "offering"):
        first = re.search(r"<option([^>]*)>", _select(page, name)).group(1)
        assert 'value=""' in first, first
        chosen = re.findall(r"<option([^>]*)>", _select(page, name))
        assert all('value=""' in o for o in chosen if "selected" in o), f"{name} is preselected"

    refused = client.post("/matches/new", data={"need": "", "offering": str(offering.id),
                                                "reason": "Met them in Geneva"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Choose the need to pair." in text and "Met them in Geneva" in text
    assert re.search(rf'<option selected value="{offering.id}"|<option value="{offering.id}" selected',
                     _select(text, "offering"))
    refused = client.post("/matches/new", data={"need": str(need.id), "offering": ""})
    assert refused.status_code == 422 and "Choose the offering to pair." in refused.get_data(as_text=True)
    assert client.post("/matches/new", data={}).status_code == 422
    assert db.session.scalar(select(func.count(Match.id))) == 0

    assert client.post("/matches/new", data={"need": str(need.id), "offering": str(offering.id)}).status_code == 302
    assert db.session.scalar(select(func.count(Match.id))) == 1


def test_pair_by_hand_keeps_a_choice_passed_in_the_address(app, make, signed_in):
    org = make.organisation()
    need = make.need("BJ", "open")
    make.offering(org, "published")
    client = signed_in(make.user("facilitator"))
    page = client.get(f"/matches/new?need={need.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{need.id}"|<option value="{need.id}" selected', _select(page, "need"))


# 2. Over-long texts: kept, and the refusal says why.

LONG = ("Too long for the field. " * 100).strip() + "!"  # 2,400 characters


@pytest.mark.parametrize("status, who, path, data, field_id", [
    ("proposed", "facilitator", "decide", {"action": "reject", "reason": LONG}, "reject-reason"),
    ("proposed", "facilitator", "decide", {"action": "approve", "reason": LONG}, "approve-reason"),
    ("approved", "partner", "respond", {"answer": "accept", "note": LONG}, "respond-note"),
    ("approved", "delegate", "respond", {"answer": "decline", "note": LONG}, "respond-note"),
    ("accepted", "partner", "progress", {"action": "meeting_held", "outcome": "informative", "note": LONG},
     "note-meeting_held"),
    ("accepted", "delegate", "progress", {"action": "close", "note": LONG}, "note-close"),
    ("accepted", "partner", "progress", {"action": "not_held", "note": LONG}, "note-not_held"),
])
def test_overlong_text_is_kept_and_explained(app, make, status, who, path, data, field_id, signed_in):
    match, users = match_at(make, status)
    before = _events(match)
    client = signed_in(users[who])
    response = client.post(f"/matches/{match.id}/{path}", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a valid decision" not in page and "Choose to accept" not in page
    textarea = re.search(rf'<textarea[^>]*id="{field_id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert textarea and html.unescape(textarea.group(1)).strip() == LONG.strip()
    assert 'aria-invalid="true"' in textarea.group(0)
    error = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', page, re.S).group(1)
    digits = re.sub(r"\D", "", error)  # 2,400 and 2,000 however the user's language writes them
    assert "2400" in digits and "2000" in digits
    if users[who].language == "en":
        assert "This text is too long: 2,400 characters, the limit is 2,000." in error
    db.session.expire_all()
    assert db.session.get(Match, match.id).status == status and _events(match) == before


def test_control_characters_are_refused_with_the_text_kept(app, make, signed_in):
    match, users = match_at(make, "proposed")
    client = signed_in(users["facilitator"])
    response = client.post(f"/matches/{match.id}/decide", data={"action": "reject", "reason": "bell \x07 here"})
    assert response.status_code == 422 and "invisible control characters" in response.get_data(as_text=True)
    assert db.session.get(Match, match.id).status == "proposed"


def test_a_refusal_by_the_service_keeps_what_was_typed(app, make, signed_in):
    match, users = match_at(make, "accepted")
    client = signed_in(users["partner"])
    # The browser requires an outcome; without it the service refuses and the note stays on the page.
    response = client.post(f"/matches/{match.id}/progress", data={"action": "meeting_held", "note": "We met twice"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Choose the outcome of the meeting." in page and "We met twice" in page
    assert db.session.get(Match, match.id).status == "accepted"


def test_forged_actions_still_redirect_with_a_message(app, make, signed_in):
    match, users = match_at(make, "proposed")
    client = signed_in(users["facilitator"])
    response = client.post(f"/matches/{match.id}/decide", data={"action": "explode"}, follow_redirects=True)
    assert response.status_code == 200 and "Choose a valid decision." in response.get_data(as_text=True)
    assert db.session.get(Match, match.id).status == "proposed"


# 3. A meeting that did not take place is not a meeting held.

def test_meeting_outcomes_offered_are_coherent(app, make, signed_in):
    match, users = match_at(make, "accepted")
    client = signed_in(users["partner"])
    page = client.get(f"/matches/{match.id}").get_data(as_text=True)
    outcomes = _select(page, "outcome")
    assert 'value="did_not_take_place"' not in outcomes
    assert 'value="cooperation_possible"' in outcomes
    assert re.search(r'value="insufficient_interest"[^>]*>[^<]*closes the match', outcomes)
    assert 'value="not_held"' in page and "The meeting did not take place: close the match" in page


def test_a_meeting_that_did_not_take_place_closes_the_match_and_says_so(app, make, signed_in):
    match, users = match_at(make, "accepted")
    client = signed_in(users["partner"])
    forged = client.post(f"/matches/{match.id}/progress", data={"action": "meeting_held",
                                                                 "outcome": "did_not_take_place"})
    assert forged.status_code == 422
    assert db.session.get(Match, match.id).status == "accepted"
    response = client.post(f"/matches/{match.id}/progress", data={"action": "not_held", "note": "They cancelled",
                                                                    "confirm": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    match = db.session.get(Match, match.id)
    assert match.status == "closed_no_result" and match.outcome == "did_not_take_place"
    assert _events(match)[-1] == "match.meeting_held"  # the audit trail and the exports keep their vocabulary
    page = client.get(f"/matches/{match.id}").get_data(as_text=True)
    assert "Meeting held (Did not take place)" not in page
    assert "The meeting did not take place: the match was closed without result" in page
    assert "Outcome of the meeting: Did not take place" not in page


def test_history_says_when_a_meeting_closed_the_match(app, make, signed_in):
    match, users = match_at(make, "accepted")
    match_service.progress(users["delegate"], match, "meeting_held", outcome="insufficient_interest")
    db.session.commit()
    client = signed_in(users["partner"])
    page = client.get(f"/matches/{match.id}").get_data(as_text=True)
    assert "Meeting held (Insufficient interest): the match was closed without result" in page


def test_history_names_an_acceptance_by_attendance(app, make, signed_in):
    match, users = match_at(make, "approved")
    from matchmaker.services.audit import record

    record(users["facilitator"], "match.accepted_by_attendance", match, session_id=1)
    db.session.commit()
    client = signed_in(users["partner"])
    page = client.get(f"/matches/{match.id}").get_data(as_text=True)
    assert "match.accepted_by_attendance" not in page and "by taking part in a matchmaking session" in page


# 4. Plurals.

def test_run_matching_message_counts_in_the_singular(app, make, signed_in):
    org = make.organisation()
    make.offering(org, "published", **SIGNATURE_OFFERING)
    need = make.need("BJ", "open", **SIGNATURE_NEED)
    db.session.execute(Match.__table__.delete())
    db.session.commit()
    client = signed_in(make.user("facilitator"))
    page = client.post("/matches/run", data={"scope": "all"}, follow_redirects=True).get_data(as_text=True)
    assert "Matching ran over 1 need:" in page and "1 new proposal," in page, page
    assert "1 needs" not in page and "1 new proposals" not in page
    assert "0 needs got no proposal" in page
    assert db.session.scalar(select(Match.need_id)) == need.id


def test_bulk_approve_message_counts_in_the_singular(app, make, signed_in):
    org = make.organisation()
    match = make.match(make.need("BJ", "open"), make.offering(org, "published", capacity=None))
    client = signed_in(make.user("facilitator"))
    page = client.post("/matches/bulk-approve", data={"ids": [str(match.id)]},
                       follow_redirects=True).get_data(as_text=True)
    assert "1 proposal approved" in page and "1 proposals" not in page


def test_bulk_approve_says_when_the_comment_is_too_long(app, make, signed_in):
    org = make.organisation()
    match = make.match(make.need("BJ", "open"), make.offering(org, "published", capacity=None))
    client = signed_in(make.user("facilitator"))
    page = client.post("/matches/bulk-approve", data={"ids": [str(match.id)], "reason": "z" * 600},
                       follow_redirects=True).get_data(as_text=True)
    assert "This text is too long: 600 characters, the limit is 500." in page and "Tick at least one" not in page
    assert db.session.get(Match, match.id).status == "proposed"
