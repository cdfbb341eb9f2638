"""The route x role matrix: every route of the service, and the status each role gets from it; the world of records
its URLs point at (the ``world`` fixture, loaded by tests/conftest.py). tests/test_route_matrix.py checks every cell;
the crawl, the HTML checks, the CSRF checks and the fuzzer walk the same routes."""
from __future__ import annotations

import pytest

from matchmaker.extensions import db

ROLES = ("anon", "delegate_own", "delegate_other", "partner_own", "partner_other", "facilitator", "admin")

# Shorthands for the expected status of each role, in the order of ROLES.
LOGIN = "login"  # a 302 to the sign-in page


def row(*statuses):
    assert len(statuses) == len(ROLES)
    return dict(zip(ROLES, statuses, strict=True))


# (method, endpoint, url template, form data, expected statuses)
MATRIX = [
    ("GET", "main.index", "/", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("GET", "main.health", "/healthz", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("GET", "main.favicon", "/favicon.ico", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("POST", "main.set_language", "/language", {"language": "fr"}, row(302, 302, 302, 302, 302, 302, 302)),
    ("GET", "static", "/static/css/app.css", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("GET", "auth.login", "/login", None, row(200, 302, 302, 302, 302, 302, 302)),
    ("POST", "auth.login", "/login", {}, row(422, 302, 302, 302, 302, 302, 302)),
    ("POST", "auth.logout", "/logout", {}, row(LOGIN, 302, 302, 302, 302, 302, 302)),
    ("GET", "auth.accept_invite", "/invite/not-a-token", None, row(302, 302, 302, 302, 302, 302, 302)),
    ("POST", "auth.accept_invite", "/invite/not-a-token", {}, row(302, 302, 302, 302, 302, 302, 302)),
    ("GET", "auth.reset_request", "/reset", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("POST", "auth.reset_request", "/reset", {}, row(422, 422, 422, 422, 422, 422, 422)),
    ("GET", "auth.reset_password", "/reset/not-a-token", None, row(302, 302, 302, 302, 302, 302, 302)),
    ("POST", "auth.reset_password", "/reset/not-a-token", {}, row(302, 302, 302, 302, 302, 302, 302)),
    ("GET", "auth.account", "/account", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    ("POST", "auth.account", "/account", {}, row(LOGIN, 422, 422, 422, 422, 422, 422)),
    # Needs: the open need belongs to the "own" delegate's member.
    ("GET", "needs.index", "/needs/", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "needs.create", "/needs/new", None, row(LOGIN, 200, 200, 403, 403, 403, 403)),
    ("POST", "needs.create", "/needs/new", {}, row(LOGIN, 422, 422, 403, 403, 403, 403)),
    ("GET", "needs.detail", "/needs/{open_need}", None, row(LOGIN, 200, 403, 200, 200, 200, 200)),
    ("GET", "needs.detail", "/needs/{draft_need}", None, row(LOGIN, 200, 403, 403, 403, 403, 403)),
    ("GET", "needs.detail", "/needs/999999", None, row(LOGIN, 404, 404, 404, 404, 404, 404)),
    ("GET", "needs.edit", "/needs/{open_need}/edit", None, row(LOGIN, 200, 403, 403, 403, 403, 403)),
    ("POST", "needs.edit", "/needs/{open_need}/edit", {}, row(LOGIN, 422, 403, 403, 403, 403, 403)),
    ("POST", "needs.transition", "/needs/{draft_need}/submit", {}, row(LOGIN, 302, 403, 403, 403, 403, 403)),
    ("POST", "needs.transition", "/needs/{open_need}/withdraw", {"confirm": "1"},
     row(LOGIN, 302, 403, 403, 403, 403, 403)),
    ("POST", "needs.transition", "/needs/{submitted_need}/open", {}, row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("POST", "needs.transition", "/needs/{submitted_need}/return", {"reason": "Say more"},
     row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("POST", "needs.transition", "/needs/{open_need}/close", {"confirm": "1"},
     row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("POST", "needs.transition", "/needs/{open_need}/fly", {}, row(LOGIN, 404, 404, 404, 404, 404, 404)),
    # Offerings: both belong to the "own" partner's organisation.
    ("GET", "offerings.index", "/offerings/", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "offerings.create", "/offerings/new", None, row(LOGIN, 403, 403, 200, 200, 403, 403)),
    ("POST", "offerings.create", "/offerings/new", {}, row(LOGIN, 403, 403, 422, 422, 403, 403)),
    ("GET", "offerings.detail", "/offerings/{published_offering}", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "offerings.detail", "/offerings/{draft_offering}", None, row(LOGIN, 403, 403, 200, 403, 200, 200)),
    ("GET", "offerings.edit", "/offerings/{published_offering}/edit", None, row(LOGIN, 403, 403, 200, 403, 403, 403)),
    ("POST", "offerings.edit", "/offerings/{published_offering}/edit", {}, row(LOGIN, 403, 403, 422, 403, 403, 403)),
    ("POST", "offerings.transition", "/offerings/{draft_offering}/publish", {},
     row(LOGIN, 403, 403, 302, 403, 403, 403)),
    ("POST", "offerings.transition", "/offerings/{published_offering}/close", {"confirm": "1"},
     row(LOGIN, 403, 403, 302, 403, 302, 302)),
    # Matches: a proposal awaiting review, and an approved one (an introduction) between the "own" parties.
    ("GET", "matches.queue", "/matches/", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("POST", "matches.bulk_approve", "/matches/bulk-approve", {}, row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("POST", "matches.run", "/matches/run", {}, row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("GET", "matches.create", "/matches/new", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("POST", "matches.create", "/matches/new", {}, row(LOGIN, 403, 403, 403, 403, 422, 422)),
    ("GET", "matches.detail", "/matches/{proposed_match}", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("GET", "matches.detail", "/matches/{approved_match}", None, row(LOGIN, 200, 403, 200, 403, 200, 200)),
    ("GET", "matches.detail", "/matches/99999", None, row(LOGIN, 404, 404, 404, 404, 404, 404)),
    ("POST", "matches.decide", "/matches/{proposed_match}/decide", {"action": "reject", "reason": "Not a fit",
                                                                    "confirm": "1"},
     row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("POST", "matches.respond", "/matches/{approved_match}/respond", {"answer": "accept"},
     row(LOGIN, 302, 403, 302, 403, 403, 403)),
    ("POST", "matches.follow_up", "/matches/{approved_match}/progress", {"action": "meeting_held"},
     row(LOGIN, 302, 403, 302, 403, 302, 302)),
    ("GET", "matches.mine", "/matches/mine", None, row(LOGIN, 200, 200, 200, 200, 403, 403)),
    ("GET", "matches.inbox", "/inbox", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    ("POST", "matches.mark_read", "/inbox/read", {}, row(LOGIN, 302, 302, 302, 302, 302, 302)),
    # Administration.
    ("GET", "admin.users", "/admin/users", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("GET", "admin.invite", "/admin/users/invite", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("POST", "admin.invite", "/admin/users/invite", {}, row(LOGIN, 403, 403, 403, 403, 422, 422)),
    ("GET", "admin.edit_user", "/admin/users/{own_delegate}", None, row(LOGIN, 403, 403, 403, 403, 403, 200)),
    ("POST", "admin.edit_user", "/admin/users/{own_delegate}", {}, row(LOGIN, 403, 403, 403, 403, 403, 422)),
    ("GET", "admin.organisations", "/admin/organisations", None, row(LOGIN, 403, 403, 403, 403, 403, 200)),
    ("GET", "admin.new_organisation", "/admin/organisations/new", None, row(LOGIN, 403, 403, 403, 403, 403, 200)),
    ("POST", "admin.new_organisation", "/admin/organisations/new", {}, row(LOGIN, 403, 403, 403, 403, 403, 422)),
    ("GET", "admin.edit_organisation", "/admin/organisations/{own_org}", None,
     row(LOGIN, 403, 403, 403, 403, 403, 200)),
    ("POST", "admin.edit_organisation", "/admin/organisations/{own_org}", {},
     row(LOGIN, 403, 403, 403, 403, 403, 422)),
    ("GET", "admin.members", "/admin/members", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("GET", "admin.audit", "/admin/audit", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("GET", "admin.sign_ins", "/admin/sign-ins", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("GET", "admin.sign_in_locks", "/admin/sign-in-locks", None, row(LOGIN, 403, 403, 403, 403, 403, 200)),
    # An empty post names no lock: the admin is sent back to the list with a message.
    ("POST", "admin.clear_sign_in_lock", "/admin/sign-in-locks/clear", {}, row(LOGIN, 403, 403, 403, 403, 403, 302)),
    # API tokens on the account page: the token belongs to the "own" delegate.
    ("POST", "auth.create_api_token", "/account/tokens", {}, row(LOGIN, 422, 422, 422, 422, 422, 422)),
    ("POST", "auth.revoke_api_token", "/account/tokens/{own_token}/revoke", {},
     row(LOGIN, 302, 403, 403, 403, 403, 403)),
    # The JSON API reads no cookie: a signed-in browser is as anonymous as anyone without a token (tests/test_api.py
    # and tests/test_api_matches.py check the roles with tokens). Its description and documentation are public.
    ("GET", "api-docs.openapi_json", "/api/v1/openapi.json", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("GET", "api_pages.docs", "/api/v1/docs", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("GET", "api.me", "/api/v1/me", None, row(401, 401, 401, 401, 401, 401, 401)),
    ("GET", "api.members", "/api/v1/members", None, row(401, 401, 401, 401, 401, 401, 401)),
    ("GET", "api.policy_areas", "/api/v1/policy-areas", None, row(401, 401, 401, 401, 401, 401, 401)),
    ("GET", "api.vocabularies", "/api/v1/vocabularies", None, row(401, 401, 401, 401, 401, 401, 401)),
    ("GET", "api.list_offerings", "/api/v1/offerings", None, row(401, 401, 401, 401, 401, 401, 401)),
    ("POST", "api.create_offering", "/api/v1/offerings", {}, row(401, 401, 401, 401, 401, 401, 401)),
    ("GET", "api.get_offering", "/api/v1/offerings/{published_offering}", None,
     row(401, 401, 401, 401, 401, 401, 401)),
    ("PATCH", "api.update_offering", "/api/v1/offerings/{published_offering}", {},
     row(401, 401, 401, 401, 401, 401, 401)),
    ("POST", "api.transition_offering", "/api/v1/offerings/{draft_offering}/transitions", {},
     row(401, 401, 401, 401, 401, 401, 401)),
    ("GET", "api.list_needs", "/api/v1/needs", None, row(401, 401, 401, 401, 401, 401, 401)),
    ("POST", "api.create_need", "/api/v1/needs", {}, row(401, 401, 401, 401, 401, 401, 401)),
    ("GET", "api.get_need", "/api/v1/needs/{open_need}", None, row(401, 401, 401, 401, 401, 401, 401)),
    ("PATCH", "api.update_need", "/api/v1/needs/{open_need}", {}, row(401, 401, 401, 401, 401, 401, 401)),
    ("POST", "api.transition_need", "/api/v1/needs/{draft_need}/transitions", {},
     row(401, 401, 401, 401, 401, 401, 401)),
    ("GET", "api.list_matches", "/api/v1/matches", None, row(401, 401, 401, 401, 401, 401, 401)),
    ("GET", "api.get_match", "/api/v1/matches/{approved_match}", None, row(401, 401, 401, 401, 401, 401, 401)),
    ("POST", "api.respond_to_match", "/api/v1/matches/{approved_match}/response", {},
     row(401, 401, 401, 401, 401, 401, 401)),
    ("POST", "api.record_match_progress", "/api/v1/matches/{approved_match}/progress", {},
     row(401, 401, 401, 401, 401, 401, 401)),
    # Imports: partners bring offerings, delegates (and facilitators on their behalf) needs; the pending upload
    # belongs to the "own" partner. Exports give each role its own records.
    ("GET", "imports.index", "/imports/", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "imports.template", "/imports/offerings/template.csv", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "imports.upload_csv", "/imports/offerings/csv", None, row(LOGIN, 403, 403, 200, 200, 403, 403)),
    ("POST", "imports.upload_csv", "/imports/offerings/csv", {}, row(LOGIN, 403, 403, 422, 422, 403, 403)),
    ("GET", "imports.upload_csv", "/imports/needs/csv", None, row(LOGIN, 200, 200, 403, 403, 200, 200)),
    ("POST", "imports.upload_csv", "/imports/needs/csv", {}, row(LOGIN, 422, 422, 403, 403, 422, 422)),
    ("GET", "imports.upload_iati", "/imports/offerings/iati", None, row(LOGIN, 403, 403, 200, 200, 403, 403)),
    ("POST", "imports.upload_iati", "/imports/offerings/iati", {}, row(LOGIN, 403, 403, 422, 422, 403, 403)),
    ("GET", "imports.preview", "/imports/{own_upload}", None, row(LOGIN, 403, 403, 200, 403, 403, 403)),
    ("POST", "imports.confirm", "/imports/{own_upload}/confirm", {}, row(LOGIN, 403, 403, 302, 403, 403, 403)),
    ("POST", "imports.cancel", "/imports/{own_upload}/cancel", {}, row(LOGIN, 403, 403, 302, 403, 403, 403)),
    ("GET", "imports.export_offerings", "/exports/offerings.csv", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "imports.export_offerings", "/exports/offerings.xml", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "imports.export_needs", "/exports/needs.json", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    # Matchmaking sessions: the approved match (the "own" parties) is invited to a session being planned, and to one
    # already held. Facilitators plan; only the parties of an invited match see the session and give availability.
    ("GET", "sessions.index", "/sessions/", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("GET", "sessions.mine", "/sessions/mine", None, row(LOGIN, 200, 200, 200, 200, 403, 403)),
    ("GET", "sessions.create", "/sessions/new", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("POST", "sessions.create", "/sessions/new", {}, row(LOGIN, 403, 403, 403, 403, 422, 422)),
    ("GET", "sessions.detail", "/sessions/{session}", None, row(LOGIN, 200, 403, 200, 403, 200, 200)),
    ("GET", "sessions.edit", "/sessions/{session}/edit", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("POST", "sessions.edit", "/sessions/{session}/edit", {}, row(LOGIN, 403, 403, 403, 403, 422, 422)),
    ("GET", "sessions.invite", "/sessions/{session}/invite", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("POST", "sessions.invite", "/sessions/{session}/invite", {}, row(LOGIN, 403, 403, 403, 403, 422, 422)),
    ("POST", "sessions.uninvite", "/sessions/{session}/remove", {},
     row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("GET", "sessions.availability", "/sessions/{session}/availability", None,
     row(LOGIN, 200, 403, 200, 403, 403, 403)),
    ("POST", "sessions.availability", "/sessions/{session}/availability", {"rounds": ["0"]},
     row(LOGIN, 302, 403, 302, 403, 403, 403)),
    ("POST", "sessions.build", "/sessions/{session}/agenda/build", {}, row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("POST", "sessions.move", "/sessions/{session}/agenda/move", {}, row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("POST", "sessions.swap", "/sessions/{session}/agenda/swap", {}, row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("GET", "sessions.print_agenda", "/sessions/{session}/agenda/print", None,
     row(LOGIN, 200, 403, 200, 403, 200, 200)),
    ("GET", "sessions.ics", "/sessions/{session}/agenda.ics", None, row(LOGIN, 200, 403, 200, 403, 200, 200)),
    ("POST", "sessions.transition", "/sessions/{session}/held", {}, row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("POST", "sessions.outcome", "/sessions/{held_session}/outcome", {"outcome": "informative"},
     row(LOGIN, 403, 403, 403, 403, 302, 302)),
    ("GET", "sessions.summary", "/sessions/{held_session}/summary", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("POST", "sessions.summary", "/sessions/{held_session}/summary", {}, row(LOGIN, 403, 403, 403, 403, 302, 302)),

    # The dashboard (exact figures, members behind each theme) is for staff; the non-attributable report is public.
    ("GET", "dashboard.index", "/dashboard/", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("GET", "dashboard.table_csv", "/dashboard/themes.csv", None, row(LOGIN, 403, 403, 403, 403, 200, 200)),
    ("GET", "dashboard.table_csv", "/dashboard/nothing.csv", None, row(LOGIN, 403, 403, 403, 403, 404, 404)),
    ("GET", "reports.index", "/reports/", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("GET", "reports.table_csv", "/reports/needs_by_area_region.csv", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("GET", "reports.table_csv", "/reports/nothing.csv", None, row(404, 404, 404, 404, 404, 404, 404)),
    # Editions of the report: anyone reads them; facilitators (and admins) publish them.
    ("GET", "reports.list_editions", "/reports/editions/", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("GET", "reports.edition", "/reports/editions/1/", None, row(200, 200, 200, 200, 200, 200, 200)),
    ("GET", "reports.edition_csv", "/reports/editions/1/needs_by_ldc.csv", None,
     row(200, 200, 200, 200, 200, 200, 200)),
    ("POST", "reports.publish", "/reports/editions/", {}, row(LOGIN, 403, 403, 403, 403, 302, 302)),

    ("GET", "imports.export_matches", "/exports/matches.csv", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
    ("GET", "imports.export_matches", "/exports/matches.xml", None, row(LOGIN, 200, 200, 200, 200, 200, 200)),
]


def token_of(user) -> int:
    from matchmaker.api.tokens import create_token

    token, _secret = create_token(user, "matrix")
    db.session.commit()
    return token.id


def upload_of(user) -> int:
    from matchmaker.imports.csv_import import template_csv
    from matchmaker.models import ImportUpload

    data = template_csv("offerings").encode()
    upload = ImportUpload(user_id=user.id, kind="offerings_csv", filename="t.csv", content=data, sha256="0" * 64)
    db.session.add(upload)
    db.session.commit()
    return upload.id


def session_of(world, name: str) -> dict:
    """A session being planned ("session") or held ("held_session"), the approved match on its agenda (rows written
    directly: the services are tested in tests/test_sessions.py, and this runs for every cell of its rows)."""
    from datetime import date, time, timedelta

    from matchmaker.models import MatchmakingSession, SessionMeeting

    session = MatchmakingSession(
        title=f"Matrix {name}", policy_areas=[], date=date.today() + timedelta(days=7), start_time=time(9, 0),
        time_zone="Europe/Zurich", mode="online", link="https://meet.example.org/x", slot_minutes=20, rounds=2,
        tables=1, status="held" if name == "held_session" else "planning")
    meeting = SessionMeeting(session=session, match_id=world["ids"]["approved_match"], round=0, table_no=0)
    db.session.add_all([session, meeting])
    db.session.commit()
    return {name: session.id}


def edition_of(world) -> None:
    """The report's first edition, published by the world's facilitator (only the report's routes need it)."""
    from sqlalchemy import select

    from matchmaker.models import User
    from matchmaker.services import editions

    editions.publish(db.session.scalar(select(User).where(User.email == world["users"]["facilitator"])))
    db.session.commit()


@pytest.fixture
def world(make):
    """Two members, two organisations, one user per role, and records in several states."""
    own_org, other_org = make.organisation("OWN"), make.organisation("OTHER")
    published = make.offering(own_org, "published")
    users = {
        "delegate_own": make.user("delegate", member="BJ"),
        "delegate_other": make.user("delegate", member="SN"),
        "partner_own": make.user("partner", organisation=own_org),
        "partner_other": make.user("partner", organisation=other_org),
        "facilitator": make.user("facilitator"),
        "admin": make.user("admin"),
    }
    ids = {
        "open_need": make.need("BJ", "open").id,
        "draft_need": make.need("BJ", "draft").id,
        "submitted_need": make.need("BJ", "submitted").id,
        "published_offering": published.id,
        "draft_offering": make.offering(own_org, "draft").id,
        "proposed_match": make.match(make.need("BJ", "open"), published, "proposed").id,
        "approved_match": make.match(make.need("BJ", "matched"), published, "approved").id,
        "own_delegate": users["delegate_own"].id,
        "own_org": own_org.id,
        "own_token": token_of(users["delegate_own"]),
        "own_upload": upload_of(users["partner_own"]),
    }
    return {"users": {k: v.email for k, v in users.items()}, "ids": ids}


GET_ROUTES = [(template, expected) for method, _endpoint, template, _data, expected in MATRIX if method == "GET"]
