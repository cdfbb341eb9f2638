"""The lists of needs: which needs a user may list (permissions.py) and the filters of the list page and the API,
written once; the page and the API call the same function with the same filters."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Select, or_, select

from matchmaker.extensions import db
from matchmaker.models import Member, Need, User
from matchmaker.permissions import can, visible_needs_condition
from matchmaker.services import anonymity
from matchmaker.services.json_lists import json_list_contains


@dataclass(frozen=True)
class NeedFilters:
    """What a list of needs is narrowed to; None (or empty) filters nothing."""

    q: str | None = None
    status: str | None = None
    policy_area: str | None = None
    region: str | None = None  # a region, or a wider area of anonymity.AREA_GROUPS
    ldc: bool | None = None
    language: str | None = None  # the language of the text

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> NeedFilters:
        """The filters among ``values`` (the API's query arguments), empty ones left out."""
        return cls(**{f.name: values.get(f.name) or None for f in fields(cls) if f.name != "ldc"},
                      ldc=values.get("ldc"))


# The list page shows the latest changes first; the API pages in a stable order clients can walk.
RECENT_FIRST = (Need.updated_at.desc(), Need.id.desc())
BY_ID = (Need.id,)


def visible_needs_query(user: User) -> Select:
    """Needs this user may list (permissions.visible_needs_condition), joined with their member."""
    return select(Need).join(Member).where(visible_needs_condition(user))


def needs_query(user: User, filters: NeedFilters, order=RECENT_FIRST) -> Select:
    """The needs ``user`` may list, narrowed by ``filters``, in ``order``."""
    query = visible_needs_query(user)
    if filters.q:
        like = f"%{filters.q}%"
        query = query.where(or_(Need.title.ilike(like), Need.description.ilike(like)))
    if filters.status:
        query = query.where(Need.status == filters.status)
    if filters.policy_area:
        query = query.where(json_list_contains(Need.policy_areas, filters.policy_area))
    if filters.language:
        query = query.where(Need.language == filters.language)
    return filter_origin(query, user, filters.region, filters.ldc).order_by(*order)


def filter_origin(query: Select, user: User, area: str | None, ldc: bool | None = None) -> Select:
    """Needs from ``area`` (a region or a group of regions) and, when given, from an LDC or not, as ``user`` reads
    them: staff and delegates know every member they see; partners filter on what they are shown about an
    anonymous need (services/anonymity.py), so that a count never says more than the descriptions do."""
    if not area and ldc is None:
        return query
    if can(user, "need.filter_by_member"):
        if area:
            query = query.where(Member.region.in_(anonymity.AREA_GROUPS.get(area, (area,))))
        return query if ldc is None else query.where(Member.is_ldc.is_(ldc))
    rows = db.session.execute(query.with_only_columns(
        Need.id, Need.member_id, Member.region, Member.is_ldc, Need.language, Need.delivery_languages)).all()
    return query.where(Need.id.in_(anonymity.ids_shown_as(user, rows, area, ldc)))
