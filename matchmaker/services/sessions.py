"""Matchmaking sessions: planning, invitations, availability, the agenda, notices of changes, outcomes and summaries.

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
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from matchmaker import scheduling
from matchmaker.errors import ConcurrentUpdate, DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.models import Match, Need, Offering, User
from matchmaker.models.base import utcnow
from matchmaker.models.matches import CAPACITY_STATUSES, OUTCOMES
from matchmaker.models.sessions import MatchmakingSession, SessionAvailability, SessionMeeting
from matchmaker.permissions import can
from matchmaker.reference import OUTCOME_LABELS, POLICY_AREAS, REGIONS, UNPLACED_REASON_LABELS
from matchmaker.services import identification
from matchmaker.services import matches as match_service
from matchmaker.services.audit import record
from matchmaker.services.suppression import MIN_MEMBERS
from matchmaker.utils import DATE_FORMAT

# Matches whose parties may be invited by name: the facilitator introduced them and they are not over.
INVITABLE_MATCH_STATUSES = ("approved", "accepted")
# Matches that still belong on an agenda (the parties were introduced and have not walked away).
ACTIVE_MATCH_STATUSES = CAPACITY_STATUSES
INTRODUCED_STATUSES = CAPACITY_STATUSES + ("declined", "closed_no_result")
TRANSITIONS = {
    "held": (("planning",), "held"),
    "close": (("held",), "closed"),
    "cancel": (("planning",), "cancelled"),
}
EDITABLE_FIELDS = ("title", "theme", "policy_areas", "date", "start_time", "time_zone", "mode", "place", "link",
                   "slot_minutes", "rounds", "tables")
TIMING_FIELDS = ("date", "start_time", "time_zone", "mode", "place", "link", "slot_minutes", "rounds", "tables")
PENDING_SHOWN = 20


def _require(actor: User, action: str, obj=None, message: str | None = None) -> None:
    if not can(actor, action, obj):
        raise NotPermitted(message or _("You may not do this."))


def _require_planning(session: MatchmakingSession) -> None:
    if session.status != "planning":
        raise TransitionNotAllowed(_("This session is no longer being planned."))


def _flush() -> None:
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise ConcurrentUpdate(_("Someone else changed this session first. Reload it and try again.")) from error


# --- Sides, participants and availability ------------------------------------------------------------------------

def side_of(user: User) -> tuple[str, int] | None:
    """The side a user acts for: ('member', id) for a delegate, ('organisation', id) for a partner."""
    if user.role == "delegate" and user.member_id is not None:
        return ("member", user.member_id)
    if user.role == "partner" and user.organisation_id is not None:
        return ("organisation", user.organisation_id)
    return None


def parties_of(match: Match) -> tuple[tuple[str, int], tuple[str, int]]:
    return (("member", match.need.member_id), ("organisation", match.offering.organisation_id))


def meetings_of(user: User, session: MatchmakingSession) -> list[SessionMeeting]:
    """The meetings of the session this user may see: all for staff; a party's own introduced ones otherwise."""
    if user.role in ("facilitator", "admin"):
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
    return list(db.session.scalars(select(User).where(User.active.is_(True), (
        ((User.role == "delegate") & User.member_id.in_(members))
        | ((User.role == "partner") & User.organisation_id.in_(organisations)))).order_by(User.id)))


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
    users = db.session.scalars(select(User).where(User.active.is_(True), (
        ((User.role == "delegate") & User.member_id.in_(members))
        | ((User.role == "partner") & User.organisation_id.in_(organisations)))).order_by(User.id))
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


# --- Times -------------------------------------------------------------------------------------------------------

def round_label(session: MatchmakingSession, index: int) -> str:
    """'10:00–10:20' in the session's time zone, in the current language."""
    locale = str(get_locale() or "en")
    start, end = session.round_start(index), session.round_end(index)
    return f"{format_time(start, 'short', tzinfo=session.zone, locale=locale)}–" \
           f"{format_time(end, 'short', tzinfo=session.zone, locale=locale)}"


def session_when(session: MatchmakingSession) -> str:
    """'Dec 7, 2026, 10:00 AM–12:00 PM (Europe/Zurich)' in the current language: the date as on every page, the
    times of day in the session's zone."""
    locale = str(get_locale() or "en")
    return _("%(date)s, %(start)s–%(end)s (%(zone)s)",
             date=format_date(session.round_start(0), DATE_FORMAT, locale=locale),
             start=format_time(session.round_start(0), "short", tzinfo=session.zone, locale=locale),
             end=format_time(session.ends_at, "short", tzinfo=session.zone, locale=locale), zone=session.time_zone)


