"""Small helpers shared by the views."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import flask_babel
from flask import abort, request
from flask_login import current_user

from matchmaker.extensions import db
from matchmaker.permissions import require

T = TypeVar("T")
MAX_ID = 2**31 - 1


def load_or_404(model: type[T], object_id: int, action: str) -> T:
    """The record, or 404; then 403 unless the current user may do ``action`` to it."""
    if object_id > MAX_ID:
        abort(404)
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    require(action, obj)
    return obj


def page_arg() -> int:
    """The ?page= number, 1 when missing or nonsense."""
    page = request.args.get("page", type=int, default=1) or 1
    return min(max(page, 1), 100000)


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go to after sign-in; anything else (other hosts, javascript:) gives ``default``."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def user_or_none() -> Any:
    return current_user if current_user.is_authenticated else None


def client_address() -> str:
    return request.remote_addr or "unknown"


def stale(form, record) -> bool:
    """True when an edit form was started from an older version of the record than the stored one."""
    sent = form.version.data
    return sent not in (None, "") and str(sent) != str(record.version)


# Dates and times have one format per language on every page: Babel's medium one ("Dec 5, 2026" and
# "Dec 5, 2026, 12:08:00 PM" in English, "5 déc. 2026" in French, "5 dic 2026" in Spanish). Data files (CSV, JSON,
# IATI, iCalendar) keep ISO 8601, which programs read.
DATE_FORMAT = "medium"


def format_date(value: date | datetime) -> str:
    return flask_babel.format_date(value, DATE_FORMAT)


def format_datetime(value: datetime) -> str:
    return flask_babel.format_datetime(value, DATE_FORMAT)
