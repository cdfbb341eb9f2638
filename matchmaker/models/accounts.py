"""Users, their server-side sessions, the sign-in attempts used for throttling, and invitation and reset links."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.extensions import db
from matchmaker.models.base import UTCDateTime, utcnow
from matchmaker.models.members import Member, Organisation

ROLES = ("delegate", "partner", "facilitator", "admin")


class User(UserMixin, db.Model):
    """A person who signs in; delegates act for one member, partners for one organisation."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    language: Mapped[str] = mapped_column(String(5), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class UserSession(db.Model):
    """A signed-in browser; deleting the row ends the session even if the cookie is replayed."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    address: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """A failed sign-in (or one being checked), counted within a sliding window per known device, per account and
    address pair, per account and per address (services/throttle.py)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # SHA-256 of the nonce of the device cookie the browser showed for this account (a device that signed in to it
    # before); None for a device the account has not used.
    device: Mapped[str | None] = mapped_column(String(64))
    # True while the password is being checked: a right one removes the row, a wrong one makes it a failure.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AccountLink(db.Model):
    """An invitation or password-reset link: a random secret, of which only the SHA-256 is kept, used once."""

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class FormSubmission(db.Model):
    """The record a create form's one-time key produced: the same form posted again gets that record back."""

    __tablename__ = "form_submissions"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_form_submissions_user_id_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int | None] = mapped_column(Integer)  # set once the record exists, in the same transaction
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
