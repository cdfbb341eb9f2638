"""Figures for the facilitators' dashboard and for the non-attributable report shown to partners and the public.

Both are built by :func:`build_report` from the same queries. The facilitators' version is exact; the public
version names no member, drops themes shared by fewer than three members, counts activity per quarter instead
of per month, and suppresses every cell that describes fewer than three members, together with the cells that
would let a suppressed one be worked out by subtraction (:mod:`matchmaker.services.suppression`).
The tables live in services/report_tables.py; the cached report of the pages in services/report_cache.py.

What the words mean here:

* screened needs: needs a facilitator opened for matching, whatever happened next (open, matched, in
  progress, fulfilled);
* a proposal: a match the engine or a facilitator proposed (its creation date);
* an approval: a facilitator approved a proposal, introducing the parties (the audit event);
* an introduction: both parties accepted the introduction (the later of the two answers);
* completed: the match was recorded as completed (the audit event);
* an open need without a proposal: no current match (proposed or later, not rejected, superseded, withdrawn,
  declined or closed) that scores at least the matching threshold or was paired by hand.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from statistics import median

from flask import current_app
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import AuditEvent, Match, Member, Need, Offering
from matchmaker.reference import AREA_OPTIONS, POLICY_AREAS, REGIONS
from matchmaker.services import anonymity
from matchmaker.services.anonymity import NOT_STATED
from matchmaker.services.report_tables import Published, Table, count_table
from matchmaker.services.suppression import MIN_MEMBERS
from matchmaker.services.themes import Theme, ThemeInput, cluster, hidden_words

SCREENED_NEED_STATUSES = ("open", "matched", "in_progress", "fulfilled")
SERIES = ("proposed", "approved", "introduced", "completed")
LDC_GROUPS = ("ldc", "developing", "other")
DELAYS = ("approval", "introduction")
# Matches that no longer stand for a possible engagement.
DEAD_MATCH_STATUSES = ("rejected", "superseded", "withdrawn", "declined", "closed_no_result")


@dataclass
class Report:
    """Every figure of the dashboard (or of the public report) at one moment."""

    generated_at: datetime
    public: bool
    threshold: float
    period: str  # month | quarter
    tables: dict[str, Table]
    themes: list[Theme]
    theme_unmet: dict[int, int]
    theme_unmet_members: dict[int, int]
    supply_without_demand: list[str]
    small_themes: int = 0
    # Distinct counts: the dashboard shows all of them; the public report only those about offerings.
    summary: dict[str, int] = field(default_factory=dict)
    # Public: tables whose suppression could not be checked (every cell withheld), themes that failed.
    withheld_tables: list[str] = field(default_factory=list)
    themes_withheld: bool = False
    # Public editions: the edition's number (None for a report computed on the fly).
    edition: int | None = None

    def table(self, key: str) -> Table:
        return self.tables[key]


def _period(moment: datetime | None, period: str) -> str | None:
    if moment is None:
        return None
    if period == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return f"{moment.year}-{moment.month:02d}"


def _periods(first: str, last: str, period: str) -> list[str]:
    """Every period from ``first`` to ``last``, so that a month without activity shows as a zero."""
    out = []
    if period == "quarter":
        year, quarter = int(first[:4]), int(first[-1])
        while True:
            code = f"{year}-Q{quarter}"
            out.append(code)
            if code >= last:
                return out
            year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    year, month = int(first[:4]), int(first[5:])
    while True:
        code = f"{year}-{month:02d}"
        out.append(code)
        if code >= last:
            return out
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _days(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds() / 86400


MAX_PERIODS = {"month": 24, "quarter": 12}


@dataclass
class _Records:
    """What a report is computed from, read once: screened needs (as the reader may know them), matches, the
    approvals and completions of the audit log, published offerings, and each need's member."""

    needs: list
    matches: list
    events: list
    offerings: list
    member_of_need: dict[int, int]

    @property
    def need_by_id(self) -> dict:
        return {n.id: n for n in self.needs}


