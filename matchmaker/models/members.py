"""Requesting members (WTO members and observers) and partner organisations."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from matchmaker.extensions import db
from matchmaker.models.base import UTCDateTime, utcnow


class Member(db.Model):
    """A WTO member or observer that may request assistance."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(2), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_fr: Mapped[str] = mapped_column(String(120))
    name_es: Mapped[str] = mapped_column(String(120))
    wto_status: Mapped[str] = mapped_column(String(10))  # member | observer
    is_ldc: Mapped[bool] = mapped_column(Boolean, default=False)
    is_developing: Mapped[bool] = mapped_column(Boolean, default=True)
    region: Mapped[str] = mapped_column(String(20))
    # Official languages and those in common official use, among DELIVERY_LANGUAGES (public knowledge: an
    # attacker reads a need's languages against them, see services/anonymity.py).
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Other names the member is known by (short forms, former names, demonyms the names do not give).
    other_names: Mapped[list[str]] = mapped_column(JSON, default=list)

    def name(self, locale: str = "en") -> str:
        """The member's name in the given language, English when there is none."""
        return {"fr": self.name_fr, "es": self.name_es}.get(locale) or self.name_en

    def __repr__(self) -> str:
        return f"<Member {self.code}>"


class Organisation(db.Model):
    """A partner organisation that offers programmes."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    acronym: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    website: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Organisation {self.acronym}>"
