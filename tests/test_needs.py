"""The need life cycle, its permissions, its audit trail, lists with filters, and confidentiality."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from matchmaker.errors import DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.models import AuditEvent, Need
from matchmaker.services import needs as needs_service
from tests.fixtures.records import match_at
from tests.helpers import login
from tests.samples import NEED_FORM


def _events(need_id):
    return [e.action for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "need", AuditEvent.object_id == need_id)
        .order_by(AuditEvent.id))]


def test_delegate_creates_submits_and_facilitator_screens(app, make):
    delegate, facilitator = make.user("delegate", member="BJ"), make.user("facilitator")
    d, f = app.test_client(), app.test_client()
    login(d, delegate)
    login(f, facilitator)
    response = d.post("/needs/new", data=NEED_FORM)
    assert response.status_code == 302
    need = db.session.scalar(select(Need))
    assert need.status == "draft" and need.member.code == "BJ" and need.created_by_id == delegate.id
    assert need.policy_areas == ["e_transactions", "consumer_protection"]
    # Facilitators do not see drafts.
    assert f.get(f"/needs/{need.id}").status_code == 403
    assert d.post(f"/needs/{need.id}/submit").status_code == 302
    # A return needs a reason: said by the box where it goes.
    refused = f.post(f"/needs/{need.id}/return", data={"reason": ""})
    assert refused.status_code == 422 and '<p class="error" id="reason-return-error">Say why the need is returned' in \
        refused.get_data(as_text=True)
    db.session.refresh(need)
    assert need.status == "submitted"
    returned = f.post(f"/needs/{need.id}/return", data={"reason": "Say which regulators would be trained."})
    # the facilitator no longer sees the draft: they land on the list, not on a page they may not open
    assert returned.status_code == 302 and returned.headers["Location"].endswith("/needs/")
    assert "“Draft”" in f.get("/needs/").get_data(as_text=True)
    db.session.refresh(need)
    assert need.status == "draft" and "regulators" in need.screening_comment
    page = d.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "Say which regulators would be trained." in page
    d.post(f"/needs/{need.id}/submit")
    f.post(f"/needs/{need.id}/open", data={"reason": "Clear and complete."})
    db.session.refresh(need)
    assert need.status == "open" and need.opened_at is not None
    d.post(f"/needs/{need.id}/withdraw", data={"reason": "Covered by a bilateral project.", "confirm": "1"})
    db.session.refresh(need)
    assert need.status == "withdrawn"
    assert _events(need.id) == ["need.created", "need.submit", "need.return", "need.submit", "need.open",
                                "need.withdraw"]
    withdraw = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "need.withdraw"))
    assert withdraw.actor_id == delegate.id and withdraw.reason == "Covered by a bilateral project."
    assert withdraw.detail == {"from": "open", "to": "withdrawn"}


ALL_STATUSES = ("draft", "submitted", "open", "matched", "in_progress", "fulfilled", "withdrawn", "closed")


@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize("action", sorted(needs_service.TRANSITIONS))
def test_every_transition_from_every_status(make, status, action):
    """Allowed steps move the need; every other step is refused and changes nothing."""
    need = make.need("BJ", status)
    sources, target, permission = needs_service.TRANSITIONS[action]
    delegate_actions = ("need.submit", "need.withdraw")
    actor = make.user("delegate", member="BJ") if permission in delegate_actions else make.user("facilitator")
    if status in sources:
        needs_service.transition(actor, need, action, reason="because")
        db.session.commit()
        assert need.status == target
    else:
        with pytest.raises(DomainError):
            needs_service.transition(actor, need, action, reason="because")
        db.session.rollback()
        db.session.refresh(need)
        assert need.status == status


def test_another_member_cannot_act_on_the_need(make):
    need = make.need("BJ", "draft")
    other = make.user("delegate", member="SN")
    with pytest.raises(NotPermitted):
        needs_service.transition(other, need, "submit")
    with pytest.raises(NotPermitted):
        needs_service.update_need(other, need, {"title": "Hijacked title"})


def test_closed_need_cannot_be_edited(app, make, signed_in):
    need = make.need("BJ", "closed")
    delegate = make.user("delegate", member="BJ")
    with pytest.raises(TransitionNotAllowed):
        needs_service.update_need(delegate, need, {"title": "Changed after closing"})
    client = signed_in(delegate)
    response = client.post(f"/needs/{need.id}/edit", data=NEED_FORM)
    assert response.status_code == 302
    db.session.refresh(need)
    assert need.title != NEED_FORM["title"]


def test_edit_records_changed_fields(app, make, signed_in):
    need = make.need("BJ", "open")
    client = signed_in(make.user("delegate", member="BJ"))
    assert client.post(f"/needs/{need.id}/edit", data=NEED_FORM).status_code == 302
    db.session.refresh(need)
    assert need.title == NEED_FORM["title"] and need.language == "fr"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "need.updated"))
    assert "title" in event.detail["fields"] and "language" in event.detail["fields"]


def test_partner_does_not_see_the_member_unless_it_chose_to_be_named(app, make, signed_in):
    hidden = make.need("BJ", "open", title="Hidden origin need for payments")
    named = make.need("SN", "open", title="Named origin need for payments", attributed=True)
    draft = make.need("BJ", "draft", title="A draft nobody else sees")
    partner = make.user("partner", organisation=make.organisation())
    client = signed_in(partner)
    listing = client.get("/needs/").get_data(as_text=True)
    assert "Hidden origin need" in listing and "A draft nobody else sees" not in listing
    page = client.get(f"/needs/{hidden.id}").get_data(as_text=True)
    benin = make.member("BJ")
    for identity in (benin.name_en, benin.name_fr, benin.name_es):
        assert identity not in page and identity not in listing
    assert "A member in Africa" in page
    assert make.member("SN").name_en in client.get(f"/needs/{named.id}").get_data(as_text=True)
    assert client.get(f"/needs/{draft.id}").status_code == 403


def test_filters_search_and_pagination(app, make, signed_in):
    for i in range(25):
        make.need("BJ", "open", title=f"Broadband backbone need {i:02d}", policy_areas=["ict_infrastructure"])
    make.need("HT", "open", title="Paiement mobile pour les marchés", language="fr", policy_areas=["payments"],
              description="Les vendeurs ne peuvent pas être payés par téléphone mobile.")
    make.need("PE", "open", title="Protección del consumidor en línea", language="es",
              policy_areas=["consumer_protection"], description="Los compradores en línea no tienen recursos.")
    client = signed_in(make.user("facilitator"))

    def titles(query):
        html = client.get("/needs/" + query).get_data(as_text=True)
        return html

    first = titles("")
    assert "27 needs" in first and "Page 1 of 2" in first
    assert "Page 2 of 2" in titles("?page=2")
    assert "Page 1 of 2" in titles("?page=abc")  # nonsense page numbers fall back to the first
    assert "1 need" in titles("?policy_area=payments") and "Paiement mobile" in titles("?policy_area=payments")
    assert "Protección" in titles("?language=es") and "Paiement" not in titles("?language=es")
    assert "Paiement mobile" in titles("?region=caribbean")
    assert "26 needs" in titles("?ldc=yes")  # Benin and Haiti are LDCs; Peru is not
    assert "Paiement" in titles("?q=marchés")
    assert "0 needs" in titles("?status=fulfilled")
    bad = client.get("/needs/?status=nonsense&policy_area=<script>&page=-4")
    assert bad.status_code == 200 and "<script>" not in bad.get_data(as_text=True)


def test_delegate_lists_only_their_members_needs(app, make, signed_in):
    make.need("BJ", "draft", title="Our own draft need")
    make.need("SN", "open", title="Someone else's open need")
    client = signed_in(make.user("delegate", member="BJ"))
    html = client.get("/needs/").get_data(as_text=True)
    assert "Our own draft need" in html and "Someone else" not in html


def test_end_before_start_is_a_form_error_not_a_crash(app, make, signed_in):
    delegate = make.user("delegate", member="BJ")
    client = signed_in(delegate)
    response = client.post("/needs/new", data=dict(NEED_FORM, start_date="2027-06-01", end_date="2027-01-01"))
    assert response.status_code == 422
    assert "The end date must be after the start date." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Need.id))) == 0


def test_the_audit_log_names_each_record_and_links_only_to_pages_the_reader_may_open(app, make):
    from matchmaker.services import accounts

    delegate, facilitator, admin = make.user("delegate", member="BJ"), make.user("facilitator"), make.user("admin")
    d, f, a = app.test_client(), app.test_client(), app.test_client()
    login(d, delegate)
    login(f, facilitator)
    login(a, admin)
    d.post("/needs/new", data=NEED_FORM)
    need = db.session.scalar(select(Need))
    page = f.get("/admin/audit").get_data(as_text=True)
    # a draft is the delegation's own: named, not linked, for a facilitator
    assert f"{delegate.name} drafted the need “{need.title}”" in page and f'href="/needs/{need.id}"' not in page
    d.post(f"/needs/{need.id}/submit")
    page = f.get("/admin/audit?type=need").get_data(as_text=True)
    assert f'submitted the need <a href="/needs/{need.id}">“{need.title}”</a> for screening' in page
    # accounts are linked for an admin only; no internal class names are shown
    accounts.update_user(admin, delegate, role="delegate", active=True, member=delegate.member, organisation=None,
                         name="Didier Délégué", language="fr")
    db.session.commit()
    assert f'<a href="/admin/users/{delegate.id}">' not in f.get("/admin/audit").get_data(as_text=True)
    page = a.get("/admin/audit?type=user").get_data(as_text=True)
    assert f'{admin.name} changed the account of <a href="/admin/users/{delegate.id}">Didier Délégué</a>' in page
    assert "matchmakingsession" not in a.get("/admin/audit").get_data(as_text=True).split("<tbody>")[1]


def test_the_audit_log_says_what_a_match_event_means(app, make, signed_in):
    match, users = match_at(make, "proposed")
    client = signed_in(users["facilitator"])
    client.post(f"/matches/{match.id}/decide", data={"action": "approve", "reason": ""})
    page = client.get("/admin/audit?type=match").get_data(as_text=True)
    assert (f'{users["facilitator"].name} approved <a href="/matches/{match.id}">match #{match.id}</a> and introduced '
            "the parties") in page
    assert "match.approve" not in page.split("<tbody>")[1]


def test_a_refused_comment_is_kept_with_the_reason(app, make, signed_in):
    """A comment over the limit (the browser's maxlength bypassed) comes back in its box, with its length."""
    delegate = make.user("delegate", member="BJ")
    need = make.need("BJ", "open")
    client = signed_in(delegate)
    text = "Covered by a bilateral project. " * 70
    response = client.post(f"/needs/{need.id}/withdraw", data={"reason": text})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and text.strip() in page
    assert f"This text is too long: {len(text.strip()):,} characters, the limit is 2,000." in page
    db.session.refresh(need)
    assert need.status == "open" and "need.withdraw" not in _events(need.id)
