"""A partner organisation's programme (offering) and its life cycle."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.extensions import db
from matchmaker.models.accounts import User
from matchmaker.models.base import UTCDateTime, utcnow
from matchmaker.models.members import Organisation

OFFERING_STATUSES = ("draft", "published", "closed")


class Offering(db.Model):
    """What a partner organisation offers, to whom, in which languages and until when."""

    __tablename__ = "offerings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5))
    policy_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    support_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    delivery_languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    beneficiaries: Mapped[list[str]] = mapped_column(JSON, default=list)
    eligibility: Mapped[str] = mapped_column(String(20), default="all_developing")
    eligible_regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    eligible_members: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[date | None] = mapped_column(Date)
    contact_name: Mapped[str | None] = mapped_column(String(120))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # IATI: the activity this offering was imported from (re-imports update it) or is exported as.
    iati_identifier: Mapped[str | None] = mapped_column(String(200), unique=True)
    reporting_org_ref: Mapped[str | None] = mapped_column(String(100))
    reporting_org_name: Mapped[str | None] = mapped_column(String(300))
    iati_activity_status: Mapped[str | None] = mapped_column(String(2))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)

    organisation: Mapped[Organisation] = relationship(lazy="selectin")  # every page showing an offering names it
    created_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def is_expired(self, today: date) -> bool:
        """A published offering whose application deadline has passed."""
        return self.status == "published" and self.deadline is not None and self.deadline < today

    def display_status(self, today: date) -> str:
        """The status users see: 'expired' once a published offering's deadline has passed."""
        return "expired" if self.is_expired(today) else self.status

    def is_open(self, today: date) -> bool:
        return self.status == "published" and not self.is_expired(today)

    @property
    def is_final(self) -> bool:
        """Closed: nothing about it changes any more (its edits are refused)."""
        return self.status == "closed"

    def __repr__(self) -> str:
        return f"<Offering {self.id} {self.status}>"
