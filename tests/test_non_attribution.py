"""Non-attribution, attacked as the threat model says (README, "Threat model").

* A partner: signs in, reads every page, API answer, export and filter result about the open needs, and counts the
  eligible members that fit everything shown about each anonymous need (region or wider area, LDC status, the
  languages of the text and of the support wanted), with the public list of members (members.csv) at hand. At
  least 3 must fit, also for an attacker who knows the rules that chose the description.
* Anyone: reads the public report's CSV files and solves them as a linear programme with every total, counts that
  are non-negative integers, and the zero policy the report states (a suppressed cell may be 0 only if no zero is
  ever published beside one: checked here). No suppressed cell may be pinned, none narrowed to 1 or 2.
* Anyone, twice: reads the report, a facilitator opens one need of a member alone in its region among LDCs, reads
  it again; then after the next edition. Nothing may move between editions, and the difference between two
  editions may not show which figure moved.

The attacker's reasoning is written here, independently of the service's code; only the last step of the first
attack (what the rules would show for every other member) asks the service, since the attacker knows the rules.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import Match, Need, Offering, User
from matchmaker.services import editions
from tests.attacks.non_attribution import (
    DEMO_PASSWORD,
    anonymous_needs,
    attack_report,
    changed_cells,
    public_members,
    publish,
    read_everything,
    read_report,
)
from tests.helpers import page_text


@pytest.fixture
def demo(app, ctx):
    """The demo data as `make run` loads it, with the engine's proposals and one introduction for the partner."""
    from matchmaker.services.demo import seed_demo
    from matchmaker.services.matches import approve
    from matchmaker.services.matching import run_matching

    seed_demo()
    run_matching(None)
    db.session.commit()
    facilitator = db.session.scalar(select(User).where(User.email == "facilitator@example.org"))
    partner = db.session.scalar(select(User).where(User.email == "partner@example.org"))
    proposed = db.session.scalars(select(Match).join(Offering).where(
        Match.status == "proposed", Offering.organisation_id == partner.organisation_id).order_by(Match.id)).first()
    approve(facilitator, proposed)  # the partner now knows this one need's member
    db.session.commit()
    return {"facilitator": facilitator, "partner": partner}


# ---- what a partner is shown --------------------------------------------------------------------------------

def test_what_a_partner_reads_about_an_anonymous_need_fits_three_members(app, demo, signed_in):
    members = public_members()
    client = signed_in("partner@example.org", DEMO_PASSWORD)
    shown = read_everything(app, client, demo["partner"])
    anonymous = anonymous_needs(demo["partner"])
    assert len(anonymous) > 30, "the demo must give the attack something to read"
    few = {}
    for need in anonymous:
        seen = shown[need.id]
        assert not seen.names, (need.id, seen.names)
        fitting = seen.fitting(members)
        if len(fitting) < 3:
            few[need.id] = (need.member.code, fitting)
    assert few == {}, f"needs whose shown attributes fit fewer than 3 members: {few}"
    # The attacker also knows the rules that chose each description: of the members that fit, those whose own
    # need would read the same way.
    from matchmaker.services import anonymity

    population = anonymity.population()
    for need in anonymous:
        view = anonymity.shown(need.member_id, need.language, need.delivery_languages)
        described = population.candidates(view.origin, view.signature)
        assert len(described) >= 3, (need.id, need.member.code, view, described)


# ---- the public report as a linear programme ------------------------------------------------------------------

def test_the_public_report_cannot_be_solved(app, demo):
    publish(app)
    reader = app.test_client()
    tables = read_report(reader)
    assert any("suppressed" in t for t in tables.values()), "the demo has small cells to protect"
    assert attack_report(reader, tables) == {}


# ---- two readings, two editions --------------------------------------------------------------------------------

def test_two_readings_around_one_change_give_nothing_away(app, demo, signed_in):
    reader = app.test_client()
    publish(app)
    first, first_number = read_report(reader), editions.latest().number
    first_page = page_text(reader, "/reports/")
    # A facilitator opens the submitted need of the Solomon Islands (the Pacific's only LDC).
    need = db.session.scalar(select(Need).join(Need.member).where(Need.status == "submitted")
                             .where(Need.member.has(code="SB")))
    facilitator = signed_in("facilitator@example.org", DEMO_PASSWORD)
    page = facilitator.get(f"/needs/{need.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert facilitator.post(f"/needs/{need.id}/open", data={"csrf_token": token}).status_code == 302
    # Until the next edition, the report does not move at all.
    assert read_report(reader) == first and page_text(reader, "/reports/") == first_page
    publish(app)
    second = read_report(reader)
    assert changed_cells(first, second) == {}
    # The first edition is still there, as it was.
    assert read_report(reader, f"/reports/editions/{first_number}") == first
