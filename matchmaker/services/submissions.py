"""One record per submitted form: a create form carries a one-time key, and a post that repeats it (a replay, a
double click, a retry over a slow network) gets the record the first one created instead of a copy. The API's
Idempotency-Key header works the same way."""
from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from matchmaker.extensions import db
from matchmaker.models import FormSubmission, User

KEY_PATTERN = r"^[A-Za-z0-9_.:-]{16,80}$"


def new_key() -> str:
    """The key a create form is rendered with."""
    return secrets.token_urlsafe(24)


def _earlier(user: User, key: str) -> FormSubmission | None:
    return db.session.scalar(select(FormSubmission).where(FormSubmission.user_id == user.id,
                                                          FormSubmission.key == key))


def claim(user: User, key: str | None, object_type: str) -> tuple[FormSubmission | None, int | None]:
    """Claim ``key`` for the record about to be created: (the claim, None), or (None, the id of the record an
    earlier post with this key created). No key: (None, None), nothing is remembered.

    Two posts of one key at the same moment: the database's unique constraint lets one claim it; the other waits for
    it (PostgreSQL) or comes after it (SQLite's BEGIN IMMEDIATE) and gets its record."""
    if not key:
        return None, None
    earlier = _earlier(user, key)
    if earlier is None:
        try:
            with db.session.begin_nested():
                claimed = FormSubmission(user_id=user.id, key=key, object_type=object_type)
                db.session.add(claimed)
            return claimed, None
        except IntegrityError:
            earlier = _earlier(user, key)
    if earlier is None or earlier.object_type != object_type:
        return None, None  # a key of another kind of form: no record to give back, nothing to remember
    return None, earlier.object_id


def settle(claimed: FormSubmission | None, record) -> None:
    """Remember the record a claimed key created (same transaction as the record)."""
    if claimed is not None:
        claimed.object_id = record.id
