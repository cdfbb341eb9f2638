"""Column helpers shared by the models."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime

from sqlalchemy import DateTime, TypeDecorator

# The moment "now" stands for, when something replays a history at its own dates (the demo: services.demo); unset,
# now is the wall clock. A context variable: it never leaks to another request or thread.
_REPLAYED_NOW: ContextVar[datetime | None] = ContextVar("replayed_now", default=None)


def utcnow() -> datetime:
    """Now, timezone-aware in UTC; used as a callable default so it is evaluated per row."""
    return _REPLAYED_NOW.get() or datetime.now(UTC)


def today() -> date:
    """The date of utcnow() (the replayed date while a history is replayed)."""
    return utcnow().date()


@contextmanager
def replayed_at(moment: datetime) -> Iterator[None]:
    """Within the block, utcnow() is ``moment``: the records and audit events written (and flushed) there carry it."""
    token = _REPLAYED_NOW.set(moment)
    try:
        yield
    finally:
        _REPLAYED_NOW.reset(token)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value
