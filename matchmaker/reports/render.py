"""Turning a report's tables into what users read: labels in their language, charts, data tables and CSV files."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Response
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from matchmaker import charts
from matchmaker.imports.spreadsheet import write_csv
from matchmaker.reference import AREA_OPTIONS, POLICY_AREAS, REGIONS
from matchmaker.services.anonymity import NOT_STATED
from matchmaker.services.report_tables import TOTAL, Table
from matchmaker.services.reports import Report, theme_areas
from matchmaker.services.suppression import MIN_MEMBERS

# Regions, the wider areas an anonymous need may be described by, and "not stated" (services/anonymity.py).
REGION_LABELS: dict[str, Any] = {**AREA_OPTIONS, NOT_STATED: _l("Region not stated")}
LDC_LABELS = {
    "ldc": _l("Least developed countries (LDCs)"),
    "developing": _l("Other developing members"),
    "other": _l("Other members and observers"),
}
MEASURE_LABELS = {
    "needs": _l("Needs"),
    "open_needs": _l("Open needs"),
    "unmet_needs": _l("Open needs without a proposal"),
    "offerings": _l("Published offerings"),
    "idle_offerings": _l("Offerings without a proposal"),
    "median_days": _l("Median days"),
}
SERIES_LABELS = {
    "proposed": _l("Proposals"),
    "approved": _l("Approvals (parties introduced)"),
    "introduced": _l("Introductions accepted by both parties"),
    "completed": _l("Completed matches"),
}
DELAY_LABELS = {
    "approval": _l("From submission to the first approval"),
    "introduction": _l("From submission to the first accepted introduction"),
}
KIND_HEADERS = {
    "policy_area": _l("Policy area"),
    "region": _l("Region"),
    "ldc": _l("Status"),
    "month": _l("Month"),
    "quarter": _l("Quarter"),
    "delay": _l("Delay"),
    "measure": _l("Figure"),
    "series": _l("Figure"),
}
TITLES = {
    "needs_by_area_region": _l("Needs by policy area and region"),
    "needs_by_ldc": _l("Needs by LDC status"),
    "supply_demand": _l("Demand and supply by policy area"),
    "activity": _l("Proposals, approvals, introductions and completed matches over time"),
    "delays": _l("Median days from a need's submission"),
    "themes": _l("Themes shared by several members"),
}
NOTES = {
    "needs_by_area_region": _l("Needs screened by a facilitator (open, matched, in progress or fulfilled). A need "
                               "counts once in each of its policy areas, so the totals add up these counts."),
    "needs_by_ldc": _l("Needs screened by a facilitator, by the status of the member that expressed them."),
    "supply_demand": _l("Open needs, and those of them with no current proposal scoring at least the matching "
                        "threshold; published offerings still open for applications, and those of them that "
                        "no proposal involves. A need or an offering counts once in each of its policy areas."),
    "activity": _l("Proposals made, proposals approved by a facilitator (the parties are then introduced), "
                   "introductions accepted by both parties, and matches completed."),
    "delays": _l("For each need, the days from its submission to its first approved match and to its first "
                 "introduction accepted by both parties; the median of these."),
    "themes": _l("Open needs grouped by what their texts talk about (in any of the three languages); a theme is "
                 "named by its most characteristic terms."),
}
TABLE_KEYS = ("needs_by_area_region", "needs_by_ldc", "supply_demand", "activity", "delays")
CSV_KEYS = TABLE_KEYS + ("themes",)


def _period_label(code: str, kind: str) -> str:
    if kind == "quarter":
        return _("Q%(quarter)s %(year)s", quarter=code[-1], year=code[:4])
    return format_date(date(int(code[:4]), int(code[5:7]), 1), "MMM yyyy")


def label(code: str, kind: str) -> str:
    """What a row or column code reads as, in the current language."""
    if code == TOTAL:
        return _("Total")
    vocabulary: dict[str, Any] | None = {
        "policy_area": POLICY_AREAS, "region": REGION_LABELS, "ldc": LDC_LABELS, "measure": MEASURE_LABELS,
        "series": SERIES_LABELS, "delay": DELAY_LABELS}.get(kind)
    if vocabulary is not None:
        return str(vocabulary.get(code, code))
    if kind in ("month", "quarter"):
        return _period_label(code, kind)
    return code


@dataclass
class ShownTable:
    """A table as a page shows it: its title, note, header and rows of (label, [(value or None), ...])."""

    key: str
    title: str
    note: str
    header: list[str]
    rows: list[tuple[str, list[float | None]]]
    has_total_row: bool
    has_total_column: bool
    suppressed: int
    withheld: int = 0  # suppressed only because they changed by too few members since an earlier edition


def shown(table: Table) -> ShownTable:
    header = [str(KIND_HEADERS.get(table.row_kind, ""))] + [label(c, table.column_kind) for c in table.columns]
    rows = [(label(r, table.row_kind), [table.value(r, c) for c in table.columns]) for r in table.rows]
    return ShownTable(key=table.key, title=str(TITLES[table.key]), note=str(NOTES[table.key]), header=header,
                      rows=rows, has_total_row=table.column_totals, has_total_column=table.row_totals,
                      suppressed=len(table.suppressed), withheld=table.withheld_count)


def _items(table: Table, columns: list[str]) -> list[tuple[str, list]]:
    return [(label(r, table.row_kind), [table.value(r, c) for c in columns]) for r in table.rows if r != TOTAL]


def chart_for(report: Report, key: str) -> list[Markup]:
    """The charts of one table (the supply table has two: demand against supply, and the gaps)."""
    table = report.table(key)
    title = str(TITLES[key])
    if key == "needs_by_area_region":
        regions = [c for c in table.columns if c != TOTAL]
        return [charts.bars(title, _("Stacked bars: for each policy area, the needs of each region; the data "
                                     "table below gives every figure."),
                            _items(table, regions), [label(c, "region") for c in regions], stacked=True,
                            totals=[table.value(r, TOTAL) for r in table.rows if r != TOTAL],
                            hidden_label=_("suppressed"))]
    if key == "needs_by_ldc":
        return [charts.bars(title, _("Bars: the needs of each group of members; the data table below gives every "
                                     "figure."), _items(table, ["needs"]), [label("needs", "measure")])]
    if key == "supply_demand":
        first = ["open_needs", "offerings"]
        second = ["unmet_needs", "idle_offerings"]
        return [charts.bars(_("Open needs and published offerings by policy area"),
                            _("Paired bars: for each policy area, open needs and published offerings; the data "
                              "table below gives every figure."),
                            _items(table, first), [label(c, "measure") for c in first]),
                charts.bars(_("Gaps by policy area"),
                            _("Paired bars: for each policy area, open needs without a proposal and offerings "
                              "without a proposal; the data table below gives every figure."),
                            _items(table, second), [label(c, "measure") for c in second])]
    if key == "activity":
        periods = [r for r in table.rows if r != TOTAL]
        if not periods:
            return []
        series = [(label(s, "series"), [table.value(p, s) for p in periods]) for s in table.columns]
        return [charts.lines(title, _("Lines: for each period, the number of proposals, approvals, accepted "
                                      "introductions and completed matches; the data table below gives every "
                                      "figure."), [label(p, table.row_kind) for p in periods], series)]
    return []


def themes_chart(report: Report) -> Markup | None:
    if not report.themes:
        return None
    items = [(_("Theme %(number)d: %(name)s", number=t.number, name=t.name),
              [theme_size(t)[1], report.theme_unmet.get(t.number)]) for t in report.themes]
    return charts.bars(str(TITLES["themes"]), _("Paired bars: for each theme, the members that share it and its "
                                                 "open needs without a proposal; the table below gives every figure."),
                       items, [_("Members"), str(MEASURE_LABELS["unmet_needs"])])


def table_csv(table: Table) -> str:
    """The table as a spreadsheet opens it: suppressed cells say so, and no cell can run as a formula."""
    view = shown(table)
    mark = _("suppressed")
    return write_csv(view.header, ([row_label] + [mark if v is None else v for v in values]
                                   for row_label, values in view.rows))


def themes_csv(report: Report, member_names: Callable[[Any], list[str]] | None = None) -> str:
    header = [_("Theme"), _("Terms"), _("Policy areas"), _("Needs"), _("Members"),
              str(MEASURE_LABELS["unmet_needs"]), _("Region with most members")]
    if member_names is not None:
        header.append(_("Members sharing it"))
    rows = []
    for theme in report.themes:
        unmet = report.theme_unmet.get(theme.number)
        region = theme.main_region
        needs, members = theme_size(theme)
        row = [theme.number, "; ".join(theme.terms), "; ".join(str(POLICY_AREAS[a]) for a in theme_areas(report, theme)
                                                             if a in POLICY_AREAS),
               needs, members, _("suppressed") if unmet is None else unmet,
               label(region[0], "region") if shown_region(report, theme) else ""]
        if member_names is not None:
            row.append("; ".join(member_names(theme)))
        rows.append(row)
    return write_csv(header, rows)


def shown_region(report: Report, theme) -> tuple[str, int] | None:
    """A theme's region with most members, and how many; in public, only when at least MIN_MEMBERS are there."""
    region = theme.main_region
    return region if region and (not report.public or region[1] >= MIN_MEMBERS) else None


