"""Matchmaking sessions, what is read: sides and participants, availability, the meetings each person may see,
the matches worth inviting, and the placed meetings that break a rule now.

Who may not be in two meetings at once. The unit is the *side*: a member's delegation, or a partner
organisation. Every delegate acts for exactly one member and every partner for one organisation, so "no
side twice in a round" implies "no person twice in a round"; and we never know in advance which of a
delegation's people will sit at which table (often there is one person), so the per-person rule alone
would double-book small delegations. A side can attend a round when at least one of its people who
answered can (nobody answered: any round). The cost: an organisation with many people still meets one
party at a time; the facilitator sees it in the reasons ("another meeting of one of them") and can add rounds.
"""
from __future__ import annotations

from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker import scheduling
from matchmaker.extensions import db
from matchmaker.models import Match, Need, Offering, User
from matchmaker.models.matches import CAPACITY_STATUSES
from matchmaker.models.sessions import MatchmakingSession, SessionAvailability, SessionMeeting
from matchmaker.permissions import acting_for, can, side_of
from matchmaker.reference import UNPLACED_REASON_LABELS
from matchmaker.services.session_labels import problems_text

# Matches whose parties may be invited by name: the facilitator introduced them and they are not over.
INVITABLE_MATCH_STATUSES = ("approved", "accepted")
# Matches that still belong on an agenda (the parties were introduced and have not walked away).
ACTIVE_MATCH_STATUSES = CAPACITY_STATUSES
INTRODUCED_STATUSES = CAPACITY_STATUSES + ("declined", "closed_no_result")
PENDING_SHOWN = 20


def parties_of(match: Match) -> tuple[tuple[str, int], tuple[str, int]]:
    return (("member", match.need.member_id), ("organisation", match.offering.organisation_id))


def meetings_of(user: User, session: MatchmakingSession) -> list[SessionMeeting]:
    """The meetings of the session this user may see: all for staff; a party's own introduced ones otherwise."""
    if can(user, "session.manage"):
        return list(session.meetings)
    side = side_of(user)
    return [m for m in session.meetings if side is not None and side in parties_of(m.match)
            and m.match.status in INTRODUCED_STATUSES]


def participants(meetings) -> list[User]:
    """Everyone who sits at one of these meetings (active delegates and partners of both sides), once each."""
    meetings = list(meetings)
    if not meetings:
        return []
    members = {m.match.need.member_id for m in meetings}
    organisations = {m.match.offering.organisation_id for m in meetings}
    return list(db.session.scalars(select(User).where(User.active.is_(True), acting_for(members, organisations))
                                   .order_by(User.id)))


def preload(session: MatchmakingSession) -> None:
    """Load the session's meetings with their matches, needs, members, offerings and organisations in a few queries
    (the pages and notices walk all of them; many-to-one loads then come from the identity map)."""
    # Through the session's own collection, so that the loaded rows stay referenced (the identity map is weak).
    db.session.scalars(select(MatchmakingSession).where(MatchmakingSession.id == session.id).options(
        selectinload(MatchmakingSession.meetings).selectinload(SessionMeeting.match).options(
            selectinload(Match.need).selectinload(Need.member),
            selectinload(Match.offering).selectinload(Offering.organisation)))
        .execution_options(populate_existing=True)).one()


def people_by_meeting(session: MatchmakingSession) -> dict[int, list[User]]:
    """Who sits at each meeting (the active delegates and partners of its two sides), in two queries."""
    meetings = list(session.meetings)
    members = {m.match.need.member_id for m in meetings}
    organisations = {m.match.offering.organisation_id for m in meetings}
    by_side: dict[tuple[str, int], list[User]] = defaultdict(list)
    users = db.session.scalars(select(User).where(User.active.is_(True), acting_for(members, organisations))
                               .order_by(User.id))
    for user in users:
        by_side[side_of(user)].append(user)
    return {m.id: [u for side in parties_of(m.match) for u in by_side[side]] for m in meetings}


def sessions_of(user: User) -> list[MatchmakingSession]:
    """The sessions where this delegate or partner has an introduced match, latest first."""
    side = side_of(user)
    if side is None:
        return []
    ids = (select(SessionMeeting.session_id).join(Match, SessionMeeting.match_id == Match.id)
           .where(Match.status.in_(INTRODUCED_STATUSES)))
    if side[0] == "member":
        ids = ids.join(Need, Match.need_id == Need.id).where(Need.member_id == side[1])
    else:
        ids = ids.join(Offering, Match.offering_id == Offering.id).where(Offering.organisation_id == side[1])
    return list(db.session.scalars(select(MatchmakingSession).where(MatchmakingSession.id.in_(ids))
                                   .order_by(MatchmakingSession.date.desc(), MatchmakingSession.id.desc())))


