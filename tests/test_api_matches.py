"""The API's matches: who sees which match (and which member), answering an introduction, recording what followed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from matchmaker.api.tokens import create_token
from matchmaker.extensions import db
from matchmaker.models import AuditEvent, Match, Need

ROLES = ("delegate_own", "delegate_other", "partner_own", "partner_other", "facilitator", "admin")


def auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(make):
    """Benin's need, anonymous until approved, paired with the OWN organisation's offering in several states."""
    own_org, other_org = make.organisation("OWN"), make.organisation("OTHER")
    offering = make.offering(own_org, "published", contact_name="Programme desk",
                             contact_email="programme@example.org", capacity=10)
    users = {
        "delegate_own": make.user("delegate", member="BJ", password=None),
        "delegate_other": make.user("delegate", member="SN", password=None),
        "partner_own": make.user("partner", organisation=own_org, password=None),
        "partner_other": make.user("partner", organisation=other_org, password=None),
        "facilitator": make.user("facilitator", password=None),
        "admin": make.user("admin", password=None),
    }
    tokens = {}
    for role, user in users.items():
        _token, tokens[role] = create_token(user, "tests")
    db.session.commit()
    proposed = make.match(make.need("BJ", "open", attributed=False), offering, "proposed")
    approved = make.match(make.need("BJ", "matched", attributed=False), offering, "approved")
    elsewhere = make.match(make.need("SN", "matched"), make.offering(other_org, "published"), "approved")
    return {"users": users, "tokens": tokens, "proposed": proposed.id, "approved": approved.id,
            "elsewhere": elsewhere.id, "offering": offering}


def call(client, world, role, method, url, **kw):
    return client.open(url, method=method, headers=auth(world["tokens"][role]), **kw)


# Expected statuses per role (ROLES order). Before approval only facilitators see a match; after, its two parties.
MATRIX = [
    ("GET", "/api/v1/matches", None, (200, 200, 200, 200, 200, 200)),
    ("GET", "/api/v1/matches/{proposed}", None, (403, 403, 403, 403, 200, 200)),
    ("GET", "/api/v1/matches/{approved}", None, (200, 403, 200, 403, 200, 200)),
    ("GET", "/api/v1/matches/99999", None, (404, 404, 404, 404, 404, 404)),
    ("POST", "/api/v1/matches/{approved}/response", {"answer": "accept"}, (200, 403, 200, 403, 403, 403)),
    ("POST", "/api/v1/matches/{proposed}/response", {"answer": "accept"}, (403, 403, 403, 403, 403, 403)),
    # Meeting before both accepted: the parties and facilitators may follow up, but not skip a step.
    ("POST", "/api/v1/matches/{approved}/progress", {"action": "meeting_held", "outcome": "informative"},
     (409, 403, 409, 403, 409, 409)),
    ("POST", "/api/v1/matches/{proposed}/progress", {"action": "agreement"}, (403, 403, 403, 403, 409, 409)),
]


@pytest.mark.parametrize("role", ROLES)
def test_match_endpoints_by_role(client, world, role):
    for method, template, body, expected in MATRIX:
        url = template.format(**{k: world[k] for k in ("proposed", "approved")})
        response = call(client, world, role, method, url, json=body)
        want = expected[ROLES.index(role)]
        assert response.status_code == want, (method, url, response.get_json())
        assert response.is_json and ("error" in response.get_json()) == (want >= 400)


def test_each_role_lists_its_own_matches_and_no_member_before_approval(client, world):
    def listed(role, query=""):
        response = call(client, world, role, "GET", f"/api/v1/matches?per_page=100{query}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    assert [m["id"] for m in listed("delegate_own")["items"]] == [world["approved"]]
    assert [m["id"] for m in listed("partner_own")["items"]] == [world["approved"]]
    assert [m["id"] for m in listed("partner_other")["items"]] == [world["elsewhere"]]
    assert [m["id"] for m in listed("delegate_other")["items"]] == [world["elsewhere"]]
    everything = listed("facilitator")
    assert {m["id"] for m in everything["items"]} == {world["proposed"], world["approved"], world["elsewhere"]}
    assert everything["pagination"]["total"] == 3
    assert [m["id"] for m in listed("facilitator", "&status=proposed")["items"]] == [world["proposed"]]
    assert [m["id"] for m in listed("admin", f"&offering={world['offering'].id}&status=approved")["items"]] == [
        world["approved"]]
    # The partner of the proposal's offering is never told of it, so no member identity can leak through it.
    partner_view = call(client, world, "partner_own", "GET", "/api/v1/matches?status=proposed").get_json()
    assert partner_view["items"] == [] and partner_view["pagination"]["total"] == 0
    # Once introduced, the parties know each other: the member is named and the contacts given.
    introduced = listed("partner_own")["items"][0]
    assert introduced["need"]["member"] == "BJ" and introduced["need"]["member_name"] == "Benin"
    assert introduced["my_side"] == "offering" and introduced["can_respond"] is True
    contacts = {(c["side"], c["email"]) for c in introduced["contacts"]}
    assert ("need", world["users"]["delegate_own"].email) in contacts
    assert ("programme", "programme@example.org") in contacts
    # Facilitators see the proposal with the member named (they screen it), and no contacts before approval.
    proposal = call(client, world, "facilitator", "GET", f"/api/v1/matches/{world['proposed']}").get_json()
    assert proposal["need"]["member"] == "BJ" and proposal["contacts"] == [] and proposal["my_side"] is None
    assert proposal["terms"] == [{"term": "signature", "share": 0.5}]


def test_waiting_filter_and_bad_filters(client, world):
    waiting = call(client, world, "delegate_own", "GET", "/api/v1/matches?waiting=true").get_json()["items"]
    assert [m["id"] for m in waiting] == [world["approved"]]
    call(client, world, "delegate_own", "POST", f"/api/v1/matches/{world['approved']}/response",
         json={"answer": "accept"})
    assert call(client, world, "delegate_own", "GET", "/api/v1/matches?waiting=true").get_json()["items"] == []
    # The partner's side still waits.
    assert len(call(client, world, "partner_own", "GET", "/api/v1/matches?waiting=true").get_json()["items"]) == 1
    # For facilitators, an introduction waits while either side has not answered.
    not_waiting = call(client, world, "facilitator", "GET", "/api/v1/matches?waiting=false").get_json()["items"]
    assert [m["id"] for m in not_waiting] == [world["proposed"]]
    for query in ("status=lost", "need=0", "offering=abc", "waiting=1", "policy_area=astrology", "region=mars",
                  "per_page=500", "colour=blue"):
        response = call(client, world, "facilitator", "GET", f"/api/v1/matches?{query}")
        assert response.status_code == 422 and response.get_json()["errors"], query


def test_both_parties_accept_then_record_the_meeting_agreement_delivery_and_completion(client, world):
    match_url = f"/api/v1/matches/{world['approved']}"
    first = call(client, world, "delegate_own", "POST", f"{match_url}/response",
                 json={"answer": "accept", "note": "Happy to meet in Geneva"})
    assert first.status_code == 200 and first.get_json()["need_response"] == "accepted"
    assert first.get_json()["status"] == "approved" and first.get_json()["can_respond"] is False
    again = call(client, world, "delegate_own", "POST", f"{match_url}/response", json={"answer": "decline"})
    assert again.status_code == 409 and again.get_json()["message"]
    second = call(client, world, "partner_own", "POST", f"{match_url}/response", json={"answer": "accept"})
    assert second.get_json()["status"] == "accepted" and second.get_json()["next_steps"] == ["meeting_held", "close"]
    late = call(client, world, "partner_own", "POST", f"{match_url}/response", json={"answer": "accept"})
    assert late.status_code == 409

    missing = call(client, world, "partner_own", "POST", f"{match_url}/progress", json={"action": "meeting_held"})
    assert missing.status_code == 422 and "outcome" in missing.get_json()["errors"]
    stray = call(client, world, "partner_own", "POST", f"{match_url}/progress",
                 json={"action": "agreement", "outcome": "informative"})
    assert stray.status_code == 422 and "outcome" in stray.get_json()["errors"]
    unknown = call(client, world, "partner_own", "POST", f"{match_url}/progress", json={"action": "celebrate"})
    assert unknown.status_code == 422 and "action" in unknown.get_json()["errors"]
    skipped = call(client, world, "partner_own", "POST", f"{match_url}/progress", json={"action": "complete"})
    assert skipped.status_code == 409

    steps = [("delegate_own", {"action": "meeting_held", "outcome": "cooperation_possible",
                               "note": "Both sides want a six-month programme"}, "meeting_held"),
             ("partner_own", {"action": "agreement"}, "agreement_reached"),
             ("facilitator", {"action": "delivery"}, "in_delivery"),
             ("partner_own", {"action": "complete", "note": "Law adopted"}, "completed")]
    for role, body, status in steps:
        response = call(client, world, role, "POST", f"{match_url}/progress", json=body)
        assert response.status_code == 200, (body, response.get_json())
        assert response.get_json()["status"] == status
    final = response.get_json()
    assert final["outcome"] == "cooperation_possible" and final["outcome_note"] == "Law adopted"
    assert final["next_steps"] == []
    assert call(client, world, "partner_other", "POST", f"{match_url}/progress",
                json={"action": "close", "note": "no"}).status_code == 403
    match = db.session.get(Match, world["approved"])
    assert db.session.get(Need, match.need_id).status == "fulfilled"
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "match",
                                                                       AuditEvent.object_id == match.id)
                                      .order_by(AuditEvent.id)))
    assert actions == ["match.accept", "match.accept", "match.meeting_held", "match.agreement", "match.delivery",
                       "match.complete"]


def test_declining_ends_the_introduction_and_closing_needs_a_reason(client, world):
    match_url = f"/api/v1/matches/{world['approved']}"
    declined = call(client, world, "partner_own", "POST", f"{match_url}/response",
                    json={"answer": "decline", "note": "Our programme is full this year"})
    assert declined.get_json()["status"] == "declined" and declined.get_json()["offering_response"] == "declined"
    other_side = call(client, world, "delegate_own", "POST", f"{match_url}/response", json={"answer": "accept"})
    assert other_side.status_code == 409
    assert call(client, world, "delegate_own", "POST", f"{match_url}/response",
                json={"answer": "maybe"}).status_code == 422
    assert call(client, world, "delegate_own", "POST", f"{match_url}/response",
                json={"answer": "accept", "extra": 1}).status_code == 422

    elsewhere = f"/api/v1/matches/{world['elsewhere']}"
    for role in ("delegate_other", "partner_other"):
        call(client, world, role, "POST", f"{elsewhere}/response", json={"answer": "accept"})
    no_reason = call(client, world, "partner_other", "POST", f"{elsewhere}/progress", json={"action": "close"})
    assert no_reason.status_code == 422 and "note" in no_reason.get_json()["errors"]
    closed = call(client, world, "partner_other", "POST", f"{elsewhere}/progress",
                  json={"action": "close", "note": "The ministry changed its priorities"})
    assert closed.get_json()["status"] == "closed_no_result"
    assert db.session.get(Match, world["elsewhere"]).outcome_note == "The ministry changed its priorities"


def test_openapi_describes_the_match_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/matches", "/api/v1/matches/{match_id}", "/api/v1/matches/{match_id}/response",
            "/api/v1/matches/{match_id}/progress"} <= set(spec["paths"])
    progress = spec["components"]["schemas"]["MatchProgressIn"]["properties"]
    assert progress["action"]["enum"] == ["meeting_held", "agreement", "delivery", "complete", "close"]
    responses = spec["paths"]["/api/v1/matches/{match_id}/response"]["post"]["responses"]
    assert {"200", "403", "404", "409", "422"} <= set(responses)


@pytest.mark.parametrize("body", [
    {"answer": "accept", "note": "nul \x00 inside"}, {"answer": "accept", "note": "x" * 2001},
    {"answer": True}, {"answer": ["accept"]}, {"note": "only a note"}, {"answer": "accept", "note": 12},
])
def test_hostile_answers_are_refused_and_change_nothing(client, world, body):
    response = call(client, world, "delegate_own", "POST", f"/api/v1/matches/{world['approved']}/response",
                    json=body)
    assert response.status_code == 422 and response.get_json()["errors"]
    db.session.expire_all()
    assert db.session.get(Match, world["approved"]).need_response == "pending"


@pytest.mark.parametrize("body", [
    {"action": "meeting_held", "outcome": "great"}, {"action": "close", "note": "   "},
    {"action": "close", "note": "\x07bell"}, {"action": None}, {"action": "delivery", "outcome": None, "x": 1},
])
def test_hostile_progress_is_refused(client, world, body):
    response = call(client, world, "facilitator", "POST", f"/api/v1/matches/{world['approved']}/progress", json=body)
    assert response.status_code == 422 and response.get_json()["errors"]
    assert db.session.get(Match, world["approved"]).status == "approved"