def has_started(session: MatchmakingSession) -> bool:
    """Whether the session's first slot has begun (its date and start time in its own time zone)."""
    return utcnow() >= session.round_start(0)


def meeting_label(session: MatchmakingSession, meeting: SessionMeeting) -> str:
    """A meeting named as the agenda shows it: '#42 BJ ↔ ITU (10:00–10:20, table 1)'."""
    pair = f"#{meeting.match_id} {meeting.match.need.member.code} ↔ {meeting.match.offering.organisation.acronym}"
    if not meeting.is_placed:
        return pair
    return _("%(meeting)s (%(time)s, table %(table)d)", meeting=pair, time=round_label(session, meeting.round),
             table=meeting.table_no + 1)


def reason_label(meeting: SessionMeeting) -> str:
    if meeting.unplaced_reason in UNPLACED_REASON_LABELS:
        return str(UNPLACED_REASON_LABELS[meeting.unplaced_reason])
    return _("the facilitators have not built the agenda yet")


# --- Planning ----------------------------------------------------------------------------------------------------

def create_session(actor: User, data: dict) -> MatchmakingSession:
    """A facilitator creates a session."""
    _require(actor, "session.manage", message=_("Only facilitators plan matchmaking sessions."))
    session = MatchmakingSession(status="planning", created_by=actor, **{k: data[k] for k in EDITABLE_FIELDS})
    _clean_venue(session)
    db.session.add(session)
    db.session.flush()
    record(actor, "session.create", session, title=session.title, date=session.date.isoformat())
    return session


def _clean_venue(session: MatchmakingSession) -> None:
    # Keep only what fits the mode, so that an online session never shows a stale room (or the reverse).
    if session.mode == "online":
        session.place = None
    else:
        session.link = None


def update_session(actor: User, session: MatchmakingSession, data: dict) -> list[str]:
    """Change a session being planned; when its times or tables change, the agenda follows and participants hear."""
    _require(actor, "session.manage", message=_("Only facilitators plan matchmaking sessions."))
    _require_planning(session)
    changed = [k for k in EDITABLE_FIELDS if getattr(session, k) != data[k]]
    for key in changed:
        setattr(session, key, data[key])
    _clean_venue(session)
    _flush()
    if not changed:
        return changed
    record(actor, "session.update", session, fields=changed)
    if set(changed) & set(TIMING_FIELDS):
        touched = []
        for meeting in session.meetings:
            if meeting.is_placed and (meeting.round >= session.rounds or meeting.table_no >= session.tables):
                meeting.round = meeting.table_no = None
                meeting.unplaced_reason = "session_changed"
            if meeting.is_placed or meeting.unplaced_reason == "session_changed":
                meeting.sequence += 1
                touched.append(meeting)
        _flush()
        notify_agenda(session, touched, "changed")
    return changed


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


def invite(actor: User, session: MatchmakingSession, matches: list[Match]) -> tuple[list[Match], list[str]]:
    """Invite matches. A pending proposal is approved first (introducing its parties); refusals say why."""
    _require(actor, "session.manage", message=_("Only facilitators plan matchmaking sessions."))
    _require_planning(session)
    invited, refused = [], []
    already = {m.match_id for m in session.meetings}
    for match in matches:
        label = f"#{match.id}"
        if match.id in already:
            refused.append(_("%(match)s: already invited.", match=label))
            continue
        if match.status == "proposed":
            try:
                with db.session.begin_nested():
                    match_service.approve(actor, match, reason=_("Invited to the matchmaking session “%(title)s”.",
                                                                 title=session.title))
            except DomainError as error:
                refused.append(f"{label}: {error.message}")
                continue
        elif match.status not in INVITABLE_MATCH_STATUSES:
            refused.append(_("%(match)s: only approved matches can be invited.", match=label))
            continue
        meeting = SessionMeeting(session=session, match=match, invited_by_id=actor.id)
        db.session.add(meeting)
        db.session.flush()
        record(actor, "session.invite", session, match_id=match.id, meeting_id=meeting.id)
        invited.append(match)
        already.add(match.id)
    if invited:
        new = [m for m in session.meetings if m.match in invited]
        notify_users_of(session, new, "invited")
    return invited, refused