def availability_of(user: User, session: MatchmakingSession) -> list[int] | None:
    row = db.session.scalar(select(SessionAvailability).where(SessionAvailability.session_id == session.id,
                                                              SessionAvailability.user_id == user.id))
    return None if row is None else list(row.rounds)


def side_availability(session: MatchmakingSession) -> dict[tuple[str, int], set[int]]:
    """Rounds each side can attend: the union over its people who answered (a side with no answer is absent)."""
    found: dict[tuple[str, int], set[int]] = {}
    rows = db.session.scalars(select(SessionAvailability).where(SessionAvailability.session_id == session.id))
    for row in rows:
        if not row.user.active:
            continue
        side = side_of(row.user)
        if side is not None:
            found.setdefault(side, set()).update(r for r in row.rounds if 0 <= r < session.rounds)
    return found


def attendance_warnings(user: User, session: MatchmakingSession, meetings) -> dict[int, str]:
    """For a party's own agenda: its placed meetings at a slot one of the sides cannot attend (the rule behind the
    facilitator's "no longer fit" list), and what happens next; meeting id -> warning."""
    side = side_of(user)
    if not session.is_planning or side is None:
        return {}
    availability = side_availability(session)
    mine = availability_of(user, session)
    found = {}
    for meeting in meetings:
        if not meeting.is_placed or meeting.match.status not in ACTIVE_MATCH_STATUSES:
            continue
        other = next(p for p in parties_of(meeting.match) if p != side)
        said_no = mine is not None and meeting.round not in mine
        if side in availability and meeting.round not in availability[side]:
            found[meeting.id] = (
                _("You said you cannot attend at this time; the facilitator will move this meeting or take it off "
                  "the agenda.") if said_no else
                _("Your colleagues said they cannot attend at this time; the facilitator will move this meeting or "
                  "take it off the agenda (if you can attend, give your availability)."))
        elif said_no:
            found[meeting.id] = _("You said you cannot attend at this time, but a colleague said they can, so the "
                                  "meeting stays here.")
        elif other in availability and meeting.round not in availability[other]:
            found[meeting.id] = _("The other side cannot attend at this time; the facilitator will move this meeting "
                                  "or take it off the agenda.")
    return found


def answered_users(session: MatchmakingSession) -> set[int]:
    return set(db.session.scalars(select(SessionAvailability.user_id)
                                  .where(SessionAvailability.session_id == session.id)))


def invitable_matches(session: MatchmakingSession) -> tuple[list[Match], list[Match]]:
    """Introduced matches not yet invited, and the engine's best pending proposals (in the session's areas first)."""
    invited = {m.match_id for m in session.meetings}
    loaded = (selectinload(Match.need).selectinload(Need.member),
              selectinload(Match.offering).selectinload(Offering.organisation))
    approved = [m for m in db.session.scalars(select(Match).where(Match.status.in_(INVITABLE_MATCH_STATUSES))
                                              .options(*loaded).order_by(Match.score.desc(), Match.id))
                if m.id not in invited]
    # The best proposals are what is worth inviting; a long tail of weak ones is not read (nor listed).
    pending = [m for m in db.session.scalars(select(Match).where(Match.status == "proposed").options(*loaded)
                                             .order_by(Match.score.desc(), Match.id).limit(500)) if m.id not in invited]
    areas = set(session.policy_areas or ())
    if areas:
        def relevant(m: Match) -> bool:
            return bool(areas & (set(m.need.policy_areas or ()) | set(m.offering.policy_areas or ())))
        approved.sort(key=lambda m: not relevant(m))  # stable: by score within each group
        pending = [m for m in pending if relevant(m)]
    return approved, pending[:PENDING_SHOWN]


def scheduling_meetings(session: MatchmakingSession) -> dict[int, scheduling.Meeting]:
    return {m.id: scheduling.Meeting(m.id, parties_of(m.match), (m.round, m.table_no) if m.is_placed else None)
            for m in session.meetings}


def conflicts(session: MatchmakingSession) -> dict[int, str]:
    """Placed meetings that break a rule now (a side changed its availability, a match ended): meeting id -> why."""
    meetings = scheduling_meetings(session)
    placed = {m.id: (m.round, m.table_no) for m in session.meetings if m.is_placed}
    availability = side_availability(session)
    by_id = {m.id: m for m in session.meetings}
    found = {}
    for key, slot in placed.items():
        if by_id[key].match.status not in ACTIVE_MATCH_STATUSES:
            found[key] = str(UNPLACED_REASON_LABELS["match_inactive"])
            continue
        problems = scheduling.problems_with(meetings, placed, key, slot, session.rounds, session.tables, availability)
        if problems:
            found[key] = problems_text(problems, by_id)
    return found


def search_matches(ids: list[int]) -> list[Match]:
    if not ids:
        return []
    return list(db.session.scalars(select(Match).where(Match.id.in_(ids)).order_by(Match.id)))
