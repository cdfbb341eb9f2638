"""The API schemas' building blocks: strict types, unknown fields refused, and the text fields of field_rules.py."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from matchmaker.field_rules import ApiLength
from matchmaker.safe_text import ALLOWED_TEXT, text_problem


class SafeText(validate.Regexp):
    """What no text may hold (safe_text.py), with its message; the pattern goes into the OpenAPI description."""

    def __init__(self):
        super().__init__(ALLOWED_TEXT)

    def __call__(self, value):
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            raise ma.ValidationError(str(problem))
        return value


NO_CONTROL = SafeText()


class StrictBoolean(fields.Boolean):
    """true or false, and nothing else (not 1, not "yes")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class StrictInteger(fields.Integer):
    """A JSON integer: no strings, no floats, and no booleans (which Python counts as integers)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def text(rule: str, **kwargs) -> fields.String:
    """A text field with the length of ``field_rules.LIMITS[rule]``, refusing what no text may hold."""
    return fields.String(validate=[ApiLength(rule), NO_CONTROL], **kwargs)


def codes(vocabulary: dict, minimum: int = 0, **kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(list(vocabulary))),
                       validate=validate.Length(min=minimum, max=len(vocabulary)), **kwargs)


class Strict(ma.Schema):
    """Unknown fields are an error, not silently dropped."""

    class Meta:
        unknown = ma.RAISE
