"""The API's blueprint and what every endpoint uses: the token's user, load-or-404/403, pages, the documented
errors, idempotent creation, and the reader's view of a record that the schemas dump."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from matchmaker.api import schemas
from matchmaker.api.errors import ERRORS, error_response, flatten, register_error_handlers
from matchmaker.api.parsing import StrictJsonParser
from matchmaker.api.tokens import user_for_token
from matchmaker.extensions import db
from matchmaker.models import Member
from matchmaker.permissions import can
from matchmaker.services import submissions
from matchmaker.utils import MAX_ID

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description="Offerings, needs, matches and reference data, with a personal API token.")
# Before any route is declared: every @bp.arguments reads JSON bodies with it.
bp.ARGUMENTS_PARSER = StrictJsonParser()
register_error_handlers(bp)

REPLAYED = {"Idempotent-Replayed": "true"}


@bp.before_request
def authenticate():
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    user = user_for_token(secret.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        db.session.rollback()
        return error_response(401)
    g.api_user = user
    if db.session.dirty:
        try:
            db.session.commit()  # last_used_at: worth recording, never worth failing a request for
        except OperationalError:
            # Another worker holds SQLite's write lock: serve the request without recording the use (looking the
            # token up again must not leave the session dirty, or the request's first query would try to write).
            db.session.rollback()
            g.api_user = user_for_token(secret.strip(), touch=False)
    return None


def actor():
    return g.api_user


def load(model, object_id: int, action: str):
    """The record or 404, then 403 unless the token's user may do ``action``."""
    obj = db.session.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if obj is None:
        abort(404)
    if not can(actor(), action, obj):
        abort(403)
    return obj


def invalid(errors: dict[str, list[str]]):
    abort(422, errors=errors)


def paginate(query, args, seen, prepare=None) -> dict:
    """One page of ``query``, each record as ``seen`` makes it for the reader; ``prepare`` is given the page's records
    first (to work out what ``seen`` asks about all of them at once)."""
    page = db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False, count=True)
    if prepare is not None:
        prepare(page.items)
    return {"items": [seen(item) for item in page.items],
            "pagination": {"page": page.page, "per_page": page.per_page, "total": page.total or 0,
                           "pages": page.pages}}


def document_errors(*codes: int):
    """Document the JSON error bodies an endpoint may answer with."""

    def decorator(view):
        for code in codes:
            view = bp.alt_response(code, schema=schemas.ErrorSchema, description=str(ERRORS[code]))(view)
        return view

    return decorator


def idempotency_claim(kind: str):
    """An Idempotency-Key header makes a create safe to retry: the same key gives back the record the first request
    created (services/submissions.py), with the header Idempotent-Replayed."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None, None
    if not re.match(submissions.KEY_PATTERN, "api:" + key):
        invalid({"Idempotency-Key": [_("Send 12 to 76 letters, digits or the characters - _ . : as the key.")]})
    return submissions.claim(actor(), "api:" + key, kind)


def create_once(kind: str, model, create, seen):
    """Create a ``kind`` record with ``create(actor)`` unless the request's Idempotency-Key already did (then the
    first record, 201 and Idempotent-Replayed); commit and answer the record as ``seen`` makes it."""
    claimed, first = idempotency_claim(kind)
    if first is not None:
        return seen(load(model, first, f"{kind}.view")), 201, REPLAYED
    record = create(actor())
    submissions.settle(claimed, record)
    db.session.commit()
    return seen(record)


def check_version(record, data: dict, conflict) -> None:
    """409 with ``conflict(stored_version)`` when the PATCH sends a version other than the stored one; takes the
    version out of ``data``."""
    version = data.pop("version", None)
    if version is not None and version != record.version:
        abort(409, message=conflict(record.version))


def apply_patch(record, data: dict, editable: tuple[str, ...], in_schema, update) -> None:
    """Merge the sent fields over the stored ``editable`` ones, check the whole with ``in_schema`` (422), then
    ``update(actor, record, fields)`` and commit."""
    fields = {name: getattr(record, name) for name in editable}
    fields.update(data)
    problems = in_schema().validate(jsonable(fields))
    if problems:
        invalid(flatten(problems))
    update(actor(), record, fields)
    db.session.commit()


def jsonable(fields: dict) -> dict:
    """Stored values as a client would send them, to re-check a merged PATCH with the input schema."""
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in fields.items()}


def check_members_exist(codes: list[str]) -> None:
    """422 naming the member codes no member has."""
    known = set(db.session.scalars(select(Member.code).where(Member.code.in_(codes)))) if codes else set()
    missing = [code for code in codes or [] if code not in known]
    if missing:
        invalid({"eligible_members": [_("Unknown member: %(code)s", code=code) for code in missing]})


class Seen:
    """A record as one reader sees it: the record's own attributes, except those given here (what depends on who
    reads). The API's schemas dump it as they would the record."""

    def __init__(self, record: Any, **seen: Any):
        self._record = record
        self.__dict__.update(seen)

    def __getattr__(self, name: str) -> Any:
        # Called only for the attributes not given to __init__.
        return getattr(self._record, name)
