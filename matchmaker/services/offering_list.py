"""The lists of offerings: which offerings a user may list (permissions.py), when a published offering counts as
expired, and the filters of the list page and the API, written once; the page and the API call the same function
with the same filters."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select

from matchmaker.models import Offering, Organisation, User
from matchmaker.permissions import visible_offerings_condition
from matchmaker.services.json_lists import json_list_contains


@dataclass(frozen=True)
class OfferingFilters:
    """What a list of offerings is narrowed to; None (or empty) filters nothing."""

    q: str | None = None
    # A stored status, or "expired" / "published" as users see them (Offering.display_status).
    status: str | None = None
    policy_area: str | None = None
    language: str | None = None  # a delivery language
    organisation: int | None = None
    mine: bool | None = None  # only the user's organisation's

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> OfferingFilters:
        """The filters among ``values`` (the API's query arguments), empty ones left out."""
        return cls(**{f.name: values.get(f.name) or None for f in fields(cls)})


def expired(today: date) -> ColumnElement[bool]:
    """Published, but its application deadline has passed (Offering.is_expired, as a condition)."""
    return and_(Offering.status == "published", Offering.deadline < today)


def is_open(today: date) -> ColumnElement[bool]:
    """Published and not expired (Offering.is_open, as a condition)."""
    return and_(Offering.status == "published", or_(Offering.deadline.is_(None), Offering.deadline >= today))


def open_first(today: date) -> tuple:
    """The list page's order: open offerings first, then the latest changes."""
    return (is_open(today).desc(), Offering.updated_at.desc(), Offering.id.desc())


BY_ID = (Offering.id,)


def visible_offerings_query(user: User) -> Select:
    """Offerings this user may list (permissions.visible_offerings_condition), joined with their organisation."""
    return select(Offering).join(Organisation).where(visible_offerings_condition(user))


def _status_condition(status: str, today: date) -> ColumnElement[bool]:
    if status == "expired":
        return expired(today)
    if status == "published":
        return is_open(today)
    return Offering.status == status


def offerings_query(user: User, filters: OfferingFilters, today: date, order: tuple | None = None) -> Select:
    """The offerings ``user`` may list, narrowed by ``filters``, in ``order`` (by default open ones first)."""
    query = visible_offerings_query(user)
    if filters.q:
        like = f"%{filters.q}%"
        query = query.where(or_(Offering.title.ilike(like), Offering.description.ilike(like)))
    if filters.status:
        query = query.where(_status_condition(filters.status, today))
    if filters.policy_area:
        query = query.where(json_list_contains(Offering.policy_areas, filters.policy_area))
    if filters.language:
        query = query.where(json_list_contains(Offering.delivery_languages, filters.language))
    if filters.organisation:
        query = query.where(Offering.organisation_id == filters.organisation)
    if filters.mine:
        query = query.where(Offering.organisation_id == (user.organisation_id or 0))
    return query.order_by(*(order or open_first(today)))
