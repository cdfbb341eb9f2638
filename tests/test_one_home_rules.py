"""Each rule has one home that every way in reads: a field limit changed in field_rules.py changes the form, the API
and the CSV import; the list page and the API list the same records for the same filters; the contacts of a match
are shown where permissions.py says so."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from matchmaker import field_rules, permissions
from matchmaker.api.tokens import create_token
from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.imports.csv_import import read_rows
from matchmaker.imports.iati_import import ImportOptions, map_activity, parse_file
from matchmaker.models import Match, Need, Offering
from matchmaker.services import matches as match_service
from matchmaker.services import offerings as offerings_service
from tests.conftest import login
from tests.samples import iati_activity, iati_file

NEED_FORM = {
    "title": "Draft a law on electronic signatures",  # 36 characters
    "description": "Our courts do not accept electronically signed contracts; we need a modern law and training.",
    "language": "en", "policy_areas": ["e_transactions"], "support_kinds": ["legal_advice"],
    "delivery_languages": ["en"], "priority": "high",
}
CSV_HEADER = "title,description,language,policy_areas,support_kinds,delivery_languages,contact_email\n"


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def api_client(app, user):
    _token, secret = create_token(user, "tests")
    db.session.commit()
    return app.test_client(), bearer(secret)


def csv_offering(title: str = NEED_FORM["title"], email: str = "") -> bytes:
    return (CSV_HEADER + f'"{title}","{NEED_FORM["description"]}",en,payments,training,en,{email}\n').encode()


def problems_of(preview, column: str) -> list[str]:
    return [p.message for p in preview.problems if p.column == column]


# ---- field limits ----------------------------------------------------------------------------------------------------

def test_a_title_limit_changed_in_its_home_changes_the_form_the_api_and_the_csv_import(app, make, monkeypatch):
    monkeypatch.setitem(field_rules.LIMITS, "title", field_rules.Bounds(5, 20))
    delegate = make.user("delegate", member="BJ")
    web = app.test_client()
    login(web, delegate)

    form = web.post("/needs/new", data=NEED_FORM)
    assert form.status_code == 422 and "between 5 and 20 characters" in form.get_data(as_text=True)

    client, headers = api_client(app, delegate)
    api = client.post("/api/v1/needs", headers=headers, json={key: value for key, value in NEED_FORM.items()})
    assert api.status_code == 422 and "title" in api.get_json()["errors"]
    assert db.session.scalar(select(func.count()).select_from(Need)) == 0

    preview = read_rows("offerings", csv_offering())
    assert problems_of(preview, "title") == ["At most 20 characters (this one has 36)."]
    # The same title within the usual limit is accepted by the CSV import once the limit is back.
    monkeypatch.setitem(field_rules.LIMITS, "title", field_rules.Bounds(5, 200))
    assert problems_of(read_rows("offerings", csv_offering()), "title") == []


def test_a_description_minimum_changed_in_its_home_is_enforced_everywhere(app, make, monkeypatch):
    monkeypatch.setitem(field_rules.LIMITS, "description", field_rules.Bounds(200, 10_000))
    delegate = make.user("delegate", member="BJ")
    web = app.test_client()
    login(web, delegate)
    assert web.post("/needs/new", data=NEED_FORM).status_code == 422
    client, headers = api_client(app, delegate)
    assert client.post("/api/v1/needs", headers=headers, json=NEED_FORM).get_json()["errors"].keys() == \
        {"description"}
    assert problems_of(read_rows("offerings", csv_offering()), "description") == ["At least 200 characters."]


def test_the_form_marks_its_text_fields_with_the_limits_of_the_home(app, make, monkeypatch):
    monkeypatch.setitem(field_rules.LIMITS, "title", field_rules.Bounds(7, 77))
    web = app.test_client()
    login(web, make.user("delegate", member="BJ"))
    html = web.get("/needs/new").get_data(as_text=True)
    title_input = re.search(r'<input[^>]*id="title"[^>]*>', html).group(0)
    assert 'maxlength="77"' in title_input and 'minlength="7"' in title_input


def test_the_csv_import_checks_e_mail_addresses_as_the_form_and_the_api_do(app, make):
    # Two dots in a row: no e-mail address (email-validator), although "something@domain.tld" in shape.
    address = "jane..doe@example.org"
    preview = read_rows("offerings", csv_offering(email=address))
    assert problems_of(preview, "contact_email") == ["Not an e-mail address."]
    assert problems_of(read_rows("offerings", csv_offering(email="jane.doe@example.org")), "contact_email") == []
    partner = make.user("partner", organisation=make.organisation("ITC"))
    client, headers = api_client(app, partner)
    body = {**NEED_FORM, "policy_areas": ["payments"], "support_kinds": ["training"], "contact_email": address}
    body.pop("priority")
    response = client.post("/api/v1/offerings", headers=headers, json=body)
    assert response.status_code == 422 and "contact_email" in response.get_json()["errors"]
    assert field_rules.email_is_valid("jane.doe@example.org") and not field_rules.email_is_valid(address)


# ---- list filters ----------------------------------------------------------------------------------------------------

def listed_ids(html: str, kind: str) -> set[int]:
    return {int(found) for found in re.findall(rf'href="/{kind}/(\d+)"', html)}


@pytest.fixture
def needs_world(make):
    make.need("BJ", "open", policy_areas=["payments"], language="fr", title="Mobile payments for traders")
    make.need("BJ", "open", policy_areas=["e_transactions"], attributed=True)
    make.need("SN", "submitted", policy_areas=["payments"])
    make.need("BR", "open", policy_areas=["skills"], language="es")
    make.need("SN", "draft")
    make.need("BD", "matched", policy_areas=["payments"])


NEED_FILTERS = [{}, {"status": "open"}, {"policy_area": "payments"}, {"language": "fr"}, {"q": "mobile"},
                {"region": "africa"}, {"region": "americas"}, {"ldc": "yes"}, {"ldc": "no"},
                {"policy_area": "payments", "region": "africa"}]


@pytest.mark.parametrize("role", ["partner", "facilitator", "delegate"])
def test_the_needs_page_and_the_api_list_the_same_needs_for_the_same_filters(app, make, needs_world, role):
    user = (make.user("partner", organisation=make.organisation("ITC")) if role == "partner"
            else make.user("delegate", member="BJ") if role == "delegate" else make.user(role))
    web = app.test_client()
    login(web, user)
    client, headers = api_client(app, user)
    for filters in NEED_FILTERS:
        page = web.get("/needs/", query_string=filters)
        api_args = {**filters, **({"ldc": "true" if filters["ldc"] == "yes" else "false"} if "ldc" in filters else {})}
        api = client.get("/api/v1/needs", headers=headers, query_string={**api_args, "per_page": 100})
        assert page.status_code == 200 and api.status_code == 200
        assert listed_ids(page.get_data(as_text=True), "needs") == {n["id"] for n in api.get_json()["items"]}, \
            filters


@pytest.mark.parametrize("role", ["partner", "facilitator"])
def test_the_offerings_page_and_the_api_list_the_same_offerings_for_the_same_filters(app, make, role):
    itc, unctad = make.organisation("ITC"), make.organisation("UNCTAD")
    yesterday, next_month = date.today() - timedelta(days=1), date.today() + timedelta(days=30)
    make.offering(itc, "published", deadline=yesterday, policy_areas=["payments"])
    make.offering(itc, "published", deadline=next_month, delivery_languages=["es"])
    make.offering(itc, "draft")
    make.offering(unctad, "draft")
    make.offering(unctad, "closed", title="Closed programme on skills", policy_areas=["skills"])
    make.offering(unctad, "published")
    user = make.user("partner", organisation=itc) if role == "partner" else make.user(role)
    web = app.test_client()
    login(web, user)
    client, headers = api_client(app, user)
    for filters in [{}, {"status": "expired"}, {"status": "published"}, {"status": "draft"}, {"status": "closed"},
                    {"policy_area": "payments"}, {"language": "es"}, {"organisation": str(unctad.id)},
                    {"q": "skills"}]:
        page = web.get("/offerings/", query_string=filters)
        api = client.get("/api/v1/offerings", headers=headers, query_string={**filters, "per_page": 100})
        assert page.status_code == 200 and api.status_code == 200
        assert listed_ids(page.get_data(as_text=True), "offerings") == \
            {o["id"] for o in api.get_json()["items"]}, filters
    assert db.session.scalar(select(func.count()).select_from(Offering)) == 6


# ---- permissions -----------------------------------------------------------------------------------------------------

def test_the_contacts_of_a_match_are_shown_where_permissions_say_so(app, make, monkeypatch):
    org = make.organisation("ITC")
    match = make.match(make.need("BJ", "matched"), make.offering(org, contact_email="desk@example.org"), "approved")
    delegate = make.user("delegate", member="BJ")
    partner = make.user("partner", organisation=org, email="partner.contact@example.org")
    web = app.test_client()
    login(web, delegate)
    client, headers = api_client(app, delegate)
    assert "partner.contact@example.org" in web.get(f"/matches/{match.id}").get_data(as_text=True)
    contacts = client.get(f"/api/v1/matches/{match.id}", headers=headers).get_json()["contacts"]
    assert {c["email"] for c in contacts} == {delegate.email, partner.email, "desk@example.org"}

    asked = []

    def nobody(user, obj):
        asked.append((user.id, obj.id))
        return False

    monkeypatch.setitem(permissions.RULES, "match.see_contacts", nobody)
    assert "partner.contact@example.org" not in web.get(f"/matches/{match.id}").get_data(as_text=True)
    assert client.get(f"/api/v1/matches/{match.id}", headers=headers).get_json()["contacts"] == []
    assert asked == [(delegate.id, match.id), (delegate.id, match.id)]


def test_whom_a_user_acts_for_is_asked_of_permissions(app, make, monkeypatch):
    delegate = make.user("delegate", member="BJ")
    web = app.test_client()
    login(web, delegate)
    assert "<h1>Your member's needs</h1>" in web.get("/needs/").get_data(as_text=True)
    monkeypatch.setitem(permissions.RULES, "act_for.member", lambda user, _obj=None: False)
    assert "<h1>Your member's needs</h1>" not in web.get("/needs/").get_data(as_text=True)


def test_an_iati_import_cuts_texts_to_the_limits_of_the_home(app, monkeypatch):
    monkeypatch.setitem(field_rules.LIMITS, "title", field_rules.Bounds(5, 20))
    monkeypatch.setitem(field_rules.LIMITS, "description", field_rules.Bounds(30, 40))
    activities, _version, problems = parse_file(iati_file(iati_activity()))
    assert activities and not problems
    mapped, problems = map_activity(activities[0], ImportOptions(), {})
    assert mapped["fields"]["title"] == "Digital trade facilitation programme"[:20]
    assert mapped["fields"]["description"] == "Support to customs and trade ministries for paperless trade"[:40]
    assert problems == []
    monkeypatch.setitem(field_rules.LIMITS, "title", field_rules.Bounds(40, 200))
    _mapped, problems = map_activity(activities[0], ImportOptions(), {})
    assert problems == ["The title is too short (at least 40 characters)."]


def test_whether_an_offering_can_still_change_is_one_rule_for_the_page_the_edit_form_and_the_service(app, make,
                                                                                                      monkeypatch):
    itu = make.organisation("ITU")
    partner = make.user("partner", organisation=itu)
    offering = make.offering(itu, "published")
    db.session.commit()
    client = app.test_client()
    login(client, partner)
    edit_link = f'href="/offerings/{offering.id}/edit"'
    assert edit_link in client.get(f"/offerings/{offering.id}").get_data(as_text=True)
    assert client.get(f"/offerings/{offering.id}/edit").status_code == 200
    monkeypatch.setattr(Offering, "is_final", property(lambda o: True))
    assert edit_link not in client.get(f"/offerings/{offering.id}").get_data(as_text=True)
    assert client.get(f"/offerings/{offering.id}/edit").status_code == 302
    with pytest.raises(DomainError):
        offerings_service.update_offering(partner, offering, {"title": "Another title for the programme"})


def test_which_matches_await_a_decision_is_one_rule_for_the_match_page_and_the_service(app, make, monkeypatch):
    itu = make.organisation("ITU")
    match = make.match(make.need("BJ"), make.offering(itu), "proposed")
    facilitator = make.user("facilitator")
    db.session.commit()
    client = app.test_client()
    login(client, facilitator)

    def buttons() -> set[str]:
        page = client.get(f"/matches/{match.id}").get_data(as_text=True)
        return set(re.findall(r'name="action" value="(approve|reject|withdraw)"', page))

    assert buttons() == {"approve", "reject", "withdraw"}
    monkeypatch.setattr(Match, "awaits_decision", property(lambda m: False))
    assert buttons() == {"withdraw"}
    with pytest.raises(DomainError):
        match_service.approve(facilitator, match)
    monkeypatch.setattr(Match, "may_be_withdrawn", property(lambda m: False))
    assert buttons() == set()
    with pytest.raises(DomainError):
        match_service.withdraw(facilitator, match, None)


def test_which_needs_may_be_paired_is_one_rule_for_the_need_page_the_pairing_form_and_the_service(app, make,
                                                                                                   monkeypatch):
    need, offering = make.need("BJ", "open"), make.offering(make.organisation("ITU"))
    facilitator = make.user("facilitator")
    db.session.commit()
    client = app.test_client()
    login(client, facilitator)
    run_form = 'name="need_ids"'
    assert run_form in client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert f'value="{need.id}"' in client.get("/matches/new").get_data(as_text=True)
    monkeypatch.setattr(Need, "is_matchable", property(lambda n: False))
    assert run_form not in client.get(f"/needs/{need.id}").get_data(as_text=True)
    with pytest.raises(DomainError):
        match_service.create_manual(facilitator, need, offering, None)