def uninvite(actor: User, session: MatchmakingSession, meeting: SessionMeeting) -> None:
    """Take a match off the session; its parties are told if it was on the agenda."""
    _require(actor, "session.manage", message=_("Only facilitators plan matchmaking sessions."))
    _require_planning(session)
    was_placed = meeting.is_placed
    users = participants([meeting]) if was_placed else []
    match = meeting.match
    session.meetings.remove(meeting)
    db.session.flush()
    record(actor, "session.uninvite", session, match_id=match.id, was_placed=was_placed)
    if users:
        link = _link(session)
        match_service.notify_users(users, lambda _u: (
            _("Meeting removed from %(title)s", title=session.title),
            _("The meeting %(need)s ↔ %(offering)s is no longer on the agenda of this matchmaking session.",
              need=match.need.title, offering=match.offering.title)), link)


def set_availability(actor: User, session: MatchmakingSession, rounds: list[int]) -> None:
    """A participant says which rounds they can attend (none at all is a valid answer)."""
    _require(actor, "session.availability", session,
             _("Only the parties of the invited matches give their availability, while the session is planned."))
    wanted = sorted(set(rounds))
    if any(not 0 <= r < session.rounds for r in wanted):
        raise DomainError(_("Choose among the session's time slots."))
    row = db.session.scalar(select(SessionAvailability).where(SessionAvailability.session_id == session.id,
                                                              SessionAvailability.user_id == actor.id))
    if row is None:
        row = SessionAvailability(session_id=session.id, user_id=actor.id, rounds=wanted)
        db.session.add(row)
    else:
        row.rounds = wanted
        row.updated_at = utcnow()
    db.session.flush()
    record(actor, "session.availability", session, rounds=wanted)


# --- The agenda ---------------------------------------------------------------------------------------------------

def _problems_text(problems, meetings_by_id) -> str:
    texts = []
    for problem, other in problems:
        other_label = f"#{meetings_by_id[other].match_id}" if other is not None else ""
        texts.append({
            "out_of_range": _("there is no such slot or table in this session"),
            "unavailable": _("one of the sides cannot attend that slot"),
            "table_taken": _("that table is taken by the meeting of match %(other)s", other=other_label),
            "double_booked": _("one of the sides is already in the meeting of match %(other)s at that time",
                               other=other_label),
        }[problem])
    return "; ".join(texts)


def _scheduling_meetings(session: MatchmakingSession) -> dict[int, scheduling.Meeting]:
    return {m.id: scheduling.Meeting(m.id, parties_of(m.match), (m.round, m.table_no) if m.is_placed else None)
            for m in session.meetings}


def conflicts(session: MatchmakingSession) -> dict[int, str]:
    """Placed meetings that break a rule now (a side changed its availability, a match ended): meeting id -> why."""
    meetings = _scheduling_meetings(session)
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
            found[key] = _problems_text(problems, by_id)
    return found


def _apply(session: MatchmakingSession, placements: dict[int, tuple[int, int] | None],
           reasons: dict[int, str | None]) -> list[SessionMeeting]:
    """Write new places for some meetings (two steps, so the database's one-meeting-per-table rule holds throughout);
    returns the meetings whose place changed."""
    by_id = {m.id: m for m in session.meetings}
    changed = [by_id[k] for k, slot in placements.items()
               if ((by_id[k].round, by_id[k].table_no) if by_id[k].is_placed else None) != slot]
    for meeting in changed:
        meeting.round = meeting.table_no = None
    _flush_places()
    for key, slot in placements.items():
        meeting = by_id[key]
        if slot is not None:
            meeting.round, meeting.table_no = slot
        meeting.unplaced_reason = None if slot is not None else reasons.get(key)
    for meeting in changed:
        meeting.sequence += 1
    _flush_places()
    return changed


def _flush_places() -> None:
    # Two facilitators placing meetings at the same table at once: the database's unique slot refuses the second.
    try:
        _flush()
    except IntegrityError as error:
        db.session.rollback()
        raise ConcurrentUpdate(_("Someone else changed this session first. Reload it and try again.")) from error


