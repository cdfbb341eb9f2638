"""The offering life cycle: draft, publish, close, expiry at the deadline; edits by the owning organisation only."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from matchmaker.errors import DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.models import AuditEvent, Offering
from matchmaker.services import offerings as offerings_service
from tests.samples import OFFERING_FORM


def test_partner_creates_publishes_and_closes(app, make, signed_in):
    org = make.organisation("UNODC")
    partner = make.user("partner", organisation=org)
    client = signed_in(partner)
    assert client.post("/offerings/new", data=OFFERING_FORM).status_code == 302
    offering = db.session.scalar(select(Offering))
    assert offering.status == "draft" and offering.organisation_id == org.id
    assert offering.eligible_regions == ["africa", "caribbean"] and offering.capacity == 4
    assert offering.contact_email == "jane.doe@example.org"
    client.post(f"/offerings/{offering.id}/publish")
    db.session.refresh(offering)
    assert offering.status == "published" and offering.published_at is not None
    client.post(f"/offerings/{offering.id}/close", data={"reason": "Programme fully booked", "confirm": "1"})
    db.session.refresh(offering)
    assert offering.status == "closed"
    # Closed: no more edits.
    response = client.post(f"/offerings/{offering.id}/edit", data=dict(OFFERING_FORM, title="Changed after closing"))
    assert response.status_code == 302
    db.session.refresh(offering)
    assert offering.title == OFFERING_FORM["title"]
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
               if e.object_type == "offering"]
    assert actions == ["offering.created", "offering.publish", "offering.close"]


def test_eligibility_by_region_needs_regions(app, make, signed_in):
    client = signed_in(make.user("partner", organisation=make.organisation()))
    response = client.post("/offerings/new", data=dict(OFFERING_FORM, eligible_regions=[]))
    assert response.status_code == 422
    assert '<p class="error" id="eligible_regions-error">Choose at least one region' in response.get_data(as_text=True)
    assert db.session.scalar(select(Offering)) is None


def test_members_eligibility_and_regions_are_cleared_when_not_used(app, make, signed_in):
    client = signed_in(make.user("partner", organisation=make.organisation()))
    client.post("/offerings/new", data=dict(OFFERING_FORM, eligibility="members", eligible_members=["BJ", "HT"]))
    offering = db.session.scalar(select(Offering))
    assert offering.eligible_members == ["BJ", "HT"] and offering.eligible_regions == []
    forged = client.post("/offerings/new", data=dict(OFFERING_FORM, eligibility="members", eligible_members=["ZZ"]))
    assert forged.status_code == 422


def test_expired_offering_is_shown_as_expired_and_not_open(app, make, signed_in):
    org = make.organisation()
    past = make.offering(org, "published", deadline=date.today() - timedelta(days=1), title="Old call for proposals")
    today = date.today()
    assert past.display_status(today) == "expired" and not past.is_open(today)
    client = signed_in(make.user("delegate", member="BJ"))
    page = client.get(f"/offerings/{past.id}").get_data(as_text=True)
    assert "Expired" in page and "deadline has passed" in page
    assert "Old call for proposals" in client.get("/offerings/?status=expired").get_data(as_text=True)
    assert "Old call for proposals" not in client.get("/offerings/?status=published").get_data(as_text=True)


def test_cannot_publish_past_deadline(make):
    org = make.organisation()
    partner = make.user("partner", organisation=org)
    offering = make.offering(org, "draft", deadline=date.today() - timedelta(days=3))
    with pytest.raises(DomainError):
        offerings_service.transition(partner, offering, "publish", today=date.today())


@pytest.mark.parametrize("status", ["draft", "published", "closed"])
@pytest.mark.parametrize("action", ["publish", "close"])
def test_every_transition_from_every_status(make, status, action):
    org = make.organisation()
    partner = make.user("partner", organisation=org)
    offering = make.offering(org, status)
    sources, target, _permission = offerings_service.TRANSITIONS[action]
    if status in sources:
        offerings_service.transition(partner, offering, action, today=date.today())
        assert offering.status == target
    else:
        with pytest.raises(TransitionNotAllowed):
            offerings_service.transition(partner, offering, action, today=date.today())
        assert offering.status == status


def test_other_organisation_cannot_edit_or_publish(make):
    org, other = make.organisation(), make.organisation()
    intruder = make.user("partner", organisation=other)
    offering = make.offering(org, "draft")
    with pytest.raises(NotPermitted):
        offerings_service.update_offering(intruder, offering, {"title": "Not yours"})
    with pytest.raises(NotPermitted):
        offerings_service.transition(intruder, offering, "publish", today=date.today())


def test_facilitator_may_close_but_not_edit(make):
    org = make.organisation()
    offering = make.offering(org, "published")
    facilitator = make.user("facilitator")
    with pytest.raises(NotPermitted):
        offerings_service.update_offering(facilitator, offering, {"title": "Edited by staff"})
    offerings_service.transition(facilitator, offering, "close", today=date.today(), reason="Programme ended")
    assert offering.status == "closed"


def test_other_organisations_drafts_are_not_listed(app, make, signed_in):
    org, other = make.organisation(), make.organisation()
    make.offering(org, "draft", title="Our unpublished draft")
    make.offering(other, "draft", title="Their unpublished draft")
    make.offering(other, "published", title="Their published programme")
    client = signed_in(make.user("partner", organisation=org))
    html = client.get("/offerings/").get_data(as_text=True)
    assert "Our unpublished draft" in html and "Their published programme" in html
    assert "Their unpublished draft" not in html


def test_a_refused_closing_comment_is_kept_with_the_reason(app, make, signed_in):
    org = make.organisation()
    partner = make.user("partner", organisation=org)
    offering = make.offering(org, "published")
    client = signed_in(partner)
    text = "x" * 2001
    response = client.post(f"/offerings/{offering.id}/close", data={"reason": text})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and text in page and "This text is too long: 2,001 characters" in page
    db.session.refresh(offering)
    assert offering.status == "published"
