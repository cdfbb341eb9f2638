"""The JSON API: personal tokens, the same roles and object rules as the web pages, strict types, JSON errors."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from matchmaker.api.tokens import create_token, hash_token
from matchmaker.extensions import db
from matchmaker.models import ApiToken, AuditEvent, Need, Offering
from tests.helpers import login
from tests.samples import API_NEED, API_OFFERING


def token_for(user) -> str:
    _token, secret = create_token(user, "tests")
    db.session.commit()
    return secret


def auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(make):
    own_org, other_org = make.organisation("OWN"), make.organisation("OTHER")
    users = {
        "partner": make.user("partner", organisation=own_org),
        "other_partner": make.user("partner", organisation=other_org),
        "delegate": make.user("delegate", member="BJ"),
        "other_delegate": make.user("delegate", member="SN"),
        "facilitator": make.user("facilitator"),
    }
    tokens = {name: token_for(user) for name, user in users.items()}
    return {"own_org": own_org, "other_org": other_org, "users": users, "tokens": tokens}


# ---- tokens ---------------------------------------------------------------------------------------------------

def test_token_created_on_account_page_is_shown_once_stored_hashed_and_revocable(client, make):
    user = make.user("partner", organisation=make.organisation())
    login(client, user)
    page = client.post("/account/tokens", data={"token-name": "Programme database sync"})
    assert page.status_code == 201 and page.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(mmk_[^"]+)"', page.get_data(as_text=True)).group(1)
    stored = db.session.scalar(select(ApiToken))
    assert stored.name == "Programme database sync"
    assert stored.token_hash == hash_token(secret) and secret not in (stored.token_hash, stored.prefix)
    # The account page lists it by name and prefix, never the whole secret again.
    listing = client.get("/account").get_data(as_text=True)
    assert "Programme database sync" in listing and secret not in listing and stored.prefix in listing

    assert client.get("/api/v1/me", headers=auth(secret)).get_json()["email"] == user.email
    assert client.post(f"/account/tokens/{stored.id}/revoke").status_code == 302
    response = client.get("/api/v1/me", headers=auth(secret))
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"api_token.created", "api_token.revoked"} <= actions


def test_token_needs_a_name_and_others_cannot_revoke_it(client, make):
    owner = make.user("delegate", member="BJ")
    token, _secret = create_token(owner, "mine")
    db.session.commit()
    login(client, make.user("delegate", member="BJ"))
    assert client.post("/account/tokens", data={"token-name": "  "}).status_code == 422
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 403
    assert client.post("/account/tokens/99999999999/revoke").status_code == 404
    assert db.session.get(ApiToken, token.id).revoked_at is None


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "Bearer mmk_" + "x" * 43,
                                    "Bearer mmk_\x00"])
def test_requests_without_a_valid_token_are_refused_with_401(client, world, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/offerings", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "Unauthorized"


def test_a_signed_in_browser_session_does_not_authenticate_the_api(client, world):
    # Cookies are ignored, so a cross-site form cannot act through the API (no CSRF exposure).
    login(client, world["users"]["partner"])
    assert client.post("/api/v1/offerings", json=API_OFFERING).status_code == 401


def test_a_disabled_users_tokens_stop_working(client, world):
    world["users"]["partner"].active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=auth(world["tokens"]["partner"])).status_code == 401


# ---- offerings --------------------------------------------------------------------------------------------------

def test_partner_creates_updates_publishes_and_closes_an_offering(client, world):
    headers = auth(world["tokens"]["partner"])
    created = client.post("/api/v1/offerings", json=API_OFFERING, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["status"] == "draft" and body["organisation"]["acronym"] == "OWN"
    offering_id = body["id"]

    patched = client.patch(f"/api/v1/offerings/{offering_id}", headers=headers,
                           json={"capacity": 4, "eligibility": "regions", "eligible_regions": ["africa"],
                                 "version": body["version"]})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["capacity"] == 4 and patched.get_json()["eligible_regions"] == ["africa"]

    stale = client.patch(f"/api/v1/offerings/{offering_id}", headers=headers, json={"capacity": 5, "version": 1})
    assert stale.status_code == 409

    published = client.post(f"/api/v1/offerings/{offering_id}/transitions", headers=headers, json={"action": "publish"})
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    again = client.post(f"/api/v1/offerings/{offering_id}/transitions", headers=headers, json={"action": "publish"})
    assert again.status_code == 409
    closed = client.post(f"/api/v1/offerings/{offering_id}/transitions", headers=headers,
                         json={"action": "close", "reason": "Programme full"})
    assert closed.get_json()["status"] == "closed"
    assert client.patch(f"/api/v1/offerings/{offering_id}", headers=headers, json={"capacity": 9}).status_code == 409
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "offering")
                                      .order_by(AuditEvent.id)))
    assert actions == ["offering.created", "offering.updated", "offering.publish", "offering.close"]


def test_object_rules_are_the_web_pages_rules(client, world, make):
    own_draft = make.offering(world["own_org"], "draft")
    other = make.offering(world["other_org"], "published")
    other_draft = make.offering(world["other_org"], "draft")
    partner = auth(world["tokens"]["partner"])
    delegate = auth(world["tokens"]["delegate"])
    assert client.post("/api/v1/offerings", json=API_OFFERING, headers=delegate).status_code == 403
    assert client.patch(f"/api/v1/offerings/{other.id}", json={"capacity": 2}, headers=partner).status_code == 403
    assert client.get(f"/api/v1/offerings/{other_draft.id}", headers=partner).status_code == 403
    assert client.get(f"/api/v1/offerings/{own_draft.id}", headers=partner).status_code == 200
    assert client.get(f"/api/v1/offerings/{own_draft.id}", headers=delegate).status_code == 403
    assert client.post(f"/api/v1/offerings/{other.id}/transitions", json={"action": "close"},
                       headers=partner).status_code == 403
    assert client.get("/api/v1/offerings/999999", headers=partner).status_code == 404
    assert client.get("/api/v1/offerings/99999999999999", headers=partner).status_code == 404
    listed = client.get("/api/v1/offerings?per_page=100", headers=delegate).get_json()["items"]
    assert {o["id"] for o in listed} == {other.id}
    mine = client.get("/api/v1/offerings?mine=true", headers=partner).get_json()["items"]
    assert {o["id"] for o in mine} == {own_draft.id}
    assert db.session.get(Offering, other.id).capacity == 3


@pytest.mark.parametrize("change,field", [
    ({"capacity": True}, "capacity"),
    ({"capacity": "3"}, "capacity"),
    ({"capacity": 2.5}, "capacity"),
    ({"capacity": 0}, "capacity"),
    ({"title": 12345}, "title"),
    ({"title": "ok\x00title here"}, "title"),
    ({"policy_areas": ["astrology"]}, "policy_areas.0"),
    ({"policy_areas": []}, "policy_areas"),
    ({"policy_areas": "e_transactions"}, "policy_areas"),
    ({"deadline": "31/12/2030"}, "deadline"),
    ({"eligibility": "regions"}, "eligible_regions"),
    ({"eligibility": "members", "eligible_members": ["ZZ"]}, "eligible_members"),
    ({"colour": "blue"}, "colour"),
    ({"contact_email": "not an address"}, "contact_email"),
])
def test_invalid_offerings_get_422_with_a_message_per_field(client, world, change, field):
    response = client.post("/api/v1/offerings", json={**API_OFFERING, **change},
                           headers=auth(world["tokens"]["partner"]))
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error"] == "Unprocessable Entity" and field in body["errors"], body
    assert db.session.scalar(select(Offering)) is None


@pytest.mark.parametrize("data,content_type", [("{not json", "application/json"), ("", "application/json"),
                                                ("[1, 2]", "application/json"), ("null", "application/json"),
                                                ("[" * 5000 + "]" * 5000, "application/json"),
                                                ('{"a": ' * 3000 + "1" + "}" * 3000, "application/json"),
                                                (b"\xff\xfe\x00garbage", "application/json")])
def test_bodies_that_are_not_a_json_object_are_refused(client, world, data, content_type):
    response = client.post("/api/v1/offerings", data=data, content_type=content_type,
                           headers=auth(world["tokens"]["partner"]))
    assert response.status_code in (400, 422)
    assert response.get_json()["errors"]


def test_missing_fields_are_each_named(client, world):
    response = client.post("/api/v1/offerings", json={}, headers=auth(world["tokens"]["partner"]))
    assert response.status_code == 422
    assert {"title", "description", "language", "policy_areas", "support_kinds",
            "delivery_languages"} <= set(response.get_json()["errors"])


def test_pagination_and_filters(client, world, make):
    for n in range(25):
        make.offering(world["own_org"], "published", policy_areas=["payments"] if n % 5 == 0 else ["skills"])
    headers = auth(world["tokens"]["delegate"])
    page = client.get("/api/v1/offerings?per_page=10&page=3", headers=headers).get_json()
    assert len(page["items"]) == 5 and page["pagination"] == {"page": 3, "per_page": 10, "total": 25, "pages": 3}
    assert client.get("/api/v1/offerings?policy_area=payments", headers=headers).get_json()["pagination"]["total"] == 5
    beyond = client.get("/api/v1/offerings?page=9", headers=headers).get_json()
    assert beyond["items"] == [] and beyond["pagination"]["total"] == 25
    for query in ("per_page=101", "page=0", "page=abc", "mine=1", "mine=yes", "status=lost", "organisation=-3",
                  "policy_area=astrology", "unknown=1"):
        response = client.get(f"/api/v1/offerings?{query}", headers=headers)
        assert response.status_code == 422, query
        assert response.get_json()["errors"], query


# ---- needs ------------------------------------------------------------------------------------------------------

def test_delegate_manages_their_members_needs(client, world):
    headers = auth(world["tokens"]["delegate"])
    created = client.post("/api/v1/needs", json={**API_NEED, "attributed": True}, headers=headers)
    assert created.status_code == 201, created.get_json()
    need = created.get_json()
    assert need["member"] == "BJ" and need["status"] == "draft" and need["attributed"] is True
    submitted = client.post(f"/api/v1/needs/{need['id']}/transitions", json={"action": "submit"}, headers=headers)
    assert submitted.get_json()["status"] == "submitted"
    assert client.post(f"/api/v1/needs/{need['id']}/transitions", json={"action": "open"},
                       headers=headers).status_code == 403
    other = auth(world["tokens"]["other_delegate"])
    assert client.get(f"/api/v1/needs/{need['id']}", headers=other).status_code == 403
    assert client.patch(f"/api/v1/needs/{need['id']}", json={"priority": "high"}, headers=other).status_code == 403
    assert client.get("/api/v1/needs", headers=other).get_json()["items"] == []
    opened = client.post(f"/api/v1/needs/{need['id']}/transitions", json={"action": "open"},
                         headers=auth(world["tokens"]["facilitator"]))
    assert opened.get_json()["status"] == "open"


@pytest.mark.parametrize("change,field", [({"attributed": 1}, "attributed"), ({"attributed": "true"}, "attributed"),
                                          ({"priority": "urgent"}, "priority"),
                                          ({"start_date": "2030-05-01", "end_date": "2030-01-01"}, "end_date")])
def test_needs_have_strict_types(client, world, change, field):
    response = client.post("/api/v1/needs", json={**API_NEED, **change}, headers=auth(world["tokens"]["delegate"]))
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_partners_see_open_needs_anonymised_as_on_the_web(client, world, make):
    hidden = make.need("BJ", "open", attributed=False)
    named = make.need("SN", "open", attributed=True)
    draft = make.need("BJ", "draft")
    headers = auth(world["tokens"]["partner"])
    items = {n["id"]: n for n in client.get("/api/v1/needs", headers=headers).get_json()["items"]}
    assert set(items) == {hidden.id, named.id}
    assert items[hidden.id]["member"] is None and items[hidden.id]["member_name"] is None
    assert items[hidden.id]["region"] == "africa" and items[hidden.id]["is_ldc"] is True
    assert items[named.id]["member"] == "SN"
    assert "Benin" not in client.get(f"/api/v1/needs/{hidden.id}", headers=headers).get_data(as_text=True)
    assert client.get(f"/api/v1/needs/{draft.id}", headers=headers).status_code == 403
    assert client.post("/api/v1/needs", json=API_NEED, headers=headers).status_code == 403
    assert db.session.scalar(select(Need).where(Need.title == API_NEED["title"])) is None


# ---- reference data, description --------------------------------------------------------------------------------

def test_reference_data(client, world):
    headers = auth(world["tokens"]["partner"])
    members = client.get("/api/v1/members", headers=headers).get_json()
    benin = next(m for m in members if m["code"] == "BJ")
    assert benin["is_ldc"] is True and benin["name_fr"] == "Bénin"
    areas = client.get("/api/v1/policy-areas", headers={**headers, "Accept-Language": "fr"}).get_json()
    assert {"code": "skills", "label": "Développement des compétences"} in areas or len(areas) == 11
    vocabularies = client.get("/api/v1/vocabularies", headers=headers).get_json()
    assert [item["code"] for item in vocabularies["eligibility"]] == ["all_developing", "ldc_only", "regions",
                                                                       "members"]


def test_openapi_description_and_documentation_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"/api/v1/offerings", "/api/v1/needs/{need_id}", "/api/v1/members"} <= set(spec["paths"])
    capacity = spec["components"]["schemas"]["OfferingIn"]["properties"]["capacity"]
    assert capacity["type"] == "integer" and capacity["maximum"] == 10000
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "PATCH /api/v1/offerings/{offering_id}" in page.get_data(as_text=True)


def _json_writes(world, make) -> list[tuple[str, str, str, dict]]:
    """Every operation that reads a JSON body: (token, method, path, a valid body)."""
    offering = make.offering(world["own_org"], "draft")
    need = make.need("BJ", "draft")
    match = make.match(make.need("BJ", "open"), make.offering(world["own_org"], "published"), status="approved")
    return [("partner", "POST", "/api/v1/offerings", API_OFFERING),
            ("partner", "PATCH", f"/api/v1/offerings/{offering.id}", {"title": "A new title for it"}),
            ("partner", "POST", f"/api/v1/offerings/{offering.id}/transitions", {"action": "publish"}),
            ("delegate", "POST", "/api/v1/needs", API_NEED),
            ("delegate", "PATCH", f"/api/v1/needs/{need.id}", {"title": "A new title for it"}),
            ("delegate", "POST", f"/api/v1/needs/{need.id}/transitions", {"action": "submit"}),
            ("delegate", "POST", f"/api/v1/matches/{match.id}/response", {"answer": "accept"}),
            ("facilitator", "POST", f"/api/v1/matches/{match.id}/progress", {"action": "meeting_held"})]


def test_json_that_no_store_or_int_takes_is_refused_field_by_field(client, world, make):
    """A lone surrogate in any string, and an integer of more than 4,300 digits, gave a 500 on every JSON write."""
    import json

    for who, method, path, valid in _json_writes(world, make):
        first = next(iter(valid))
        bodies = {
            first: json.dumps({**valid, first: "\ud800 spoofed"}),   # json.dumps writes the lone surrogate as \ud800
            "note": json.dumps({**valid, "note\udfff": "x"}),                 # and in a key
            "version": json.dumps(valid)[:-1] + ', "version": 1' + "0" * 5000 + "}",
            "tags.1": json.dumps({**valid, "tags": ["ok", "bad \udc00 one"]}),
        }
        for field, body in bodies.items():
            response = client.open(path, method=method, data=body, content_type="application/json",
                                   headers=auth(world["tokens"][who]))
            assert response.status_code in (400, 422), (path, field, response.status_code)
            errors = response.get_json()["errors"]
            expected = "note\\udfff" if field == "note" else field
            assert expected in errors, (path, field, errors)
