"""Personal API tokens, and uploaded import files waiting for their owner's confirmation."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matchmaker.extensions import db
from matchmaker.models.accounts import User
from matchmaker.models.base import UTCDateTime, utcnow
from matchmaker.models.members import Member

IMPORT_KINDS = ("offerings_csv", "needs_csv", "offerings_iati")
IMPORT_STATUSES = ("pending", "imported", "cancelled")


class ApiToken(db.Model):
    """A secret a user creates for a program that uses the API on their behalf; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # SHA-256 of the whole token: tokens are long random strings, so a fast hash is enough to make a leak useless.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown in the list so that the user can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}>"


class ImportUpload(db.Model):
    """An uploaded CSV or IATI file, kept between the preview and the user's confirmation."""

    __tablename__ = "import_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # The member a facilitator imports needs for (delegates always import for their own member).
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
    member: Mapped[Member | None] = relationship()

    def __repr__(self) -> str:
        return f"<ImportUpload {self.id} {self.kind} {self.status}>"
