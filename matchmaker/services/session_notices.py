"""Matchmaking sessions: what the people at the meetings are told (inbox, and e-mail where SMTP is set)."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from matchmaker.models import Match, User
from matchmaker.models.sessions import MatchmakingSession
from matchmaker.services import matches as match_service
from matchmaker.services.session_labels import reason_label, round_label, session_when
from matchmaker.services.session_queries import ACTIVE_MATCH_STATUSES, INTRODUCED_STATUSES, meetings_of, participants


def link(session: MatchmakingSession) -> str:
    """The session's page, as a path (the mail adds the host)."""
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
                                      link(session))


def notify_agenda(session: MatchmakingSession, meetings, kind: str) -> int:
    """After an agenda change: each person concerned gets their whole current agenda."""
    return notify_users_of(session, list(meetings), kind)


def notify_removed(session: MatchmakingSession, match: Match, users: list[User]) -> int:
    """Tell the people of a meeting taken off the agenda."""
    return match_service.notify_users(users, lambda _u: (
        _("Meeting removed from %(title)s", title=session.title),
        _("The meeting %(need)s ↔ %(offering)s is no longer on the agenda of this matchmaking session.",
          need=match.need.title, offering=match.offering.title)), link(session))
