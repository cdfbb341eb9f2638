"""Each role's home page lists what the user has to do next, with counts and links; a delegate sees how many
programmes are under review for each need, never which."""
from __future__ import annotations

import html
import re
from datetime import date, timedelta


def _text(response) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split()))


def _world(make):
    reviewed = make.organisation("SECRETORG")
    itc = make.organisation("ITC")
    need = make.need("BJ", "matched", title="Mobile payments for artisans")
    for n in range(2):
        make.match(need, make.offering(reviewed, "published", title=f"Hidden programme {n}"), "proposed")
    make.match(need, make.offering(itc, "published", title="Export training for women"), "approved")
    make.need("BJ", "draft", title="Returned need", screening_comment="Say which regulators would be trained.")
    make.need("BJ", "draft", title="Unfinished need")
    make.need("BJ", "submitted", title="Consumer law reform")
    make.offering(itc, "published", title="Soon closing", deadline=date.today() + timedelta(days=10),
                  policy_areas=["payments"])
    make.offering(itc, "draft", title="Draft programme")
    make.need("SN", "open", policy_areas=["payments"])
    return need, itc


def test_a_delegate_sees_what_to_do_and_how_many_programmes_are_reviewed(app, make, signed_in):
    need, _itc = _world(make)
    client = signed_in(make.user("delegate", member="BJ"))
    response = client.get("/")
    page, text = response.get_data(as_text=True), _text(response)
    assert "1 need returned by the facilitators" in text and 'href="/needs/?status=draft"' in page
    assert "1 draft to finish and submit for screening" in text
    assert "1 introduction to accept or decline" in text and 'href="/matches/mine"' in page
    assert "Mobile payments for artisans" in text and "2 programmes under review by the facilitators" in text
    assert "1 introduction made" in text
    assert "Consumer law reform" in text and "waiting for screening" in text
    assert "Hidden programme" not in text and "SECRETORG" not in text


def test_a_partner_sees_introductions_expiring_offerings_drafts_and_needs_that_fit(app, make, signed_in):
    _need, itc = _world(make)
    client = signed_in(make.user("partner", organisation=itc))
    response = client.get("/")
    page, text = response.get_data(as_text=True), _text(response)
    assert "1 introduction to accept or decline" in text
    assert "1 offering whose deadline is within 30 days" in text and "Soon closing" in text
    assert "1 draft offering to finish and publish" in text and 'href="/offerings/?status=draft"' in page
    assert "Payment solutions : 1 open need" in text and "policy_area=payments" in page
    assert "Published 4" not in text


def test_a_facilitator_sees_needs_to_screen_proposals_and_sessions(app, make, signed_in):
    _world(make)
    client = signed_in(make.user("facilitator"))
    response = client.get("/")
    page, text = response.get_data(as_text=True), _text(response)
    assert "1 need to screen" in text and 'href="/needs/?status=submitted"' in page
    assert "2 proposals to review" in text and 'href="/matches/?status=proposed"' in page
    assert "1 introduction waiting for the parties' answers" in text
    assert "1 open need without any proposal" in text


def test_nothing_to_do_says_so(app, make, signed_in):
    client = signed_in(make.user("delegate", member="NP"))
    assert "Nothing is waiting for you at the moment." in _text(client.get("/"))
