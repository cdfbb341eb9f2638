"""The API's matches: the parties answer introductions and record what followed; facilitators read them all."""
from __future__ import annotations

from sqlalchemy import and_, not_, or_

from matchmaker.api import schemas
from matchmaker.api.common import Seen, actor, bp, document_errors, load, paginate
from matchmaker.extensions import db
from matchmaker.imports.exports import origin_fields
from matchmaker.models import Match, Member, Need
from matchmaker.permissions import can, match_side, party_side
from matchmaker.services import matches as match_service
from matchmaker.services.json_lists import json_list_contains
from matchmaker.services.match_queries import visible_matches_query


def match_seen(match: Match) -> Seen:
    """A match as this token's user may see it: the member is named only where the web page names it, and the
    contacts only once the parties are introduced ("match.see_contacts")."""
    user, need = actor(), match.need
    named = can(user, "need.see_member", need)
    return Seen(
        match,
        need=Seen(need, **origin_fields(need, named), member_name=need.member.name_en if named else None),
        terms=[{"term": label, "share": share} for label, share in (match.terms or [])],
        shared_facets=match.shared_facets or {},
        my_side=match_side(user, match),
        can_respond=can(user, "match.respond", match),
        next_steps=match_service.open_steps(match) if can(user, "match.progress", match) else [],
        contacts=match_service.contacts(match) if can(user, "match.see_contacts", match) else [],
    )


def _waiting(user):
    """Introductions still waiting for the answer of ``user``'s side; for staff, of either side."""
    pending = {"need": Match.need_response == "pending", "offering": Match.offering_response == "pending"}
    side = party_side(user)
    return and_(Match.status == "approved", pending[side] if side else or_(*pending.values()))


def _filtered(query, user, args):
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
        waiting = _waiting(user)
        query = query.where(waiting if args["waiting"] else not_(waiting))
    return query


@bp.route("/matches", methods=["GET"])
@bp.arguments(schemas.MatchFilterArgs, location="query", unknown=schemas.ma.RAISE)
@bp.response(200, schemas.MatchPageSchema)
@document_errors(401, 422)
def list_matches(args):
    """Matches this token's user may see: a delegate's member's and a partner's organisation's from the moment a
    facilitator introduced the parties; every match for facilitators."""
    user = actor()
    query = _filtered(visible_matches_query(user), user, args)
    return paginate(query.order_by(Match.id), args, match_seen)


@bp.route("/matches/<int:match_id>", methods=["GET"])
@bp.response(200, schemas.MatchSchema)
@document_errors(401, 403, 404)
def get_match(match_id: int):
    """One match (a party sees it once the facilitator introduced them)."""
    return match_seen(load(Match, match_id, "match.view"))


@bp.route("/matches/<int:match_id>/response", methods=["POST"])
@bp.arguments(schemas.MatchResponseInSchema)
@bp.response(200, schemas.MatchSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def respond_to_match(data, match_id: int):
    """Accept or decline an introduction for your side (once); 409 when it no longer waits for your answer."""
    match = load(Match, match_id, "match.view")
    match_service.respond(actor(), match, data["answer"] == "accept", data.get("note"))
    db.session.commit()
    return match_seen(match)


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
    return match_seen(match)