def _records(public: bool) -> _Records:
    rows = db.session.execute(
        select(Need.id, Need.member_id, Need.status, Need.policy_areas, Need.submitted_at, Need.created_at,
               Member.region, Member.is_ldc, Member.is_developing, Need.language, Need.delivery_languages,
               Need.attributed)
        .join(Member, Need.member_id == Member.id).where(Need.status.in_(SCREENED_NEED_STATUSES))).all()
    matches = db.session.execute(
        select(Match.id, Match.need_id, Match.offering_id, Match.status, Match.score, Match.origin,
               Match.created_at, Match.need_response, Match.offering_response, Match.need_responded_at,
               Match.offering_responded_at)).all()
    events = db.session.execute(
        select(AuditEvent.object_id, AuditEvent.action, AuditEvent.at)
        .where(AuditEvent.object_type == "match", AuditEvent.action.in_(("match.approve", "match.complete")))).all()
    offerings = db.session.execute(
        select(Offering.id, Offering.status, Offering.deadline, Offering.policy_areas)
        .where(Offering.status == "published")).all()
    member_of_need = dict(db.session.execute(select(Need.id, Need.member_id)).all())
    needs = [_as_read(row) for row in rows] if public else rows
    return _Records(needs, matches, events, offerings, member_of_need)


def _ldc_group(need) -> str:
    return "ldc" if need.is_ldc else "developing" if need.is_developing else "other"


def _demand_tables(needs: list, public: bool, columns_seen: Iterable[str]) -> dict[str, Table]:
    """Screened needs by policy area and region (a need counts once in each of its policy areas), and by LDC
    status."""
    regions = [*AREA_OPTIONS, NOT_STATED] if public else list(REGIONS)
    used_regions = {n.region for n in needs} | set(columns_seen)
    by_area_region = count_table(
        "needs_by_area_region", ((a, n.region, n.member_id) for n in needs for a in (n.policy_areas or ()) if a in
                                 POLICY_AREAS), list(POLICY_AREAS), [r for r in regions if r in used_regions],
        "policy_area", "region", row_totals=True, column_totals=True)
    by_ldc = count_table("needs_by_ldc", ((_ldc_group(n), "needs", n.member_id) for n in needs),
                         list(LDC_GROUPS), ["needs"], "ldc", "measure", column_totals=True)
    return {"needs_by_area_region": by_area_region, "needs_by_ldc": by_ldc}


@dataclass
class _Gaps:
    """Open needs without a live proposal above the threshold; offerings nobody was proposed to."""

    open_needs: list
    unmet: list
    available: list
    proposed_offerings: set[int]
    table: Table


def _gaps(records: _Records, threshold: float, today: date) -> _Gaps:
    live = [m for m in records.matches if m.status not in DEAD_MATCH_STATUSES]
    proposed_needs = {m.need_id for m in live if m.origin == "manual" or m.score >= threshold}
    proposed_offerings = {m.offering_id for m in live}
    open_needs = [n for n in records.needs if n.status == "open"]
    unmet = [n for n in open_needs if n.id not in proposed_needs]
    available = [o for o in records.offerings if o.deadline is None or o.deadline >= today]
    facts = [(a, "open_needs", n.member_id) for n in open_needs for a in (n.policy_areas or ())]
    facts += [(a, "unmet_needs", n.member_id) for n in unmet for a in (n.policy_areas or ())]
    supply = count_table("supply_demand", (f for f in facts if f[0] in POLICY_AREAS), list(POLICY_AREAS),
                         ["open_needs", "unmet_needs", "offerings", "idle_offerings"], "policy_area", "measure")
    for o in available:
        for a in o.policy_areas or ():
            if a in POLICY_AREAS:
                supply.values[(a, "offerings")] += 1
                if o.id not in proposed_offerings:
                    supply.values[(a, "idle_offerings")] += 1
    supply.offering_columns = ("offerings", "idle_offerings")
    return _Gaps(open_needs, unmet, available, proposed_offerings, supply)


def _earliest(found: dict[int, datetime], need_id: int, at: datetime) -> None:
    if need_id not in found or at < found[need_id]:
        found[need_id] = at


