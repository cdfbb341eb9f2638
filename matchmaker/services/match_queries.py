"""Which matches a user may list (the API and the exports), by the same rules as the match pages."""
from __future__ import annotations

from sqlalchemy import Select, select

from matchmaker.models import Match, Member, Need, Offering, User
from matchmaker.models.matches import CAPACITY_STATUSES
from matchmaker.permissions import STAFF

# A party sees a match from the moment a facilitator introduces it (permissions._view_match, matches.mine):
# before that, a partner would learn which member posted the need.
INTRODUCED_STATUSES = CAPACITY_STATUSES + ("declined", "closed_no_result")
# What files meant to travel (a party's exports, the IATI file) hold: introductions both parties accepted and
# their later stages; never a proposal, a rejection, an introduction not yet answered or one a party declined.
ACCEPTED_STATUSES = ("accepted", "meeting_held", "agreement_reached", "in_delivery", "completed", "closed_no_result")


def visible_matches_query(user: User) -> Select:
    """Facilitators and admins: every match. Delegates: their member's introduced matches. Partners: their
    organisation's introduced matches. Anyone else: none."""
    query = (select(Match).join(Need, Match.need_id == Need.id).join(Member, Need.member_id == Member.id)
             .join(Offering, Match.offering_id == Offering.id))
    if user.role in STAFF:
        return query
    if user.role == "delegate" and user.member_id is not None:
        return query.where(Need.member_id == user.member_id, Match.status.in_(INTRODUCED_STATUSES))
    if user.role == "partner" and user.organisation_id is not None:
        return query.where(Offering.organisation_id == user.organisation_id, Match.status.in_(INTRODUCED_STATUSES))
    return query.where(Match.id.is_(None))
