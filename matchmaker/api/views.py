"""The /api/v1/ endpoints: the same services, roles and object rules as the web pages, behind personal tokens."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Api, Blueprint, abort
from sqlalchemy import and_, not_, or_, select
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from matchmaker.api import schemas
from matchmaker.api.parsing import StrictJsonParser
from matchmaker.api.tokens import user_for_token
from matchmaker.errors import DomainError, NotPermitted
from matchmaker.extensions import csrf, db
from matchmaker.imports.exports import origin_fields
from matchmaker.models import Match, Member, Need, Offering
from matchmaker.needs.views import filter_origin, json_list_contains, names_shown_to, visible_needs_query
from matchmaker.offerings.views import visible_offerings_query
from matchmaker.permissions import STAFF, can, match_side
from matchmaker.reference import (
    BENEFICIARIES,
    DELIVERY_LANGUAGES,
    ELIGIBILITY,
    POLICY_AREAS,
    PRIORITIES,
    REGIONS,
    SUPPORT_KINDS,
    TEXT_LANGUAGES,
)
from matchmaker.services import anonymity, submissions
from matchmaker.services import matches as match_service
from matchmaker.services import needs as needs_service
from matchmaker.services import offerings as offerings_service
from matchmaker.services.match_queries import visible_matches_query
from matchmaker.utils import MAX_ID

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description="Offerings, needs, matches and reference data, with a personal API token.")
# Before any route is declared: every @bp.arguments reads JSON bodies with it.
bp.ARGUMENTS_PARSER = StrictJsonParser()
# The human-readable documentation, rendered on the server from the OpenAPI description.
pages = FlaskBlueprint("api_pages", __name__, url_prefix="/api/v1")

ERRORS = {
    400: _l("The request body is not valid JSON."),
    401: _l("No valid API token: send 'Authorization: Bearer <token>' with a token from your account page."),
    403: _l("Your role or organisation may not do this to this record."),
    404: _l("There is no such record."),
    409: _l("The record is not in a state where this can be done, or it changed since you read it."),
    422: _l("Some fields are missing or invalid; see the messages per field."),
}


class MatchmakerApi(Api):
    """flask-smorest's Api, without its app-wide error handler: the web pages keep their HTML error pages."""

    ERROR_SCHEMA = schemas.ErrorSchema

    def _register_error_handlers(self):
        pass


def init_api(app: Flask) -> None:
    """Configure the OpenAPI description and register the API and its documentation page."""
    app.config.setdefault("API_TITLE", "TA Matchmaker API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Partner organisations keep their programmes in their own systems: this API lets "
                                "them create, update, publish and close offerings, and read the open needs that "
                                "fit them (anonymised as on the web). Delegates manage their member's needs. "
                                "Both parties answer the introductions a facilitator made and record what "
                                "followed (meeting and outcome, agreement, delivery, completion). "
                                "Authenticate with a personal token created on the account page: "
                                "`Authorization: Bearer <token>`."},
        "security": [{"bearerAuth": []}],
        "servers": [{"url": "/"}],
    })
    api = MatchmakerApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(bp)
    # The API reads no cookie: a request is authenticated by its token alone, so a forged cross-site request
    # carries no credentials and CSRF tokens have nothing to protect.
    csrf.exempt(bp)
    app.register_blueprint(pages)
    app.extensions["matchmaker-api"] = api
    app.after_request(_allow_header)


def _allow_header(response):
    """A 405 names the methods the URL does support (RFC 9110), also when an error page replaced the response."""
    routing = request.routing_exception
    if response.status_code == 405 and "Allow" not in response.headers and isinstance(routing, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(sorted(routing.valid_methods or []))
    return response


# ---- authentication and errors -------------------------------------------------------------------------------

def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages ({"json": {"field": {0: [...]}}}) as {"field.0": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "path", "form", "headers"):
                name = ""
            elif key == "_schema":
                name = prefix or "body"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            for field, texts in _flatten(value, name).items():
                flat.setdefault(field, []).extend(texts)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (dict, list, tuple)):
                for field, texts in _flatten(item, prefix).items():
                    flat.setdefault(field, []).extend(texts)
            else:
                flat.setdefault(prefix or "body", []).append(str(item))
    else:
        flat.setdefault(prefix or "body", []).append(str(messages))
    return flat