def build_agenda(actor: User, session: MatchmakingSession, time_limit: float = 20.0) -> scheduling.Agenda:
    """Place every invited match that can be placed (the most possible), keeping meetings where they were if that
    costs nothing; tell the people whose meetings moved."""
    _require(actor, "session.manage", message=_("Only facilitators plan matchmaking sessions."))
    _require_planning(session)
    preload(session)
    active = [m for m in session.meetings if m.match.status in ACTIVE_MATCH_STATUSES]
    inactive = [m for m in session.meetings if m.match.status not in ACTIVE_MATCH_STATUSES]
    all_meetings = _scheduling_meetings(session)
    agenda = scheduling.build_agenda([all_meetings[m.id] for m in active], session.rounds, session.tables,
                                     side_availability(session), time_limit=time_limit)
    placements: dict[int, tuple[int, int] | None] = {k: agenda.placed.get(k) for k in (m.id for m in active)}
    reasons: dict[int, str | None] = dict(agenda.unplaced)
    for meeting in inactive:
        placements[meeting.id] = None
        reasons[meeting.id] = "match_inactive"
        agenda.unplaced[meeting.id] = "match_inactive"
    changed = _apply(session, placements, reasons)
    first_time = session.agenda_built_at is None
    session.agenda_built_at = utcnow()
    _flush()
    record(actor, "session.agenda_built", session, placed=len(agenda.placed), unplaced=len(agenda.unplaced),
           changed=len(changed), optimal=agenda.optimal)
    notify_agenda(session, session.meetings if first_time else changed, "agenda" if first_time else "changed")
    return agenda


def move(actor: User, session: MatchmakingSession, meeting: SessionMeeting, round_: int, table: int | None) -> None:
    """Put one meeting in another slot (at a given table, or the first free one), if nobody is double-booked."""
    _require(actor, "session.manage", message=_("Only facilitators plan matchmaking sessions."))
    _require_planning(session)
    if meeting.match.status not in ACTIVE_MATCH_STATUSES:
        raise DomainError(_("This match is no longer active; it cannot be placed."))
    placed = {m.id: (m.round, m.table_no) for m in session.meetings if m.is_placed and m.id != meeting.id}
    if table is None:
        taken = {t for (r, t) in placed.values() if r == round_}
        table = next((t for t in range(session.tables) if t not in taken), None)
        if table is None:
            raise DomainError(_("Every table is taken in that slot: choose another slot, or swap two meetings."))
    meetings = _scheduling_meetings(session)
    problems = scheduling.problems_with(meetings, placed, meeting.id, (round_, table), session.rounds,
                                        session.tables, side_availability(session))
    if problems:
        raise DomainError(_("The meeting cannot go there: %(why)s.",
                            why=_problems_text(problems, {m.id: m for m in session.meetings})))
    before = (meeting.round, meeting.table_no) if meeting.is_placed else None
    changed = _apply(session, {meeting.id: (round_, table)}, {})
    record(actor, "session.meeting_moved", session, meeting_id=meeting.id, match_id=meeting.match_id,
           **{"from": list(before) if before else None, "to": [round_, table]})
    notify_agenda(session, changed, "changed")


def swap(actor: User, session: MatchmakingSession, first: SessionMeeting, second: SessionMeeting) -> None:
    """Exchange the slots of two placed meetings, if nobody ends up double-booked or at a slot they cannot attend."""
    _require(actor, "session.manage", message=_("Only facilitators plan matchmaking sessions."))
    _require_planning(session)
    if first.id == second.id:
        raise DomainError(_("Choose two different meetings to swap."))
    if not (first.is_placed and second.is_placed):
        raise DomainError(_("Both meetings must be on the agenda to swap them; use “Move” for the other one."))
    new = {first.id: (second.round, second.table_no), second.id: (first.round, first.table_no)}
    placed = {m.id: (m.round, m.table_no) for m in session.meetings if m.is_placed}
    placed.update(new)
    meetings = _scheduling_meetings(session)
    availability = side_availability(session)
    by_id = {m.id: m for m in session.meetings}
    problems = []
    for key, slot in new.items():
        problems += scheduling.problems_with(meetings, placed, key, slot, session.rounds, session.tables, availability)
    if problems:
        raise DomainError(_("These two meetings cannot be swapped: %(why)s.", why=_problems_text(problems, by_id)))
    changed = _apply(session, new, {})
    record(actor, "session.meetings_swapped", session, meeting_ids=[first.id, second.id],
           match_ids=[first.match_id, second.match_id])
    notify_agenda(session, changed, "changed")


