"""Conditions on the JSON list columns (policy areas, languages...), the same on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import ColumnElement, String, cast


def json_list_contains(column, code: str) -> ColumnElement[bool]:
    """A JSON list column containing ``code``."""
    return cast(column, String).contains(f'"{code}"')
