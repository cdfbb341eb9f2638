"""Matchmaking sessions in words: times of day in the session's zone, meetings as the agenda names them, and why a
meeting cannot go where asked."""
from __future__ import annotations

from babel.dates import format_date, format_time
from flask_babel import get_locale
from flask_babel import gettext as _

from matchmaker.models.sessions import MatchmakingSession, SessionMeeting
from matchmaker.reference import UNPLACED_REASON_LABELS
from matchmaker.utils import DATE_FORMAT


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


def problems_text(problems, meetings_by_id) -> str:
    """What scheduling.problems_with found, in words (naming the other meeting by its match)."""
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
