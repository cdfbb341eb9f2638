"""What the session pages share: the labels every page shows, the failure of a command, the forms whose choices
depend on the session, and the confirmation asked before a session is cancelled or closed."""
from __future__ import annotations

from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user

from matchmaker.confirm import confirmation_page
from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.models import MatchmakingSession, SessionMeeting
from matchmaker.reference import (
    MATCH_STATUS_LABELS,
    OUTCOME_LABELS,
    SESSION_ACTION_LABELS,
    SESSION_MODE_LABELS,
    SESSION_STATUS_LABELS,
    options,
)
from matchmaker.services import session_labels, session_queries
from matchmaker.sessions.forms import MoveForm, OutcomeForm

LABELS = dict(status_labels=SESSION_STATUS_LABELS, mode_labels=SESSION_MODE_LABELS,
              outcome_labels=OUTCOME_LABELS, match_status_labels=MATCH_STATUS_LABELS,
              action_labels=SESSION_ACTION_LABELS,
              # The session in words (services/session_labels.py), for every page.
              when=session_labels.session_when, round_label=session_labels.round_label,
              reason_label=session_labels.reason_label, meeting_label=session_labels.meeting_label)


def fail(error: DomainError) -> None:
    db.session.rollback()
    if error.status_code == 403:
        abort(403)
    flash(error.message, "error")


def meeting_of(session: MatchmakingSession, match_id: int) -> SessionMeeting:
    """The session's meeting for this match number; a number not on the session is the user's mistake, not a 404."""
    meeting = next((m for m in session.meetings if m.match_id == match_id), None)
    if meeting is None:
        raise DomainError(_("Match #%(n)d is not invited to this session.", n=match_id))
    return meeting


def short_name(meeting: SessionMeeting) -> str:
    return f"#{meeting.match_id} {meeting.match.need.member.code} ↔ {meeting.match.offering.organisation.acronym}"


def move_form(session: MatchmakingSession) -> MoveForm:
    form = MoveForm(prefix="move")
    form.round.choices = options((r, _("Slot %(n)d, %(time)s", n=r + 1, time=session_labels.round_label(session, r)))
                                 for r in range(session.rounds))
    form.table.choices = options([("", _("First free table"))] + [(str(t), _("Table %(n)d", n=t + 1))
                                                                   for t in range(session.tables)])
    return form


def outcome_form(session: MatchmakingSession) -> OutcomeForm:
    form = OutcomeForm()
    form.match.choices = options((m.match_id, short_name(m)) for m in session.meetings if m.is_placed and not m.outcome)
    return form


def own_meetings(session: MatchmakingSession) -> list[SessionMeeting]:
    return sorted((m for m in session_queries.meetings_of(current_user, session) if m.is_placed),
                  key=lambda m: (m.round, m.table_no))


def confirm_transition(session: MatchmakingSession, action: str):
    """Cancelling or closing a session: say what happens before doing it."""
    if action == "cancel":
        texts = (_("Cancel the session “%(title)s”?", title=session.title),
                 _("Everyone invited is told that the session is cancelled, and it cannot be planned again."),
                 _("Cancel the session"))
    else:
        texts = (_("Close the session “%(title)s” and share its summary?", title=session.title),
                 _("The non-attributable summary is shared with every participant, and nothing more can be recorded "
                   "on the session."), _("Close and share the summary"))
    return confirmation_page(*texts, url_for("sessions.detail", session_id=session.id))