def error_response(status: int, message: str | None = None, errors: dict | None = None):
    body: dict[str, Any] = {"error": HTTP_STATUS_CODES.get(status, "Error"),
                            "message": str(message or ERRORS.get(status) or _("Error."))}
    if errors:
        body["errors"] = errors
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else {}
    return body, status, headers


@bp.errorhandler(HTTPException)
def handle_http_error(error: HTTPException):
    db.session.rollback()
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or (_flatten(data["messages"]) if "messages" in data else None)
    if error.code == 400 and errors:
        return error_response(400, _("The request body is not valid JSON."), errors)
    message = data.get("message") or (error.description if error.code not in ERRORS else None)
    response = error_response(error.code or 500, message, errors)
    if error.code == 405:
        response[2]["Allow"] = ", ".join(error.valid_methods or [])
    return response


@bp.errorhandler(RecursionError)
def handle_too_deep(_error: RecursionError):
    # A body of thousands of nested brackets exhausts the JSON decoder's recursion: for us it is not valid JSON.
    db.session.rollback()
    return error_response(400, None, {"body": [str(ERRORS[400])]})


@bp.errorhandler(DomainError)
def handle_domain_error(error: DomainError):
    db.session.rollback()
    if isinstance(error, NotPermitted):
        return error_response(403, error.message)
    if error.field:  # a refused value (a deadline in the past...): named, as a schema error would be
        return error_response(422, error.message, {error.field: [error.message]})
    return error_response(409, error.message)


@bp.before_request
def authenticate():
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    user = user_for_token(secret.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        db.session.rollback()
        return error_response(401)
    g.api_user = user
    if db.session.dirty:
        try:
            db.session.commit()  # last_used_at: worth recording, never worth failing a request for
        except OperationalError:
            # Another worker holds SQLite's write lock: serve the request without recording the use (looking the
            # token up again must not leave the session dirty, or the request's first query would try to write).
            db.session.rollback()
            g.api_user = user = user_for_token(secret.strip(), touch=False)
    return None


def actor():
    return g.api_user


def load(model, object_id: int, action: str):
    """The record or 404, then 403 unless the token's user may do ``action``."""
    obj = db.session.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if obj is None:
        abort(404)
    if not can(actor(), action, obj):
        abort(403)
    return obj


def invalid(errors: dict[str, list[str]]):
    abort(422, errors=errors)


def paginate(query, args) -> dict:
    page = db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False, count=True)
    return {"items": list(page.items),
            "pagination": {"page": page.page, "per_page": page.per_page, "total": page.total or 0,
                           "pages": page.pages}}


COMMON = (401, 403, 404, 409, 422)


def document_errors(*codes: int):
    """Document the JSON error bodies an endpoint may answer with."""

    def decorator(view):
        for code in codes:
            view = bp.alt_response(code, schema=schemas.ErrorSchema, description=str(ERRORS[code]))(view)
        return view

    return decorator


# ---- serialising --------------------------------------------------------------------------------------------

def offering_out(offering: Offering) -> dict:
    today = date.today()
    org = offering.organisation
    out = {field: getattr(offering, field) for field in schemas.OfferingSchema._declared_fields
           if field not in ("organisation", "display_status")}
    out["organisation"] = {"id": org.id, "name": org.name, "acronym": org.acronym}
    out["display_status"] = offering.display_status(today)
    return out


def need_out(need: Need) -> dict:
    named = can(actor(), "need.see_member", need)
    out = {field: getattr(need, field) for field in schemas.NeedSchema._declared_fields
           if field not in ("member", "member_name", "region", "is_ldc", "names_member")}
    out.update(origin_fields(need, named), member_name=need.member.name_en if named else None,
               delivery_languages=list(anonymity.shown_need(need, named).delivery_languages),
               names_member=names_shown_to(actor(), need))
    return out