def theme_size(theme) -> tuple[int, int]:
    """(needs, members) of a theme, computed or as an edition stored it."""
    if hasattr(theme, "need_count"):
        return theme.need_count, theme.member_count
    return len(theme.need_ids), len(theme.members)


def session_links(theme) -> list[tuple[str, str]]:
    """(label, address) of the actions that turn a theme into a matchmaking session or a regional workshop.

    The sessions page takes its first values from the query string (title, theme, policy_area repeated).
    """
    areas = [("policy_area", a) for a in theme.policy_areas[:3]]
    links = [(_("Plan a matchmaking session on this theme"), "/sessions/new?" + urlencode(
        [("title", _("Matchmaking session: %(theme)s", theme=theme.name)), ("theme", theme.name)] + areas))]
    region = theme.main_region
    if region and region[1] >= 2:
        name = str(REGIONS.get(region[0], region[0]))
        links.append((_("Plan a regional workshop for %(region)s", region=name), "/sessions/new?" + urlencode(
            [("title", _("Regional workshop: %(theme)s (%(region)s)", theme=theme.name, region=name)),
             ("theme", theme.name)] + areas + [("region", region[0])])))
    return links


def download_csv(body: str, filename: str) -> Response:
    """A CSV file the browser saves rather than shows."""
    return Response(body, mimetype="text/csv", content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
