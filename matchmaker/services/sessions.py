"""Matchmaking sessions, what changes them: planning, invitations, availability, the agenda, the life cycle and
outcomes. Each command takes the acting user, checks permissions.py, changes, audits, tells the people concerned
and flushes; the caller commits. What is read is services/session_queries.py; the words, session_labels.py; the
notices, session_notices.py; the summary's figures, session_summary.py; the calendar file, session_calendar.py."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from matchmaker import scheduling
from matchmaker.errors import ConcurrentUpdate, DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.models import Match, User
from matchmaker.models.base import utcnow
from matchmaker.models.matches import OUTCOMES
from matchmaker.models.sessions import MatchmakingSession, SessionAvailability, SessionMeeting
from matchmaker.permissions import can
from matchmaker.services import matches as match_service
from matchmaker.services.audit import record
from matchmaker.services.session_labels import problems_text, session_when
from matchmaker.services.session_notices import notify_agenda, notify_removed, notify_users_of
from matchmaker.services.session_queries import (
    ACTIVE_MATCH_STATUSES,
    INVITABLE_MATCH_STATUSES,
    participants,
    preload,
    scheduling_meetings,
    side_availability,
)
from matchmaker.services.session_summary import attributions

TRANSITIONS = {
    "held": (("planning",), "held"),
    "close": (("held",), "closed"),
    "cancel": (("planning",), "cancelled"),
}
EDITABLE_FIELDS = ("title", "theme", "policy_areas", "date", "start_time", "time_zone", "mode", "place", "link",
                   "slot_minutes", "rounds", "tables")
TIMING_FIELDS = ("date", "start_time", "time_zone", "mode", "place", "link", "slot_minutes", "rounds", "tables")


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


def has_started(session: MatchmakingSession) -> bool:
    """Whether the session's first slot has begun (its date and start time in its own time zone)."""
    return utcnow() >= session.round_start(0)


def next_steps(session: MatchmakingSession) -> list[str]:
    """The life-cycle steps that follow from the session's state now (marking it held waits for its start)."""
    return [action for action, (sources, _target) in TRANSITIONS.items()
            if session.status in sources and (action != "held" or has_started(session))]


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
        notify_removed(session, match, users)


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
    all_meetings = scheduling_meetings(session)
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
    meetings = scheduling_meetings(session)
    problems = scheduling.problems_with(meetings, placed, meeting.id, (round_, table), session.rounds,
                                        session.tables, side_availability(session))
    if problems:
        raise DomainError(_("The meeting cannot go there: %(why)s.",
                            why=problems_text(problems, {m.id: m for m in session.meetings})))
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
    meetings = scheduling_meetings(session)
    availability = side_availability(session)
    by_id = {m.id: m for m in session.meetings}
    problems = []
    for key, slot in new.items():
        problems += scheduling.problems_with(meetings, placed, key, slot, session.rounds, session.tables, availability)
    if problems:
        raise DomainError(_("These two meetings cannot be swapped: %(why)s.", why=problems_text(problems, by_id)))
    changed = _apply(session, new, {})
    record(actor, "session.meetings_swapped", session, meeting_ids=[first.id, second.id],
           match_ids=[first.match_id, second.match_id])
    notify_agenda(session, changed, "changed")


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
    if not session.takes_outcomes:
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


def save_summary(actor: User, session: MatchmakingSession, summary: str | None, public_summary: str | None) -> None:
    """The facilitator's record of the session, and the non-attributable summary shared with its participants."""
    _require(actor, "session.manage", message=_("Only facilitators write the summary of a session."))
    if not session.takes_outcomes:
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
