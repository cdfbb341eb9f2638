"""Editions of the public report: published by a facilitator (or a schedule), then fixed.

An edition stores what readers get (``content``: codes, published values, themes, what was withheld) and
renders from it alone, so the report and its CSV files read the same until the next edition: a reader comparing
two readings learns nothing from a change made in between. The change from one edition to the next passes the
same rules as an edition does: a cell that changed by 1 or 2 members since any earlier edition is withheld, and
the attacker's interval for it keeps overlapping what that edition told them (services/suppression.py), so
subtracting two editions gives nobody away. ``private`` keeps, for the next editions, each cell's contribution per
member and each suppressed cell's interval; it is never shown. The facilitators' dashboard stays live.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from matchmaker.errors import DomainError, NotPermitted
from matchmaker.extensions import db
from matchmaker.models import ReportEdition, User
from matchmaker.permissions import can
from matchmaker.services.audit import record
from matchmaker.services.report_tables import Published, Table
from matchmaker.services.reports import Report, build_report, theme_areas
from matchmaker.services.suppression import MIN_MEMBERS, ZEROS_MAY_BE_SUPPRESSED


def _cell_list(cells: dict[tuple[str, str], Any]) -> list[list]:
    return [[row, column, value] for (row, column), value in cells.items()]


def _cell_dict(items: list[list]) -> dict[tuple[str, str], Any]:
    return {(row, column): value for row, column, value in items}


def _table_content(table: Table) -> dict:
    return {"row_kind": table.row_kind, "column_kind": table.column_kind, "rows": table.rows,
            "columns": table.columns, "row_totals": table.row_totals, "column_totals": table.column_totals,
            "offering_columns": list(table.offering_columns),
            "cells": _cell_list({cell: table.value(*cell) for cell in table.cells()}),
            "withheld": table.withheld_count}


def _table_private(table: Table) -> dict:
    return {"contributions": _cell_list({cell: {str(m): v for m, v in by_member.items()}
                                         for cell, by_member in table.contributions.items()}),
            "intervals": _cell_list({cell: [low, None if high == math.inf else high]
                                     for cell, (low, high) in table.intervals.items()})}


def _theme_content(report: Report, theme) -> dict:
    region = theme.main_region
    return {"number": theme.number, "terms": list(theme.terms), "needs": len(theme.need_ids),
            "members": len(theme.members), "areas": theme_areas(report, theme),
            "region": list(region) if region and region[1] >= MIN_MEMBERS else None,
            "unmet": report.theme_unmet.get(theme.number)}


def content_of(report: Report, number: int, published_at: datetime) -> dict:
    return {
        "number": number, "published_at": published_at.isoformat(), "period": report.period,
        "threshold": report.threshold, "zeros_may_be_suppressed": ZEROS_MAY_BE_SUPPRESSED,
        "tables": {key: _table_content(table) for key, table in report.tables.items()},
        "themes": [_theme_content(report, t) for t in report.themes], "small_themes": report.small_themes,
        "summary": {k: report.summary[k] for k in ("offerings", "idle_offerings")},
        "supply_without_demand": report.supply_without_demand,
        "withheld_tables": report.withheld_tables, "themes_withheld": report.themes_withheld,
    }


def earlier_tables(editions: list[ReportEdition]) -> dict[str, list[Published]]:
    """What each earlier edition published of each table, with its private part."""
    found: dict[str, list[Published]] = {}
    for edition in editions:
        for key, shown in edition.content["tables"].items():
            private = edition.private["tables"].get(key, {})
            intervals = {cell: (low, math.inf if high is None else high)
                         for cell, (low, high) in _cell_dict(private.get("intervals", [])).items()}
            contributions = {cell: {int(m): v for m, v in by_member.items()}
                             for cell, by_member in _cell_dict(private.get("contributions", [])).items()}
            found.setdefault(key, []).append(Published(values=_cell_dict(shown["cells"]), intervals=intervals,
                                                       contributions=contributions))
    return found


def editions() -> list[ReportEdition]:
    """Every edition, the latest first."""
    return list(db.session.scalars(select(ReportEdition).order_by(ReportEdition.number.desc())))


def latest() -> ReportEdition | None:
    return db.session.scalar(select(ReportEdition).order_by(ReportEdition.number.desc()).limit(1))


def get(number: int) -> ReportEdition | None:
    return db.session.scalar(select(ReportEdition).where(ReportEdition.number == number))


def publish(actor: User | None, now: datetime | None = None, today: date | None = None) -> ReportEdition:
    """A facilitator publishes a new edition of the public report (checked, audited; the view commits)."""
    if not can(actor, "report.publish"):
        raise NotPermitted(_("Only facilitators publish the report."))
    now = now or datetime.now(UTC)
    before = list(reversed(editions()))
    seen = {c for e in before for c in e.content["tables"].get("needs_by_area_region", {}).get("columns", ())}
    report = build_report(public=True, now=now, today=today or now.date(), earlier=earlier_tables(before),
                          columns_seen=seen - {"total"})
    number = (db.session.scalar(select(func.max(ReportEdition.number))) or 0) + 1
    edition = ReportEdition(number=number, published_at=now, published_by=actor,
                            content=content_of(report, number, now),
                            private={"tables": {k: _table_private(t) for k, t in report.tables.items()}})
    db.session.add(edition)
    try:
        db.session.flush()
    except IntegrityError as error:
        raise DomainError(_("Another edition was published at the same moment: reload the page to see it.")) \
            from error
    withheld = {k: t["withheld"] for k, t in edition.content["tables"].items() if t["withheld"]}
    record(actor, "report.publish", edition, number=number, withheld=withheld,
           withheld_tables=report.withheld_tables, themes_withheld=report.themes_withheld)
    return edition


def due(today: date) -> bool:
    """Whether the quarter of ``today`` has no edition yet (the schedule publishes one per quarter)."""
    last = latest()
    if last is None:
        return True
    published = last.published_at.astimezone(UTC).date()
    return (published.year, (published.month - 1) // 3) != (today.year, (today.month - 1) // 3)


@dataclass
class PublishedTheme:
    """A theme as an edition stored it: counts and labels only."""

    number: int
    terms: tuple[str, ...]
    need_count: int
    member_count: int
    areas: list[str]
    main_region: tuple[str, int] | None

    @property
    def name(self) -> str:
        return ", ".join(self.terms[:3])


def report_of(edition: ReportEdition) -> Report:
    """The edition as a report the pages and CSV files render (nothing is recomputed)."""
    content = edition.content
    tables = {}
    for key, shown in content["tables"].items():
        cells = _cell_dict(shown["cells"])
        table = Table(key=key, row_kind=shown["row_kind"], column_kind=shown["column_kind"], rows=shown["rows"],
                      columns=shown["columns"], values={c: (v or 0) for c, v in cells.items()},
                      row_totals=shown["row_totals"], column_totals=shown["column_totals"],
                      suppressed={c for c, v in cells.items() if v is None},
                      offering_columns=tuple(shown["offering_columns"]), withheld_count=shown["withheld"])
        tables[key] = table
    themes = [PublishedTheme(number=t["number"], terms=tuple(t["terms"]), need_count=t["needs"],
                             member_count=t["members"], areas=t["areas"],
                             main_region=tuple(t["region"]) if t["region"] else None) for t in content["themes"]]
    return Report(generated_at=datetime.fromisoformat(content["published_at"]), public=True,
                  threshold=content["threshold"], period=content["period"], tables=tables, themes=themes,
                  theme_unmet={t["number"]: t["unmet"] for t in content["themes"]}, theme_unmet_members={},
                  supply_without_demand=content["supply_without_demand"], small_themes=content["small_themes"],
                  summary=content["summary"], withheld_tables=content["withheld_tables"],
                  themes_withheld=content["themes_withheld"], edition=content["number"])
