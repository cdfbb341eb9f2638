"""The limits and checks of what users type into needs, offerings and their life-cycle steps, defined once: the web
forms (WTForms validators), the API's schemas (marshmallow validators) and the CSV import's columns all read them.

A limit is looked up when a value is checked, not when a form or schema class is made, so that every way in agrees
with this table at every moment (a test can change a limit here and see the three follow)."""
from __future__ import annotations

from dataclasses import dataclass

import marshmallow as ma
from email_validator import EmailNotValidError, validate_email
from marshmallow import validate
from wtforms import validators


@dataclass(frozen=True)
class Bounds:
    """Characters of a text, items of a list or the range of a number; a minimum of 0 or None checks nothing (the
    API describes 0 as minLength 0, and None not at all)."""

    min: int | None
    max: int


LIMITS: dict[str, Bounds] = {
    "title": Bounds(5, 200),
    "description": Bounds(30, 10_000),
    "contact_name": Bounds(0, 120),
    "email": Bounds(None, 254),
    # The reason or note given with a life-cycle step, a decision or an answer.
    "comment": Bounds(0, 2000),
    # The one-line comment of a bulk approval on the review queue.
    "queue_comment": Bounds(0, 500),
    # The search box above the lists of needs and offerings.
    "search": Bounds(0, 200),
    # The offering form's typed member names, and the member codes an offering may list (API, CSV).
    "member_names": Bounds(0, 2000),
    "eligible_members": Bounds(None, 200),
    # Engagements an offering can take on (empty when not limited).
    "capacity": Bounds(1, 10_000),
}


def limit(name: str) -> Bounds:
    return LIMITS[name]


def email_is_valid(address: str) -> bool:
    """An e-mail address as the email-validator package reads it (syntax only: no DNS look-up)."""
    if len(address) > LIMITS["email"].max:
        return False
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


# ---- WTForms: the same limits in the web forms -------------------------------------------------------------------

class FormLength:
    """WTForms' Length (its messages and its minlength/maxlength attributes) with the bounds of ``LIMITS[name]``."""

    def __init__(self, name: str):
        self.name = name

    def _length(self) -> validators.Length:
        bounds = LIMITS[self.name]
        return validators.Length(min=bounds.min or -1, max=bounds.max)

    @property
    def field_flags(self) -> dict:
        return self._length().field_flags

    def __call__(self, form, field) -> None:
        self._length()(form, field)


class FormRange:
    """WTForms' NumberRange with the bounds of ``LIMITS[name]``."""

    def __init__(self, name: str):
        self.name = name

    def _range(self) -> validators.NumberRange:
        bounds = LIMITS[self.name]
        return validators.NumberRange(min=bounds.min, max=bounds.max)

    @property
    def field_flags(self) -> dict:
        return self._range().field_flags

    def __call__(self, form, field) -> None:
        self._range()(form, field)


# WTForms' own message, translated by its own catalogue (field.gettext), as its Email validator does.
WTFORMS_INVALID_EMAIL = "Invalid email address."


class FormEmail:
    """An e-mail address by ``email_is_valid``, with WTForms' message."""

    def __call__(self, form, field) -> None:
        if field.data and not email_is_valid(field.data):
            raise validators.ValidationError(field.gettext(WTFORMS_INVALID_EMAIL))


# ---- marshmallow: the same limits in the API ---------------------------------------------------------------------

class _LimitedBy:
    """A marshmallow bounds validator (``checker``) with the bounds of ``LIMITS[name]`` when it checks; the bounds
    it holds (as of start-up) go into the OpenAPI description."""

    checker: type[validate.Length] | type[validate.Range]

    def __init__(self, name: str):
        self.name = name
        bounds = LIMITS[name]
        super().__init__(min=bounds.min, max=bounds.max)

    def __call__(self, value):
        bounds = LIMITS[self.name]
        return self.checker(min=bounds.min, max=bounds.max)(value)


class ApiLength(_LimitedBy, validate.Length):
    """marshmallow's Length with the bounds of ``LIMITS[name]``."""

    checker = validate.Length


class ApiRange(_LimitedBy, validate.Range):
    """marshmallow's Range with the bounds of ``LIMITS[name]``."""

    checker = validate.Range


class ApiEmail(validate.Validator):
    """An e-mail address by ``email_is_valid``, with marshmallow's message."""

    error = "Not a valid email address."

    def __call__(self, value):
        if value is not None and not email_is_valid(value):
            raise ma.ValidationError(self.error)
        return value
