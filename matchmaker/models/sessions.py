"""Matchmaking sessions: the dated meeting, its bilateral meetings (the agenda) and the parties' availability."""
from __future__ import annotations

import datetime as dt
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.extensions import db
from matchmaker.models.accounts import User
from matchmaker.models.base import UTCDateTime, utcnow
from matchmaker.models.matches import Match

SESSION_STATUSES = ("planning", "held", "closed", "cancelled")
SESSION_MODES = ("online", "in_person")


class MatchmakingSession(db.Model):
    """A dated meeting, online or in person, where invited matches meet in bilateral rounds at parallel tables."""

    __tablename__ = "matchmaking_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str | None] = mapped_column(Text)
    policy_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    date: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time] = mapped_column(Time)
    time_zone: Mapped[str] = mapped_column(String(64))  # an IANA name, e.g. Europe/Zurich
    mode: Mapped[str] = mapped_column(String(10))  # online | in_person
    place: Mapped[str | None] = mapped_column(String(300))
    link: Mapped[str | None] = mapped_column(String(500))
    slot_minutes: Mapped[int] = mapped_column(Integer)
    rounds: Mapped[int] = mapped_column(Integer)
    tables: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="planning", index=True)
    summary: Mapped[str | None] = mapped_column(Text)  # the facilitator's own record; staff only
    public_summary: Mapped[str | None] = mapped_column(Text)  # non-attributable; shown to the participants
    agenda_built_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    created_by: Mapped[User | None] = relationship()
    meetings: Mapped[list[SessionMeeting]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="SessionMeeting.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def round_start(self, index: int) -> datetime:
        """When round ``index`` (from 0) starts, in the session's time zone (computed in UTC across DST changes)."""
        first = datetime.combine(self.date, self.start_time, tzinfo=self.zone).astimezone(dt.UTC)
        return (first + timedelta(minutes=self.slot_minutes * index)).astimezone(self.zone)

    def round_end(self, index: int) -> datetime:
        return self.round_start(index + 1)

    @property
    def ends_at(self) -> datetime:
        return self.round_start(self.rounds)

    @property
    def is_planning(self) -> bool:
        return self.status == "planning"

    @property
    def takes_outcomes(self) -> bool:
        """Held and not yet closed: the meetings' outcomes and the summaries are written now."""
        return self.status == "held"

    @property
    def has_been_held(self) -> bool:
        return self.status in ("held", "closed")

    def __repr__(self) -> str:
        return f"<MatchmakingSession {self.id} {self.date} {self.status}>"


class SessionMeeting(db.Model):
    """One invited match at a session: its place on the agenda (round, table), or why it has none, and its outcome."""

    __tablename__ = "session_meetings"
    __table_args__ = (
        UniqueConstraint("session_id", "match_id", name="uq_session_meetings_session_match"),
        # The database itself refuses two meetings at one table in one round.
        UniqueConstraint("session_id", "round", "table_no", name="uq_session_meetings_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("matchmaking_sessions.id", ondelete="CASCADE"), index=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"), index=True)
    round: Mapped[int | None] = mapped_column(Integer)  # from 0
    table_no: Mapped[int | None] = mapped_column(Integer)  # from 0
    unplaced_reason: Mapped[str | None] = mapped_column(String(30))
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE: bumped at every change
    outcome: Mapped[str | None] = mapped_column(String(30))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[MatchmakingSession] = relationship(back_populates="meetings")
    match: Mapped[Match] = relationship()

    @property
    def is_placed(self) -> bool:
        return self.round is not None and self.table_no is not None

    def __repr__(self) -> str:
        return f"<SessionMeeting {self.id} match={self.match_id} round={self.round} table={self.table_no}>"


class SessionAvailability(db.Model):
    """The rounds of a session one participant can attend (absent: they have not answered, so any round)."""

    __tablename__ = "session_availability"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_session_availability_session_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("matchmaking_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rounds: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()