# --- Life cycle, outcomes and summaries -----------------------------------------------------------------------

def transition(actor: User, session: MatchmakingSession, action: str) -> None:
    """Mark the session held, close it (sharing its non-attributable summary), or cancel it."""
    _require(actor, "session.manage", message=_("Only facilitators plan matchmaking sessions."))
    if action not in TRANSITIONS:
        raise TransitionNotAllowed(_("Unknown action."))
    sources, target = TRANSITIONS[action]
    if session.status not in sources:
        raise TransitionNotAllowed(_("This step does not follow from the session's current state."))
    if action == "close" and not (session.public_summary or "").strip():
        raise DomainError(_("Write the non-attributable summary before closing the session."))
    if action == "held" and not has_started(session):
        raise TransitionNotAllowed(_("The session has not started yet (%(when)s): it can be marked as held once it has "
                                     "started.", when=session_when(session)))
    previous, session.status = session.status, target
    _flush()
    record(actor, f"session.{action}", session, **{"from": previous, "to": target})
    if action in ("cancel", "close"):
        notify_users_of(session, list(session.meetings), "cancelled" if action == "cancel" else "closed")


def record_outcome(actor: User, session: MatchmakingSession, meeting: SessionMeeting, outcome: str,
                   note: str | None) -> bool:
    """Record how a meeting went and carry it into the match's life cycle; True when the match moved on."""
    _require(actor, "session.manage", message=_("Only facilitators record the outcomes of a session."))
    if session.status != "held":
        raise TransitionNotAllowed(_("Outcomes are recorded once the session has been held."))
    if outcome not in OUTCOMES:
        raise DomainError(_("Choose the outcome of the meeting."))
    if meeting.outcome is not None:
        raise TransitionNotAllowed(_("The outcome of this meeting is already recorded."))
    note = (note or "").strip() or None
    meeting.outcome, meeting.outcome_note, meeting.outcome_at = outcome, note, utcnow()
    match = meeting.match
    fed = False
    if match.status == "approved" and outcome != "did_not_take_place":
        # Both sides sat at the table: that is their acceptance of the introduction, recorded as such.
        now = utcnow()
        for side in ("need", "offering"):
            if getattr(match, f"{side}_response") == "pending":
                setattr(match, f"{side}_response", "accepted")
                setattr(match, f"{side}_responded_at", now)
        match.status = "accepted"
        db.session.flush()
        record(actor, "match.accepted_by_attendance", match, session_id=session.id)
    if match.status == "accepted":
        match_service.progress(actor, match, "meeting_held", outcome=outcome,
                               note=note or _("Bilateral meeting at the matchmaking session “%(title)s”.",
                                              title=session.title))
        fed = True
    _flush()
    record(actor, "session.outcome", session, meeting_id=meeting.id, match_id=match.id, outcome=outcome,
           match_updated=fed)
    return fed


def attributions(session: MatchmakingSession, text: str) -> list[str]:
    """Names in ``text`` that attribute something to someone: the members at the session (in any language, or their
    code) and the people who took part."""
    lowered = text.casefold()
    members = {m.match.need.member for m in session.meetings}
    found = identification.names_in(text, members)
    for user in participants(session.meetings):
        if user.name and user.name.casefold() in lowered:
            found.append(user.name)
    return sorted(set(found))


def save_summary(actor: User, session: MatchmakingSession, summary: str | None, public_summary: str | None) -> None:
    """The facilitator's record of the session, and the non-attributable summary shared with its participants."""
    _require(actor, "session.manage", message=_("Only facilitators write the summary of a session."))
    if session.status != "held":
        raise TransitionNotAllowed(_("Summaries are written after the session is held and before it is closed."))
    public_summary = (public_summary or "").strip() or None
    if public_summary:
        names = attributions(session, public_summary)
        if names:
            raise DomainError(_("The non-attributable summary must name no member and no participant: remove "
                                "%(names)s.", names=", ".join(names)))
    session.summary, session.public_summary = (summary or "").strip() or None, public_summary
    _flush()
    record(actor, "session.summary", session)