def _happenings(records: _Records) -> tuple[list[tuple[str, datetime, int]], dict[int, datetime],
                                            dict[int, datetime]]:
    """Every step of every match as (series, when, member), and each need's first approval and introduction."""
    happened: list[tuple[str, datetime, int]] = []
    first_introduction: dict[int, datetime] = {}
    for m in records.matches:
        happened.append(("proposed", m.created_at, m.need_id))
        if m.need_response == "accepted" and m.offering_response == "accepted" \
                and m.need_responded_at and m.offering_responded_at:
            introduced = max(m.need_responded_at, m.offering_responded_at)
            happened.append(("introduced", introduced, m.need_id))
            _earliest(first_introduction, m.need_id, introduced)
    match_need = {m.id: m.need_id for m in records.matches}
    first_approval: dict[int, datetime] = {}
    for object_id, action, at in records.events:
        need_id = match_need.get(object_id)
        if need_id is None:
            continue
        happened.append(("approved" if action == "match.approve" else "completed", at, need_id))
        if action == "match.approve":
            _earliest(first_approval, need_id, at)
    members = records.member_of_need
    happened = [(s, at, members[n]) for s, at, n in happened if at is not None and n in members]
    return happened, first_approval, first_introduction


def _activity_table(happened: list[tuple[str, datetime, int]], period: str, now: datetime) -> Table:
    """Activity over time, per month (per quarter in public), over the last MAX_PERIODS periods."""
    if happened:
        first = min(_period(at, period) for _, at, _ in happened)
        last = _period(now, period)
        span = _periods(first, max(last, first), period)[-MAX_PERIODS[period]:]
        facts = [(_period(at, period), s, member) for s, at, member in happened]
        facts = [f for f in facts if f[0] in set(span)]
    else:
        span, facts = [], []
    return count_table("activity", facts, span, list(SERIES), period, "series", column_totals=True)


def _delays_table(need_by_id: dict, firsts_by_code: dict[str, dict[int, datetime]]) -> Table:
    """Median days from a need's submission to its first approval and to its first introduction."""
    delays = Table(key="delays", row_kind="delay", column_kind="measure", rows=list(DELAYS),
                   columns=["median_days", "needs"], values={})
    for code, firsts in firsts_by_code.items():
        samples = []
        for need_id, at in firsts.items():
            need = need_by_id.get(need_id)
            days = _days(need.submitted_at or need.created_at, at) if need else None
            if days is not None:
                samples.append((days, need.member_id))
        delays.values[(code, "median_days")] = round(median(d for d, _ in samples), 1) if samples else 0
        delays.values[(code, "needs")] = len(samples)
        member_count = len({m for _, m in samples})
        delays.members[(code, "median_days")] = delays.members[(code, "needs")] = member_count
        by_member: dict[int, list[float]] = defaultdict(list)
        for days, member in samples:
            by_member[member].append(round(days, 1))
        delays.contributions[(code, "median_days")] = {m: sorted(d) for m, d in by_member.items()}
        delays.contributions[(code, "needs")] = {m: len(d) for m, d in by_member.items()}
    return delays


def _report_themes(open_needs: list, public: bool) -> tuple[list, bool]:
    """Themes shared among the open needs, and whether computing them failed (only tolerated in public)."""
    if not public:
        return _themes(open_needs), False
    try:
        return _themes(open_needs), False
    except Exception:  # noqa: BLE001 - an edition is published without themes rather than not at all
        current_app.logger.exception("themes could not be computed for the public report")
        return [], True


def _make_public(report: Report, earlier: Mapping[str, list[Published]] | None) -> None:
    """Suppress what describes too few members in every table (withholding a table that cannot be checked),
    and the unmet needs of a theme that too few members have."""
    for key, table in report.tables.items():
        try:
            table.apply_suppression(earlier=(earlier or {}).get(key, ()))
        except Exception:  # noqa: BLE001 - what cannot be checked is withheld, never published
            current_app.logger.exception("the %s table could not be made safe: withheld", key)
            table.suppressed = set(table.cells())
            report.withheld_tables.append(key)
    for number, members in report.theme_unmet_members.items():
        if 0 < members < MIN_MEMBERS:
            report.theme_unmet[number] = None


