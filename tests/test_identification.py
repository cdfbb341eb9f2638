"""A need whose text names its member: the one matcher (services/identification.py), the delegate's warning before
submitting, the facilitator's at screening (who returns it for a rewording), and nothing rewritten."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from matchmaker.api.tokens import create_token
from matchmaker.extensions import db
from matchmaker.models import Member, Need
from matchmaker.services.identification import names_in
from tests.helpers import csrf_token


def member(code: str) -> Member:
    return db.session.scalar(select(Member).where(Member.code == code))


@pytest.mark.parametrize("code, text, found", [
    ("HT", "Les artisans haïtiens vendent en ligne depuis Port-au-Prince.", ["haïtiens"]),
    ("HT", "Our HTI customs office", ["HTI"]),
    ("SN", "Au SÉNÉGAL, les commerçantes sénégalaises", ["SÉNÉGAL", "sénégalaises"]),
    ("BO", "Bolivia y los bolivianos", ["Bolivia", "bolivianos"]),  # "Bolivia, Plurinational State of"
    ("CI", "En Côte d’Ivoire, les Ivoiriens", ["Côte d’Ivoire", "Ivoiriens"]),
    ("CD", "La RDC et le Congo", ["RDC", "Congo"]),  # an other name, and a distinctive word of the name
    ("LK", "Sri Lankan exporters", ["Sri Lankan"]),
    ("BJ", "Le BJ et le Bénin", ["BJ", "Bénin"]),
    ("ML", "malicious software and e-commerce", []),  # "Mali" is not in "malicious"
    ("NE", "exports to Nigeria", []),  # Niger is not Nigeria
    ("CR", "llevar a cabo en la costa", []),  # ordinary Spanish words of other names are not names
    ("CF", "car la demande est forte", []),  # an acronym ("CAR") only in capitals
])
def test_names_in_finds_a_member_however_it_is_written(ctx, code, text, found):
    assert names_in(text, [member(code)]) == found


NAMED = {"title": "Aider les artisans haïtiens à vendre en ligne",
         "description": "Les artisans d'Haïti vendent peu en ligne: il leur manque des paiements et de la logistique "
                        "pour expédier leurs produits à l'étranger.",
         "language": "fr", "policy_areas": "payments", "support_kinds": "training", "delivery_languages": "fr",
         "priority": "medium"}


def test_the_delegate_is_told_before_submitting_and_the_facilitator_at_screening(app, make, signed_in):
    delegate = make.user("delegate", member="HT")
    client = signed_in(delegate)
    form = client.get("/needs/new").get_data(as_text=True)
    response = client.post("/needs/new", data={**NAMED, "csrf_token": csrf_token(form)}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    need = db.session.scalar(select(Need).where(Need.member_id == delegate.member_id))
    assert need.title == NAMED["title"] and need.description == NAMED["description"]  # nothing rewritten
    # The flash after saving, and the box above the Submit button, name the words.
    assert page.count("haïtiens") >= 2 and "Haïti" in page and 'id="names-member"' in page
    assert page.index('id="names-member"') < page.index("Submit for screening")
    assert 'id="names-member"' in client.get(f"/needs/{need.id}/edit").get_data(as_text=True)
    # The API tells the delegation's tools too.
    _token, secret = create_token(delegate, "t")
    db.session.commit()
    record = client.get(f"/api/v1/needs/{need.id}", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert record["names_member"] == ["haïtiens", "Haïti"]
    # Submitted anyway: the facilitator sees it at screening and returns it with a comment.
    detail = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert client.post(f"/needs/{need.id}/submit", data={"csrf_token": csrf_token(detail)}).status_code == 302
    staff = signed_in(make.user("facilitator"))
    screening = staff.get(f"/needs/{need.id}").get_data(as_text=True)
    assert 'id="names-member"' in screening and "return it to the delegation" in screening
    returned = staff.post(f"/needs/{need.id}/return", data={
        "csrf_token": csrf_token(screening), "reason": "Please do not name your country in the text."})
    assert returned.status_code == 302
    db.session.refresh(need)
    assert need.status == "draft" and need.screening_comment.startswith("Please do not name")


def test_nobody_is_told_when_the_member_chose_to_be_named_or_the_text_names_no_one(app, make, signed_in):
    delegate = make.user("delegate", member="HT")
    client = signed_in(delegate)
    named = make.need("HT", "draft", title="Haïti: paiements en ligne", attributed=True, created_by=delegate)
    plain = make.need("HT", "draft", title="Paiements en ligne pour les artisans", created_by=delegate)
    assert 'id="names-member"' not in client.get(f"/needs/{named.id}").get_data(as_text=True)
    assert 'id="names-member"' not in client.get(f"/needs/{plain.id}").get_data(as_text=True)
    # A partner reading an open need that names its member is not told anything more than the text says.
    opened = make.need("HT", "open", title="Haïti: paiements en ligne")
    partner = signed_in(make.user("partner", organisation=make.organisation()))
    assert not re.search('id="names-member"', partner.get(f"/needs/{opened.id}").get_data(as_text=True))
