"""Editions of the public report: what readers see stays fixed until a facilitator publishes the next one."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.extensions import db
from matchmaker.models.accounts import User
from matchmaker.models.base import UTCDateTime, utcnow


class ReportEdition(db.Model):
    """One published edition of the public report.

    ``content`` is everything readers get (tables as codes and published values, themes, what was withheld);
    pages and CSV files are rendered from it alone, so they read the same until the next edition. ``private``
    is never shown: each cell's contribution per member and what an attacker can tell about each suppressed
    cell, which the next editions need to check that the change between editions names nobody either.
    """

    __tablename__ = "report_editions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    content: Mapped[dict] = mapped_column(JSON)
    private: Mapped[dict] = mapped_column(JSON)

    published_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ReportEdition {self.number}>"
