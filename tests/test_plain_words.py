"""Pages in the words of their readers: no engine jargon on the match page (a concept is a "shared idea"; the engine's
version and raw scores wait behind a "Details" disclosure), and no sentence that says the same thing twice."""
from __future__ import annotations

import html
import re
from datetime import date, time

import html5lib
import pytest

from matchmaker.extensions import db
from matchmaker.models import MatchmakingSession, SessionMeeting


def _visible_outside_details(body: str) -> str:
    """The text of <main> a reader sees before opening any disclosure."""
    tree = html5lib.parse(body, namespaceHTMLElements=False)
    main = next(tree.iter("main"))
    for parent in list(main.iter()):
        for child in list(parent):
            if child.tag == "details":
                parent.remove(child)
    return " ".join("".join(main.itertext()).split())


@pytest.mark.parametrize("role", ["facilitator", "delegate"])
def test_the_match_page_speaks_plainly_and_keeps_the_engine_details_behind_a_disclosure(app, make, role, signed_in):
    org = make.organisation("ITC")
    offering = make.offering(org, "published")
    need = make.need("BJ", "matched")
    match = make.match(need, offering, "approved", score=0.4321, engine_version="1.5.0",
                       terms=[["concept: electronic signature", 0.21], ["regulators", 0.12]])
    reader = make.user("facilitator") if role == "facilitator" else make.user("delegate", member="BJ")
    client = signed_in(reader)
    body = client.get(f"/matches/{match.id}").get_data(as_text=True)
    seen = _visible_outside_details(body)
    assert "shared idea: electronic signature" in seen and "regulators" in seen
    for jargon in ("concept:", "version", "1.5.0", "0.432", "0.210", "engine (", "score"):
        assert jargon not in seen, jargon
    details = " ".join(body.split("<details class=\"more\">")[1].split("</details>")[0].split())
    assert "1.5.0" in details and "0.432" in details and "Details" in details


def test_a_meeting_not_yet_on_the_agenda_is_said_once(app, make, signed_in):
    org = make.organisation("ITC")
    partner = make.user("partner", organisation=org, language="fr")
    match = make.match(make.need("BJ", "matched"), make.offering(org, "published"), "approved")
    session = MatchmakingSession(title="Clinique des paiements", policy_areas=[], date=date(2030, 1, 7),
                                 start_time=time(10), time_zone="Europe/Zurich", mode="online",
                                 link="https://meet.example.org/x", slot_minutes=20, rounds=2, tables=1,
                                 status="planning")
    db.session.add_all([session, SessionMeeting(session=session, match=match)])
    db.session.commit()
    client = signed_in(partner)
    page = html.unescape(" ".join(re.sub(r"<[^>]+>", " ", client.get(f"/sessions/{session.id}").get_data(
        as_text=True)).split()))
    assert "Pas au programme : pas encore au programme" not in page.replace("\u00a0", " ")
    assert "Pas au programme : les facilitateurs n'ont pas encore établi le programme." in page.replace("\u00a0", " ")
