"""The columns of the CSV import: what each column of the offerings' and the needs' files holds, the parser that
turns a cell into a value (or a RowError with a message for the user), and the column's help."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import LazyString, format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from matchmaker.field_rules import LIMITS, email_is_valid
from matchmaker.reference import (
    BENEFICIARIES,
    DELIVERY_LANGUAGES,
    ELIGIBILITY,
    POLICY_AREAS,
    PRIORITIES,
    REGIONS,
    SUPPORT_KINDS,
    TEXT_LANGUAGES,
)
from matchmaker.safe_text import text_problem

_SPLIT = re.compile(r"\s*[;,|]\s*")


class RowError(ValueError):
    """A cell that cannot be read: the message says why, for the user."""


# ---- cell parsers: text -> value, or RowError with a message for the user ---------------------------------------

def _text(rule: str, required: bool = True) -> Callable[[str], str | None]:
    """A text cell with the length of ``field_rules.LIMITS[rule]``, refusing what no text may hold."""
    def parse(value: str):
        value = value.strip()
        if not value:
            if required:
                raise RowError(_("This column is required."))
            return None
        problem = text_problem(value)
        if problem:
            raise RowError(str(problem))
        bounds = LIMITS[rule]
        if len(value) < (bounds.min or 0):
            raise RowError(_("At least %(n)d characters.", n=bounds.min))
        if len(value) > bounds.max:
            raise RowError(_("At most %(n)d characters (this one has %(length)d).", n=bounds.max, length=len(value)))
        return value
    return parse


def _one(vocabulary: dict, what, default: str | None = None) -> Callable[[str], str]:
    def parse(value: str):
        value = value.strip().lower()
        if not value:
            if default is None:
                raise RowError(_("This column is required."))
            return default
        if value not in vocabulary:
            raise RowError(_("Unknown %(what)s “%(value)s”; use one of: %(codes)s.",
                             what=str(what), value=value[:60], codes=", ".join(vocabulary)))
        return value
    return parse


def _many(vocabulary: dict, what, required: bool) -> Callable[[str], list[str]]:
    def parse(value: str):
        codes = [code.lower() for code in _SPLIT.split(value.strip()) if code]
        if not codes and required:
            raise RowError(_("Give at least one %(what)s, separated by semicolons.", what=str(what)))
        unknown = [code for code in codes if code not in vocabulary]
        if unknown:
            raise RowError(_("Unknown %(what)s: %(values)s; use: %(codes)s.", what=str(what),
                             values=", ".join(f"“{code[:60]}”" for code in unknown[:5]), codes=", ".join(vocabulary)))
        return list(dict.fromkeys(codes))
    return parse


def _date(value: str):
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(_("Not a date: write it as YYYY-MM-DD, e.g. 2027-03-31.")) from None


def _capacity(value: str):
    value = value.strip()
    if not value:
        return None
    bounds = LIMITS["capacity"]
    if not value.isdigit() or not bounds.min <= int(value) <= bounds.max:
        raise RowError(_("A whole number from %(min)s to %(max)s, or empty when not limited.",
                         min=format_number(bounds.min), max=format_number(bounds.max)))
    return int(value)


def _email(value: str):
    value = value.strip().lower()
    if not value:
        return None
    if not email_is_valid(value):
        raise RowError(_("Not an e-mail address."))
    return value


def _yes_no(value: str):
    value = value.strip().lower()
    if value in ("", "no", "false"):
        return False
    if value in ("yes", "true"):
        return True
    raise RowError(_("Write yes or no."))


def _member_codes(value: str):
    return [code.upper() for code in _SPLIT.split(value.strip()) if code]


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any]
    required: bool
    help: Any


def _length_help(rule: str, more: str = "") -> LazyString:
    """The help of a text column, from its limits in field_rules.LIMITS, in the reader's language."""
    def help_text() -> str:
        bounds = LIMITS[rule]
        if not bounds.min:
            return _("at most %(max)s characters", max=format_number(bounds.max))
        text = _("%(min)s to %(max)s characters", min=format_number(bounds.min), max=format_number(bounds.max))
        return f"{text}; {more}" if more else text
    return LazyString(help_text)


_LINE_BREAKS = _l("line breaks allowed inside quotes")


# The columns offerings and needs both start with: the text and what it is about.
_DESCRIPTION_COLUMNS = (
    Column("title", _text("title"), True, _length_help("title")),
    Column("description", _text("description"), True, _length_help("description", _LINE_BREAKS)),
    Column("language", _one(TEXT_LANGUAGES, _l("language")), True, _l("language of the text: en, fr or es")),
    Column("policy_areas", _many(POLICY_AREAS, _l("policy area"), True), True, _l("codes separated by ;")),
    Column("support_kinds", _many(SUPPORT_KINDS, _l("kind of support"), True), True, _l("codes separated by ;")),
    Column("delivery_languages", _many(DELIVERY_LANGUAGES, _l("delivery language"), True), True,
           _l("codes separated by ;")),
    Column("beneficiaries", _many(BENEFICIARIES, _l("beneficiary"), False), False, _l("codes separated by ;")),
)

OFFERING_COLUMNS = _DESCRIPTION_COLUMNS + (
    Column("eligibility", _one(ELIGIBILITY, _l("eligibility"), "all_developing"), False,
           _l("all_developing (default), ldc_only, regions or members")),
    Column("eligible_regions", _many(REGIONS, _l("region"), False), False, _l("when eligibility is regions")),
    Column("eligible_members", _member_codes, False, _l("ISO codes, when eligibility is members")),
    Column("capacity", _capacity, False, _l("number of engagements; empty when not limited")),
    Column("deadline", _date, False, _l("application deadline, YYYY-MM-DD")),
    Column("contact_name", _text("contact_name", required=False), False, _length_help("contact_name")),
    Column("contact_email", _email, False, _l("an e-mail address")),
    Column("status", _one({"draft": 1, "published": 1}, _l("status"), "draft"), False,
           _l("draft (default) or published")),
)

NEED_COLUMNS = _DESCRIPTION_COLUMNS + (
    Column("start_date", _date, False, _l("desired start, YYYY-MM-DD")),
    Column("end_date", _date, False, _l("desired end, YYYY-MM-DD")),
    Column("priority", _one(PRIORITIES, _l("priority"), "medium"), False, _l("high, medium (default) or low")),
    Column("attributed", _yes_no, False, _l("yes: partners may see your member's name before a match; no (default)")),
    Column("status", _one({"draft": 1, "submitted": 1}, _l("status"), "draft"), False,
           _l("draft (default), or submitted for screening (delegates only)")),
)

COLUMNS = {"offerings": OFFERING_COLUMNS, "needs": NEED_COLUMNS}
