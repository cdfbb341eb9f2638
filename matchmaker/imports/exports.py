"""CSV and JSON exports of the needs, offerings and matches a user may see (their own; facilitators all)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from matchmaker.extensions import db
from matchmaker.imports.csv_columns import NEED_COLUMNS, OFFERING_COLUMNS
from matchmaker.imports.spreadsheet import write_csv
from matchmaker.models import Match, Need, Offering, User
from matchmaker.permissions import can, needs_whose_member_is_known
from matchmaker.services import anonymity
from matchmaker.services.match_queries import ACCEPTED_STATUSES, visible_matches_query
from matchmaker.services.need_list import visible_needs_query
from matchmaker.services.offering_list import visible_offerings_query

# The import columns first (an export can be edited and imported again), then what only the service knows.
OFFERING_EXPORT = [c.name for c in OFFERING_COLUMNS if c.name != "status"] + [
    "id", "status", "organisation", "iati_identifier", "start_date", "end_date", "created_at", "updated_at"]
NEED_EXPORT = [c.name for c in NEED_COLUMNS if c.name != "status"] + [
    "id", "status", "member", "region", "is_ldc", "created_at", "updated_at"]
MATCH_EXPORT = ["id", "status", "need_id", "need_title", "member", "region", "is_ldc", "offering_id",
                "offering_title", "organisation", "score", "origin", "engine_version", "terms", "decided_at",
                "decision_reason", "need_response", "need_responded_at", "offering_response", "offering_responded_at",
                "outcome", "outcome_note", "created_at", "updated_at"]


def exported_offerings(user: User) -> list[Offering]:
    """A partner's organisation's offerings; for everyone else, the offerings they may see."""
    query = visible_offerings_query(user)
    if can(user, "export.own_offerings_only"):
        query = query.where(Offering.organisation_id == user.organisation_id)
    return list(db.session.scalars(query.order_by(Offering.id)))


def exported_needs(user: User) -> list[Need]:
    """A delegate's member's needs; facilitators all they may see; partners the open needs, anonymised."""
    return list(db.session.scalars(visible_needs_query(user).order_by(Need.id)))


def exported_matches(user: User, accepted_only: bool = False) -> list[Match]:
    """A delegate's member's and a partner's organisation's matches once both parties accepted the introduction
    (and their later stages); facilitators every match (their working file), unless ``accepted_only``."""
    query = visible_matches_query(user)
    if accepted_only or not can(user, "export.every_match"):
        query = query.where(Match.status.in_(ACCEPTED_STATUSES))
    return list(db.session.scalars(query.order_by(Match.id)))


def offering_record(offering: Offering) -> dict[str, Any]:
    record = {name: getattr(offering, name) for name in OFFERING_EXPORT if name != "organisation"}
    record["organisation"] = offering.organisation.acronym
    record["status"] = offering.display_status(date.today())
    return record


def need_record(user: User, need: Need, named: bool | None = None) -> dict[str, Any]:
    """One need; where the member is not to be known, what is said about it is the description partners read
    on the pages (services/anonymity.py): a region or a wider area or none, "LDC" or nothing."""
    record = {name: getattr(need, name) for name in NEED_EXPORT if name not in ("member", "region", "is_ldc")}
    named = can(user, "need.see_member", need) if named is None else named
    record.update(origin_fields(need, named))
    record["delivery_languages"] = list(anonymity.shown_need(need, named).delivery_languages)
    return record


def origin_fields(need: Need, named: bool) -> dict[str, Any]:
    """member, region and is_ldc of a need, as a reader who may (or may not) know the member sees them."""
    if named:
        return {"member": need.member.code, "region": need.member.region, "is_ldc": need.member.is_ldc}
    origin = anonymity.shown_need(need, False).origin
    return {"member": None, "region": origin.area, "is_ldc": True if origin.ldc else None}


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def offerings_csv(user: User) -> str:
    return write_csv(OFFERING_EXPORT, ([_cell(r[name]) for name in OFFERING_EXPORT]
                                      for r in map(offering_record, exported_offerings(user))))


def _need_records(user: User) -> list[dict[str, Any]]:
    needs = exported_needs(user)
    known = needs_whose_member_is_known(user, [n.id for n in needs])  # "need.see_member" for all, in two queries
    return [need_record(user, n, n.id in known) for n in needs]


def needs_csv(user: User) -> str:
    return write_csv(NEED_EXPORT, ([_cell(r[name]) for name in NEED_EXPORT] for r in _need_records(user)))


def offerings_json(user: User) -> list[dict]:
    return [{k: _json_value(v) for k, v in offering_record(o).items()} for o in exported_offerings(user)]


def needs_json(user: User) -> list[dict]:
    return [{k: _json_value(v) for k, v in record.items()} for record in _need_records(user)]


def match_record(user: User, match: Match) -> dict[str, Any]:
    """One match; the member is named only where the user may know it (always, for a party once introduced)."""
    need, offering = match.need, match.offering
    named = can(user, "need.see_member", need)
    return {
        "id": match.id, "status": match.status, "need_id": need.id, "need_title": need.title,
        **origin_fields(need, named),
        "offering_id": offering.id, "offering_title": offering.title, "organisation": offering.organisation.acronym,
        "score": match.score, "origin": match.origin, "engine_version": match.engine_version,
        "terms": [label for label, _share in (match.terms or [])],
        **{name: getattr(match, name) for name in MATCH_EXPORT[14:]},
    }


def matches_csv(user: User) -> str:
    return write_csv(MATCH_EXPORT, ([_cell(r[name]) for name in MATCH_EXPORT]
                                   for r in (match_record(user, m) for m in exported_matches(user))))


def matches_json(user: User) -> list[dict]:
    return [{k: _json_value(v) for k, v in match_record(user, m).items()} for m in exported_matches(user)]
