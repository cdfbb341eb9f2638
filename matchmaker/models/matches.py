"""Matches between a need and an offering, their life cycle, and the in-app notifications they cause."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from matchmaker.extensions import db
from matchmaker.models.accounts import User
from matchmaker.models.base import UTCDateTime, utcnow
from matchmaker.models.needs import Need
from matchmaker.models.offerings import Offering

MATCH_STATUSES = (
    "proposed", "approved", "rejected", "accepted", "declined", "meeting_held", "agreement_reached",
    "in_delivery", "completed", "closed_no_result", "superseded", "withdrawn",
)
# An approved match, and everything after it, takes up one engagement of the offering's capacity.
CAPACITY_STATUSES = ("approved", "accepted", "meeting_held", "agreement_reached", "in_delivery", "completed")
FINAL_MATCH_STATUSES = ("rejected", "declined", "completed", "closed_no_result", "superseded", "withdrawn")
RESPONSES = ("pending", "accepted", "declined")
OUTCOMES = ("did_not_take_place", "insufficient_interest", "informative", "cooperation_possible")


class Match(db.Model):
    """A proposed pairing of one need with one offering, from the engine or made by hand."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("need_id", "offering_id", name="uq_matches_need_offering"),
        Index("ix_matches_status_score", "status", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id"), index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    text_score: Mapped[float] = mapped_column(Float, default=0.0)
    engine_version: Mapped[str] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(10), default="engine")  # engine | manual
    terms: Mapped[list] = mapped_column(JSON, default=list)  # [[label, share of the score], ...]
    shared_facets: Mapped[dict] = mapped_column(JSON, default=dict)
    # What an engine proposal was computed from (record versions, engine, settings): a re-run leaves the proposal
    # as it is while these are unchanged (services.matching).
    inputs: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="proposed", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    need_response: Mapped[str] = mapped_column(String(10), default="pending")
    need_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offering_response: Mapped[str] = mapped_column(String(10), default="pending")
    offering_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(30))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    need: Mapped[Need] = relationship()
    offering: Mapped[Offering] = relationship()
    decided_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_MATCH_STATUSES

    @property
    def awaits_decision(self) -> bool:
        """A proposal no facilitator has approved or rejected yet."""
        return self.status == "proposed"

    @property
    def may_be_withdrawn(self) -> bool:
        """A proposal, or an introduction the parties have not both answered yet."""
        return self.status in ("proposed", "approved")

    @property
    def is_introduced(self) -> bool:
        """The parties may see each other (the facilitator approved the match)."""
        return self.status in CAPACITY_STATUSES + ("declined", "closed_no_result")

    def __repr__(self) -> str:
        return f"<Match {self.id} need={self.need_id} offering={self.offering_id} {self.status}>"


class Notification(db.Model):
    """A message in a user's inbox, written in the recipient's language when it was sent."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship()
    match: Mapped[Match | None] = relationship()


# A user's unread messages (the navigation shows how many): read with the signed-in user, in the statement that finds
# the session (services/accounts.find_session undefers it), otherwise when first asked.
User.unread_messages = column_property(
    select(func.count(Notification.id)).where(Notification.user_id == User.id, Notification.read_at.is_(None))
    .correlate_except(Notification).scalar_subquery(), deferred=True)


class MatchingRun(db.Model):
    """One run of the engine over many records: when, by whom, what it proposed and superseded, and why.

    ``changes`` lists each proposal the run wrote: {"match", "need", "offering", "change", "reason"} (and "by", the
    offering that replaced a weaker proposal); proposals whose inputs did not change are only counted (``kept``).
    """

    __tablename__ = "matching_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scope: Mapped[str] = mapped_column(String(20))  # all | selection | need | offering
    engine_version: Mapped[str] = mapped_column(String(40))
    needs_considered: Mapped[int] = mapped_column(default=0)
    proposed: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    superseded: Mapped[int] = mapped_column(default=0)
    needs_without_proposal: Mapped[int] = mapped_column(default=0)
    kept: Mapped[int] = mapped_column(default=0)
    changes: Mapped[list | None] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