def unknown_members(codes: list[str]) -> list[str]:
    if not codes:
        return []
    known = set(db.session.scalars(select(Member.code).where(Member.code.in_(codes))))
    return [code for code in codes if code not in known]


# ---- who am I, reference data -------------------------------------------------------------------------------

@bp.route("/me", methods=["GET"])
@bp.response(200, schemas.MeSchema)
@document_errors(401)
def me():
    """The user the token belongs to."""
    user = actor()
    org = user.organisation
    return {"id": user.id, "name": user.name, "email": user.email, "role": user.role,
            "member": user.member.code if user.member else None,
            "organisation": {"id": org.id, "name": org.name, "acronym": org.acronym} if org else None}


@bp.route("/members", methods=["GET"])
@bp.response(200, schemas.MemberSchema(many=True))
@document_errors(401)
def members():
    """WTO members and observers, with their LDC and developing status and region."""
    return list(db.session.scalars(select(Member).order_by(Member.code)))


@bp.route("/policy-areas", methods=["GET"])
@bp.response(200, schemas.VocabularyItemSchema(many=True))
@document_errors(401)
def policy_areas():
    """The policy areas (UNCTAD eTrade for all), labelled in the request's language."""
    return [{"code": code, "label": str(label)} for code, label in POLICY_AREAS.items()]


VOCABULARIES = {
    "policy_areas": POLICY_AREAS, "support_kinds": SUPPORT_KINDS, "beneficiaries": BENEFICIARIES,
    "text_languages": TEXT_LANGUAGES, "delivery_languages": DELIVERY_LANGUAGES, "regions": REGIONS,
    "eligibility": ELIGIBILITY, "priorities": PRIORITIES,
}


VocabulariesSchema = schemas.ma.Schema.from_dict(
    {name: schemas.fields.List(schemas.fields.Nested(schemas.VocabularyItemSchema), required=True)
     for name in VOCABULARIES}, name="Vocabularies")


@bp.route("/vocabularies", methods=["GET"])
@bp.response(200, VocabulariesSchema)
@document_errors(401)
def vocabularies():
    """Every controlled vocabulary the fields of needs and offerings use."""
    return {name: [{"code": code, "label": str(label)} for code, label in vocabulary.items()]
            for name, vocabulary in VOCABULARIES.items()}


# ---- offerings ----------------------------------------------------------------------------------------------

REPLAYED = {"Idempotent-Replayed": "true"}


def _idempotency_claim(kind: str):
    """An Idempotency-Key header makes a create safe to retry: the same key gives back the record the first request
    created (services/submissions.py), with the header Idempotent-Replayed."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None, None
    if not re.match(submissions.KEY_PATTERN, "api:" + key):
        invalid({"Idempotency-Key": [_("Send 12 to 76 letters, digits or the characters - _ . : as the key.")]})
    return submissions.claim(actor(), "api:" + key, kind)


@bp.route("/offerings", methods=["GET"])
@bp.arguments(schemas.OfferingFilterArgs, location="query", unknown=schemas.ma.RAISE)
@bp.response(200, schemas.OfferingPageSchema)
@document_errors(401, 422)
def list_offerings(args):
    """Offerings this token's user may see: everyone's published and closed ones, and their organisation's drafts."""
    user = actor()
    query = visible_offerings_query(user)
    today = date.today()
    if args.get("q"):
        like = f"%{args['q']}%"
        query = query.where(or_(Offering.title.ilike(like), Offering.description.ilike(like)))
    status = args.get("status")
    if status == "expired":
        query = query.where(Offering.status == "published", Offering.deadline < today)
    elif status == "published":
        query = query.where(Offering.status == "published", or_(Offering.deadline.is_(None), Offering.deadline >= today))
    elif status:
        query = query.where(Offering.status == status)
    if args.get("policy_area"):
        query = query.where(json_list_contains(Offering.policy_areas, args["policy_area"]))
    if args.get("language"):
        query = query.where(json_list_contains(Offering.delivery_languages, args["language"]))
    if args.get("organisation"):
        query = query.where(Offering.organisation_id == args["organisation"])
    if args.get("mine") is True:
        query = query.where(Offering.organisation_id == (user.organisation_id or 0))
    query = query.order_by(Offering.id)
    result = paginate(query, args)
    result["items"] = [offering_out(o) for o in result["items"]]
    return result


