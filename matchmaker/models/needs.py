"""A member's need for technical assistance and its life cycle."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.extensions import db
from matchmaker.models.accounts import User
from matchmaker.models.base import UTCDateTime, utcnow
from matchmaker.models.members import Member

NEED_STATUSES = ("draft", "submitted", "open", "matched", "in_progress", "fulfilled", "withdrawn", "closed")
# Statuses after which nothing about the need may be edited.
NEED_FINAL_STATUSES = ("fulfilled", "withdrawn", "closed")
# Statuses in which a facilitator may pair the need with an offering or introduce it to one.
MATCHABLE_NEED_STATUSES = ("open", "matched", "in_progress")


class Need(db.Model):
    """What a requesting member needs, in its delegates' words."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5))
    policy_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    support_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    delivery_languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    beneficiaries: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[str] = mapped_column(String(10), default="medium")
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    attributed: Mapped[bool] = mapped_column(Boolean, default=False)
    screening_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    member: Mapped[Member] = relationship()
    created_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_final(self) -> bool:
        return self.status in NEED_FINAL_STATUSES

    @property
    def is_matchable(self) -> bool:
        return self.status in MATCHABLE_NEED_STATUSES

    def __repr__(self) -> str:
        return f"<Need {self.id} {self.status}>"