def build_report(public: bool, today: date | None = None, threshold: float | None = None,
                 now: datetime | None = None, earlier: Mapping[str, list[Published]] | None = None,
                 columns_seen: Iterable[str] = ()) -> Report:
    """Compute every figure; ``public`` gives the non-attributable version (an edition's content): a need counts
    under the region and LDC status partners read for it (services/anonymity.py), never finer, and what changed
    by too few members since the ``earlier`` editions of a table is withheld too. ``columns_seen``: regions that
    earlier editions showed, kept as columns (a column that vanished would read as zeros)."""
    today = today or date.today()
    now = now or datetime.now(UTC)
    threshold = current_app.config["MATCH_THRESHOLD"] if threshold is None else threshold
    period = "quarter" if public else "month"
    records = _records(public)
    need_by_id = records.need_by_id
    tables = _demand_tables(records.needs, public, columns_seen)
    gaps = _gaps(records, threshold, today)
    tables["supply_demand"] = gaps.table
    happened, first_approval, first_introduction = _happenings(records)
    tables["activity"] = _activity_table(happened, period, now)
    tables["delays"] = _delays_table(need_by_id, {"approval": first_approval, "introduction": first_introduction})
    # Themes shared by several members, among the open needs; how many of their needs have no proposal.
    themes, themes_failed = _report_themes(gaps.open_needs, public)
    unmet_ids = {n.id for n in gaps.unmet}
    theme_unmet = {t.number: sum(1 for i in t.need_ids if i in unmet_ids) for t in themes}
    theme_unmet_members = {t.number: len({need_by_id[i].member_id for i in t.need_ids if i in unmet_ids})
                           for t in themes}
    kept = [t for t in themes if len(t.members) >= MIN_MEMBERS] if public else themes
    report = Report(generated_at=now, public=public, threshold=threshold, period=period, tables=tables,
                    themes=kept, theme_unmet=theme_unmet, theme_unmet_members=theme_unmet_members,
                    supply_without_demand=[], small_themes=len(themes) - len(kept),
                    summary={"open_needs": len(gaps.open_needs), "unmet_needs": len(gaps.unmet),
                             "offerings": len(gaps.available),
                             "idle_offerings": sum(1 for o in gaps.available if o.id not in gaps.proposed_offerings)})
    if public:
        _make_public(report, earlier)
        report.themes_withheld = themes_failed
    supply = gaps.table
    report.supply_without_demand = [
        a for a in POLICY_AREAS if supply.value(a, "offerings") and supply.value(a, "open_needs") == 0]
    return report


@dataclass(frozen=True)
class _Read:
    """A screened need as anyone may read it (the public report): the region and LDC status partners are shown."""

    id: int
    member_id: int
    status: str
    policy_areas: list
    submitted_at: datetime | None
    created_at: datetime | None
    region: str
    is_ldc: bool
    is_developing: bool


def _as_read(row) -> _Read:
    if row.attributed:
        origin = anonymity.Origin(row.region, bool(row.is_ldc))
    else:
        origin = anonymity.shown(row.member_id, row.language, row.delivery_languages or ()).origin
    return _Read(id=row.id, member_id=row.member_id, status=row.status, policy_areas=row.policy_areas,
                 submitted_at=row.submitted_at, created_at=row.created_at, region=origin.column, is_ldc=origin.ldc,
                 is_developing=bool(row.is_developing))


def _themes(open_needs) -> list[Theme]:
    if len(open_needs) < 4:
        return []
    texts = {row.id: row for row in db.session.execute(
        select(Need.id, Need.title, Need.description, Need.language).where(Need.status == "open"))}
    inputs = [ThemeInput(id=n.id, title=texts[n.id].title, description=texts[n.id].description,
                         language=texts[n.id].language, member=n.member_id, region=n.region,
                         policy_areas=tuple(n.policy_areas or ())) for n in open_needs if n.id in texts]
    names = [name for row in db.session.execute(select(Member.name_en, Member.name_fr, Member.name_es))
             for name in row]
    return cluster(inputs, hide=hidden_words(names))


def theme_areas(report: Report, theme) -> list[str]:
    """A theme's main policy areas; in public, only those that at least MIN_MEMBERS of its members share."""
    if hasattr(theme, "areas"):  # an edition's theme: already chosen
        return list(theme.areas)
    if report.public:
        return [a for a, members in theme.area_members if members >= MIN_MEMBERS][:3]
    return list(theme.policy_areas[:3])