@bp.route("/offerings", methods=["POST"])
@bp.arguments(schemas.OfferingInSchema)
@bp.response(201, schemas.OfferingSchema)
@document_errors(400, 401, 403, 422)
def create_offering(data):
    """A partner creates a draft offering for their organisation. Send an `Idempotency-Key` header (12 to 76
    characters) to make the request safe to retry: the same key gives back the offering the first request created."""
    missing = unknown_members(data.get("eligible_members", []))
    if missing:
        invalid({"eligible_members": [_("Unknown member: %(code)s", code=code) for code in missing]})
    claimed, first = _idempotency_claim("offering")
    if first is not None:
        return offering_out(load(Offering, first, "offering.view")), 201, REPLAYED
    offering = offerings_service.create_offering(actor(), dict(data))
    submissions.settle(claimed, offering)
    db.session.commit()
    return offering_out(offering)


@bp.route("/offerings/<int:offering_id>", methods=["GET"])
@bp.response(200, schemas.OfferingSchema)
@document_errors(401, 403, 404)
def get_offering(offering_id: int):
    """One offering."""
    return offering_out(load(Offering, offering_id, "offering.view"))


@bp.route("/offerings/<int:offering_id>", methods=["PATCH"])
@bp.arguments(schemas.OfferingPatchSchema(partial=True))
@bp.response(200, schemas.OfferingSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def update_offering(data, offering_id: int):
    """Change some fields of one of your organisation's offerings (not once it is closed)."""
    offering = load(Offering, offering_id, "offering.edit")
    version = data.pop("version", None)
    if version is not None and version != offering.version:
        abort(409, message=_("The offering was changed since you read it (version %(stored)d); read it "
                                     "again and send the new version.", stored=offering.version))
    missing = unknown_members(data.get("eligible_members", []))
    if missing:
        invalid({"eligible_members": [_("Unknown member: %(code)s", code=code) for code in missing]})
    fields = {name: getattr(offering, name) for name in offerings_service.EDITABLE_FIELDS}
    fields.update(data)
    problems = schemas.OfferingInSchema().validate(_jsonable(fields))
    if problems:
        invalid(_flatten(problems))
    offerings_service.update_offering(actor(), offering, fields)
    db.session.commit()
    return offering_out(offering)


@bp.route("/offerings/<int:offering_id>/transitions", methods=["POST"])
@bp.arguments(schemas.OfferingTransitionSchema)
@bp.response(200, schemas.OfferingSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def transition_offering(data, offering_id: int):
    """Publish a draft, or close a published offering."""
    offering = load(Offering, offering_id, "offering.view")
    offerings_service.transition(actor(), offering, data["action"], today=date.today(), reason=data.get("reason"))
    db.session.commit()
    return offering_out(offering)


# ---- needs --------------------------------------------------------------------------------------------------

@bp.route("/needs", methods=["GET"])
@bp.arguments(schemas.NeedFilterArgs, location="query", unknown=schemas.ma.RAISE)
@bp.response(200, schemas.NeedPageSchema)
@document_errors(401, 422)
def list_needs(args):
    """Needs this token's user may see: a delegate's member's, the open ones for partners (anonymised unless the
    member chose to be named), all but drafts for facilitators."""
    query = visible_needs_query(actor())
    if args.get("q"):
        like = f"%{args['q']}%"
        query = query.where(or_(Need.title.ilike(like), Need.description.ilike(like)))
    if args.get("status"):
        query = query.where(Need.status == args["status"])
    if args.get("policy_area"):
        query = query.where(json_list_contains(Need.policy_areas, args["policy_area"]))
    if args.get("language"):
        query = query.where(Need.language == args["language"])
    query = filter_origin(query, actor(), args.get("region"), args.get("ldc"))
    result = paginate(query.order_by(Need.id), args)
    result["items"] = [need_out(n) for n in result["items"]]
    return result


@bp.route("/needs", methods=["POST"])
@bp.arguments(schemas.NeedInSchema)
@bp.response(201, schemas.NeedSchema)
@document_errors(400, 401, 403, 422)
def create_need(data):
    """A delegate drafts a need for their member. Send an `Idempotency-Key` header (12 to 76 characters) to make the
    request safe to retry: the same key gives back the need the first request created."""
    claimed, first = _idempotency_claim("need")
    if first is not None:
        return need_out(load(Need, first, "need.view")), 201, REPLAYED
    need = needs_service.create_need(actor(), dict(data))
    submissions.settle(claimed, need)
    db.session.commit()
    return need_out(need)


@bp.route("/needs/<int:need_id>", methods=["GET"])
@bp.response(200, schemas.NeedSchema)
@document_errors(401, 403, 404)
def get_need(need_id: int):
    """One need (without the member's name when it is not to be shown to you)."""
    return need_out(load(Need, need_id, "need.view"))


@bp.route("/needs/<int:need_id>", methods=["PATCH"])
@bp.arguments(schemas.NeedPatchSchema(partial=True))
@bp.response(200, schemas.NeedSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def update_need(data, need_id: int):
    """Change some fields of one of your member's needs (not once it is closed)."""
    need = load(Need, need_id, "need.edit")
    version = data.pop("version", None)
    if version is not None and version != need.version:
        abort(409, message=_("The need was changed since you read it (version %(stored)d); read it again "
                                     "and send the new version.", stored=need.version))
    fields = {name: getattr(need, name) for name in needs_service.EDITABLE_FIELDS}
    fields.update(data)
    problems = schemas.NeedInSchema().validate(_jsonable(fields))
    if problems:
        invalid(_flatten(problems))
    needs_service.update_need(actor(), need, fields)
    db.session.commit()
    return need_out(need)


@bp.route("/needs/<int:need_id>/transitions", methods=["POST"])
@bp.arguments(schemas.NeedTransitionSchema)
@bp.response(200, schemas.NeedSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def transition_need(data, need_id: int):
    """Submit, withdraw (delegates), open, return or close (facilitators) a need."""
    need = load(Need, need_id, "need.view")
    needs_service.transition(actor(), need, data["action"], reason=data.get("reason"))
    db.session.commit()
    return need_out(need)


# ---- matches ------------------------------------------------------------------------------------------------

def match_out(match: Match) -> dict:
    """A match as this token's user may see it: the member is named only where the web page names it."""
    user = actor()
    need, offering = match.need, match.offering
    named = can(user, "need.see_member", need)
    org = offering.organisation
    side = match_side(user, match)
    contacts = []
    if match.is_introduced and (side is not None or user.role in STAFF):
        for party in match_service.party_users(match):
            on_need_side = party.role == "delegate"
            contacts.append({"name": party.name, "email": party.email, "side": "need" if on_need_side else "offering",
                             "acts_for": need.member.name_en if on_need_side else org.name})
        if offering.contact_email:
            contacts.append({"name": offering.contact_name or "", "email": offering.contact_email,
                             "side": "programme", "acts_for": org.name})
    return {
        "id": match.id, "status": match.status, "score": match.score, "origin": match.origin,
        "engine_version": match.engine_version,
        "need": {"id": need.id, "title": need.title, "status": need.status, **origin_fields(need, named),
                 "member_name": need.member.name_en if named else None},
        "offering": {"id": offering.id, "title": offering.title, "status": offering.status,
                     "organisation": {"id": org.id, "name": org.name, "acronym": org.acronym}},
        "terms": [{"term": label, "share": share} for label, share in (match.terms or [])],
        "shared_facets": match.shared_facets or {},
        "decided_at": match.decided_at, "decision_reason": match.decision_reason,
        "need_response": match.need_response, "need_responded_at": match.need_responded_at,
        "offering_response": match.offering_response, "offering_responded_at": match.offering_responded_at,
        "outcome": match.outcome, "outcome_note": match.outcome_note,
        "my_side": side, "can_respond": can(user, "match.respond", match),
        "next_steps": [action for action, (sources, _target) in match_service.PROGRESS.items()
                       if match.status in sources] if can(user, "match.progress", match) else [],
        "contacts": contacts,
        "created_at": match.created_at, "updated_at": match.updated_at, "version": match.version,
    }


@bp.route("/matches", methods=["GET"])
@bp.arguments(schemas.MatchFilterArgs, location="query", unknown=schemas.ma.RAISE)
@bp.response(200, schemas.MatchPageSchema)
@document_errors(401, 422)
def list_matches(args):
    """Matches this token's user may see: a delegate's member's and a partner's organisation's from the moment a
    facilitator introduced the parties; every match for facilitators."""
    user = actor()
    query = visible_matches_query(user)
    if args.get("status"):
        query = query.where(Match.status == args["status"])
    if args.get("need"):
        query = query.where(Match.need_id == args["need"])
    if args.get("offering"):
        query = query.where(Match.offering_id == args["offering"])
    if args.get("policy_area"):
        query = query.where(json_list_contains(Need.policy_areas, args["policy_area"]))
    if args.get("region"):
        query = query.where(Member.region == args["region"])
    if args.get("waiting") is not None:
        # Only a party has a side that can be waiting; for facilitators "waiting" means either side still is.
        if user.role == "delegate":
            pending = Match.need_response == "pending"
        elif user.role == "partner":
            pending = Match.offering_response == "pending"
        else:
            pending = or_(Match.need_response == "pending", Match.offering_response == "pending")
        waiting = and_(Match.status == "approved", pending)
        query = query.where(waiting if args["waiting"] else not_(waiting))
    result = paginate(query.order_by(Match.id), args)
    result["items"] = [match_out(m) for m in result["items"]]
    return result


@bp.route("/matches/<int:match_id>", methods=["GET"])
@bp.response(200, schemas.MatchSchema)
@document_errors(401, 403, 404)
def get_match(match_id: int):
    """One match (a party sees it once the facilitator introduced them)."""
    return match_out(load(Match, match_id, "match.view"))


@bp.route("/matches/<int:match_id>/response", methods=["POST"])
@bp.arguments(schemas.MatchResponseInSchema)
@bp.response(200, schemas.MatchSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def respond_to_match(data, match_id: int):
    """Accept or decline an introduction for your side (once); 409 when it no longer waits for your answer."""
    match = load(Match, match_id, "match.view")
    match_service.respond(actor(), match, data["answer"] == "accept", data.get("note"))
    db.session.commit()
    return match_out(match)


@bp.route("/matches/<int:match_id>/progress", methods=["POST"])
@bp.arguments(schemas.MatchProgressInSchema)
@bp.response(200, schemas.MatchSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def record_match_progress(data, match_id: int):
    """Record what happened after the introduction (the parties and facilitators): the meeting and its outcome, an
    agreement, the start of delivery, completion, or closing without result."""
    match = load(Match, match_id, "match.progress")
    match_service.progress(actor(), match, data["action"], data.get("outcome"), data.get("note"))
    db.session.commit()
    return match_out(match)


def _jsonable(fields: dict) -> dict:
    """Stored values as a client would send them, to re-check a merged PATCH with the input schema."""
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in fields.items()}


# ---- documentation page --------------------------------------------------------------------------------------

@pages.get("/docs")
def docs():
    """The API described for people, from the same OpenAPI description programs read."""
    spec = current_app.extensions["matchmaker-api"].spec.to_dict()
    return render_template("api/docs.html", spec=spec)