def suppressed(groups: dict[str, set[int]], counts: dict[str, int]) -> dict[str, int | None]:
    """Counts per group; None where the group describes fewer than MIN_MEMBERS members. When only one group is
    hidden, the smallest shown one is hidden too, so that no total minus the others gives it back."""
    shown: dict[str, int | None] = {k: (counts[k] if len(groups[k]) >= MIN_MEMBERS else None) for k in counts}
    hidden = [k for k, v in shown.items() if v is None]
    if len(hidden) == 1:
        rest = sorted((v, k) for k, v in shown.items() if v is not None)
        if rest:
            shown[rest[0][1]] = None
    return shown


def summary_figures(session: MatchmakingSession) -> dict:
    """The aggregates behind the non-attributable summary: never a name, and no cell about fewer than 3 members."""
    # The meetings on the agenda (an unplaced one never took place), between introduced parties.
    meetings = [m for m in session.meetings if m.is_placed and m.match.status in INTRODUCED_STATUSES]
    members = {m.match.need.member_id for m in meetings}
    areas: dict[str, set[int]] = defaultdict(set)
    area_counts: dict[str, int] = defaultdict(int)
    regions: dict[str, set[int]] = defaultdict(set)
    region_counts: dict[str, int] = defaultdict(int)
    outcomes: dict[str, set[int]] = defaultdict(set)
    outcome_counts: dict[str, int] = defaultdict(int)
    for meeting in meetings:
        member = meeting.match.need.member
        for area in meeting.match.need.policy_areas or ():
            areas[area].add(member.id)
            area_counts[area] += 1
        regions[member.region].add(member.id)
        region_counts[member.region] += 1
        if meeting.outcome:
            outcomes[meeting.outcome].add(member.id)
            outcome_counts[meeting.outcome] += 1
    return {
        "meetings": len(meetings) if len(members) >= MIN_MEMBERS else None,
        "members": len(members) if len(members) >= MIN_MEMBERS else None,
        "organisations": len({m.match.offering.organisation_id for m in meetings}),
        "areas": suppressed(areas, area_counts),
        "regions": suppressed(regions, region_counts),
        "outcomes": suppressed(outcomes, outcome_counts),
    }


def draft_public_summary(session: MatchmakingSession) -> str:
    """A first draft of the non-attributable summary, in the current language, from the session's records."""
    figures = summary_figures(session)

    def count(value: int | None) -> str:
        return str(value) if value is not None else _("fewer than %(n)d members (not shown)", n=MIN_MEMBERS)

    def table(title: str, values: dict[str, int | None], labels: dict) -> list[str]:
        if not values:
            return []
        ordered = [code for code in labels if code in values]
        return ["", title] + [f"- {labels[code]}: {count(values[code])}" for code in ordered]

    lines = [_("Matchmaking session “%(title)s”, %(when)s.", title=session.title, when=session_when(session))]
    if session.theme:
        lines.append(_("Theme: %(theme)s", theme=session.theme))
    if session.policy_areas:
        lines.append(_("Policy areas: %(areas)s",
                       areas=", ".join(str(POLICY_AREAS[a]) for a in session.policy_areas if a in POLICY_AREAS)))
    if figures["members"] is None:
        lines.append(_("Fewer than %(n)d members took part, so no figures are given.", n=MIN_MEMBERS))
    else:
        lines.append(_("Bilateral meetings on the agenda: %(meetings)d; requesting members: %(members)d; partner "
                       "organisations: %(organisations)d.", meetings=figures["meetings"],
                       members=figures["members"], organisations=figures["organisations"]))
        lines += table(_("Meetings by policy area of the need:"), figures["areas"], POLICY_AREAS)
        lines += table(_("Meetings by region:"), figures["regions"], REGIONS)
        lines += table(_("Outcomes of the meetings:"), figures["outcomes"], OUTCOME_LABELS)
    lines += ["", _("This summary follows the Chatham House rule: it attributes nothing to any member or participant.")]
    return "\n".join(lines)


# --- Notices ------------------------------------------------------------------------------------------------------

def _link(session: MatchmakingSession) -> str:
    return current_app.url_map.bind("localhost").build("sessions.detail", {"session_id": session.id})


