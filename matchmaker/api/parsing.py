"""Reading JSON bodies so that no text or number a client can send gives a 500: a lone surrogate ("\\ud800", which
no database stores) or an integer of thousands of digits (which Python refuses to convert past 4,300) is answered
with 422 and the field named, like any other invalid value."""
from __future__ import annotations

import json
import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

# No field takes more: ids and versions fit in 10 digits, capacities in 5.
MAX_INTEGER_DIGITS = 100
_SURROGATE = re.compile(r"[\ud800-\udfff]")
TOO_LONG = _l("This number has too many digits.")
NOT_UNICODE = _l("This text is not valid Unicode (it has a lone surrogate).")


class _LongInteger:
    """An integer literal with more digits than any field takes, kept as its text until the field is named."""

    def __init__(self, literal: str):
        self.literal = literal


def _integer(literal: str) -> int | _LongInteger:
    return _LongInteger(literal) if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS else int(literal)


def _printable(key: str) -> str:
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def body_problems(value: Any, path: str = "") -> dict[str, list[str]]:
    """Every lone surrogate and over-long integer in a parsed body, by the path of its field ("title",
    "eligible_members.0"; "body" for the whole)."""
    problems: dict[str, list[str]] = {}
    if isinstance(value, _LongInteger):
        problems[path or "body"] = [str(TOO_LONG)]
    elif isinstance(value, str):
        if _SURROGATE.search(value):
            problems[path or "body"] = [str(NOT_UNICODE)]
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{_printable(key)}" if path else _printable(key)
            if _SURROGATE.search(key):
                problems[name] = [str(NOT_UNICODE)]
            problems.update(body_problems(item, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.update(body_problems(item, f"{path}.{index}" if path else str(index)))
    return problems


def loads(data: bytes | str) -> Any:
    """json.loads with over-long integers kept aside; UnicodeDecodeError and JSONDecodeError as json.loads."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return json.loads(text, parse_int=_integer)


class StrictJsonParser(FlaskParser):
    """webargs' parser for the API's JSON bodies, refusing what the stores and int() cannot take, field by field."""

    def _raw_load_json(self, req) -> Any:
        if not is_json_request(req):
            return core.missing
        body = loads(req.get_data(cache=True))
        problems = body_problems(body)
        if problems:
            abort(422, errors=problems)
        return body
