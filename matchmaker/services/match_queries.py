"""Which matches a user may list (the pages, the API and the exports), by the rules of permissions.py."""
from __future__ import annotations

from sqlalchemy import Select, select

from matchmaker.models import Match, Member, Need, Offering, User
from matchmaker.permissions import visible_matches_condition

# What files meant to travel (a party's exports, the IATI file) hold: introductions both parties accepted and
# their later stages; never a proposal, a rejection, an introduction not yet answered or one a party declined.
ACCEPTED_STATUSES = ("accepted", "meeting_held", "agreement_reached", "in_delivery", "completed", "closed_no_result")


def visible_matches_query(user: User) -> Select:
    """Facilitators and admins: every match. Delegates: their member's introduced matches. Partners: their
    organisation's introduced matches. Anyone else: none (permissions.visible_matches_condition)."""
    return (select(Match).join(Need, Match.need_id == Need.id).join(Member, Need.member_id == Member.id)
            .join(Offering, Match.offering_id == Offering.id).where(visible_matches_condition(user)))
