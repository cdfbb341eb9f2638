"""A participant's placed meetings of a matchmaking session as an iCalendar file."""
from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from icalendar import Calendar, Event

from matchmaker.models import User
from matchmaker.models.sessions import MatchmakingSession
from matchmaker.services.accounts import link as absolute
from matchmaker.services.session_notices import link
from matchmaker.services.session_queries import meetings_of


def agenda_ics(user: User, session: MatchmakingSession) -> bytes:
    """The user's placed meetings as an iCalendar file: times with the session's TZID (and its VTIMEZONE)."""
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
                                   url=absolute(link(session))))
        if session.mode == "online" and session.link:
            event.add("url", session.link)
        event.add("status", "CANCELLED" if session.status == "cancelled" else "CONFIRMED")
        calendar.add_component(event)
    # The zone's rules for the years around the session only: a few lines instead of every change since 1970.
    calendar.add_missing_timezones(first_date=date(session.date.year - 1, 1, 1),
                                   last_date=date(session.date.year + 2, 1, 1))
    return calendar.to_ical()