def _agenda_lines(session: MatchmakingSession, user: User) -> str:
    lines = []
    for meeting in sorted(meetings_of(user, session), key=lambda m: (m.round is None, m.round or 0, m.id)):
        pair = f"{meeting.match.need.title} ↔ {meeting.match.offering.title}"
        if meeting.is_placed:
            lines.append(_("- %(time)s, table %(table)d: %(pair)s", time=round_label(session, meeting.round),
                           table=meeting.table_no + 1, pair=pair))
        elif meeting.match.status in ACTIVE_MATCH_STATUSES:
            lines.append(_("- not placed (%(why)s): %(pair)s", why=reason_label(meeting), pair=pair))
    return "\n".join(lines)


_SUBJECTS = {
    "invited": lambda s: _("Matchmaking session: %(title)s", title=s.title),
    "agenda": lambda s: _("Your agenda for %(title)s", title=s.title),
    "changed": lambda s: _("Your agenda for %(title)s has changed", title=s.title),
    "cancelled": lambda s: _("Matchmaking session cancelled: %(title)s", title=s.title),
    "closed": lambda s: _("Summary of the matchmaking session %(title)s", title=s.title),
}


def _body(kind: str, session: MatchmakingSession, user: User) -> str:
    when = session_when(session)
    if kind == "invited":
        return _("You have a bilateral meeting at the matchmaking session “%(title)s” on %(when)s. Please tell us "
                 "which time slots you can attend; the agenda is then built for everyone.", title=session.title,
                 when=when)
    if kind == "cancelled":
        return _("The matchmaking session “%(title)s” planned for %(when)s is cancelled.", title=session.title,
                 when=when)
    if kind == "closed":
        return _("The non-attributable summary of the matchmaking session “%(title)s” is available.",
                 title=session.title)
    intro = _("Your meetings at the matchmaking session “%(title)s” on %(when)s:", title=session.title, when=when)
    return f"{intro}\n{_agenda_lines(session, user)}"


def notify_users_of(session: MatchmakingSession, meetings, kind: str) -> int:
    """Tell everyone who sits at these meetings, in their language (inbox, and e-mail where SMTP is set)."""
    users = participants([m for m in meetings if m.match.status in INTRODUCED_STATUSES])
    return match_service.notify_users(users, lambda user: (_SUBJECTS[kind](session), _body(kind, session, user)),
                                      _link(session))


def notify_agenda(session: MatchmakingSession, meetings, kind: str) -> int:
    """After an agenda change: each person concerned gets their whole current agenda."""
    return notify_users_of(session, list(meetings), kind)


# --- iCalendar ----------------------------------------------------------------------------------------------------

def agenda_ics(user: User, session: MatchmakingSession) -> bytes:
    """The user's placed meetings as an iCalendar file: times with the session's TZID (and its VTIMEZONE)."""
    from icalendar import Calendar, Event

    from matchmaker.services.accounts import link as absolute

    host = urlsplit(current_app.config["BASE_URL"]).hostname or "matchmaker"
    calendar = Calendar()
    calendar.add("prodid", "-//TA Matchmaker//Matchmaking sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", session.title)
    stamp = datetime.now(UTC).replace(microsecond=0)
    where = session.place if session.mode == "in_person" else session.link
    for meeting in meetings_of(user, session):
        if not meeting.is_placed:
            continue
        event = Event()
        event.add("uid", f"session-{session.id}-meeting-{meeting.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", session.round_start(meeting.round))
        event.add("dtend", session.round_end(meeting.round))
        event.add("sequence", meeting.sequence)
        event.add("summary", _("Bilateral meeting: %(need)s ↔ %(offering)s", need=meeting.match.need.title,
                               offering=meeting.match.offering.title))
        event.add("location", _("%(where)s, table %(table)d", where=where or "", table=meeting.table_no + 1))
        event.add("description", _("Matchmaking session “%(title)s”. Details: %(url)s", title=session.title,
                                   url=absolute(_link(session))))
        if session.mode == "online" and session.link:
            event.add("url", session.link)
        event.add("status", "CANCELLED" if session.status == "cancelled" else "CONFIRMED")
        calendar.add_component(event)
    # The zone's rules for the years around the session only: a few lines instead of every change since 1970.
    calendar.add_missing_timezones(first_date=date(session.date.year - 1, 1, 1),
                                   last_date=date(session.date.year + 2, 1, 1))
    return calendar.to_ical()


def search_matches(ids: list[int]) -> list[Match]:
    if not ids:
        return []
    return list(db.session.scalars(select(Match).where(Match.id.in_(ids)).order_by(Match.id)))

