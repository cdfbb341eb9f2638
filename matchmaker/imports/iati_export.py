"""Writing offerings, and the introductions both parties accepted, as IATI 2.03 activities (the official schema)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from lxml import etree
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.imports.iati import XML_LANG, activity_identifier, reporting_org_ref, sector_mapping
from matchmaker.models import AuditEvent, Match, Member, Offering
from matchmaker.reference import MATCH_STATUS_LABELS, OUTCOME_LABELS, POLICY_AREAS
from matchmaker.services import anonymity
from matchmaker.services.match_queries import ACCEPTED_STATUSES
from matchmaker.services.suppression import MIN_MEMBERS

REGION_EXPORT = {"africa": "298", "asia": "798", "pacific": "889", "latin_america": "489", "caribbean": "1031",
                 "middle_east": "589", "europe": "89", "cis": "619", "north_america": "498"}
# Our organisation kinds as IATI OrganisationType codes.
ORGANISATION_TYPES = {"intergovernmental": "40", "bilateral_donor": "10", "development_bank": "40", "ngo": "21",
                      "private_sector": "70", "academia": "80"}
STATUS_EXPORT = {"draft": "1", "published": "2", "closed": "4"}


# ---- writing ---------------------------------------------------------------------------------------------------

def _narrative(parent, tag: str, text: str, language: str | None = None):
    element = etree.SubElement(parent, tag)
    narrative = etree.SubElement(element, "narrative")
    if language:
        narrative.set(XML_LANG, language)
    narrative.text = text
    return element


def _percentages(count: int) -> list[int]:
    base, rest = divmod(100, count)
    return [base + (1 if index < rest else 0) for index in range(count)]


def _header(offering: Offering, attributes: dict[str, str], identifier: str):
    """An iati-activity with its identifier and reporting organisation (the offering's)."""
    org = offering.organisation
    activity = etree.Element("iati-activity", attributes)
    etree.SubElement(activity, "iati-identifier").text = identifier
    reporting = _narrative(activity, "reporting-org", offering.reporting_org_name or org.name)
    reporting.set("ref", reporting_org_ref(offering))
    reporting.set("type", ORGANISATION_TYPES.get(org.kind, "90"))
    return activity


def _participating(activity, offering: Offering) -> None:
    participating = _narrative(activity, "participating-org", offering.organisation.name)
    participating.set("role", "4")  # implementing
    participating.set("type", ORGANISATION_TYPES.get(offering.organisation.kind, "90"))


def _sectors(activity, areas: Iterable[str]) -> None:
    """The DAC sectors the policy areas map to (vocabulary 1), then the policy areas themselves (vocabulary 99)."""
    mapping = sector_mapping()
    areas = list(areas)
    dac = list(dict.fromkeys(mapping.export[area][0] for area in areas if area in mapping.export))
    for code, share in zip(dac, _percentages(len(dac)) if dac else [], strict=True):
        etree.SubElement(activity, "sector", vocabulary="1", code=code, percentage=str(share))
    own = [area for area in areas if area in POLICY_AREAS]
    for code, share in zip(own, _percentages(len(own)) if own else [], strict=True):
        sector = _narrative(activity, "sector", str(POLICY_AREAS[code]))
        sector.attrib.update({"vocabulary": "99", "code": code, "percentage": str(share)})


def _offering_status_and_dates(activity, offering: Offering) -> None:
    status = offering.iati_activity_status if (
        offering.iati_activity_status and STATUS_EXPORT[offering.status] in ("1", "2")
        and offering.iati_activity_status in ("1", "2")) else STATUS_EXPORT[offering.status]
    etree.SubElement(activity, "activity-status", code=status)
    start = offering.start_date or (offering.published_at or offering.created_at).date()
    etree.SubElement(activity, "activity-date", {"type": "2" if offering.start_date is None and offering.published_at
                                                 else "1", "iso-date": start.isoformat()})
    if offering.end_date:
        etree.SubElement(activity, "activity-date", {"type": "3", "iso-date": offering.end_date.isoformat()})


def _contact(activity, offering: Offering) -> None:
    if not (offering.contact_name or offering.contact_email):
        return
    contact = etree.SubElement(activity, "contact-info", type="1")
    _narrative(contact, "organisation", offering.organisation.name)
    if offering.contact_name:
        _narrative(contact, "person-name", offering.contact_name)
    if offering.contact_email:
        etree.SubElement(contact, "email").text = offering.contact_email


def _recipients(activity, offering: Offering, members: dict[str, str]) -> None:
    """The countries or regions the offering is open to (998, developing countries, when it is open to all)."""
    if offering.eligibility == "members" and offering.eligible_members:
        codes = [code for code in offering.eligible_members if code in members]
        for code, share in zip(codes, _percentages(len(codes)) if codes else [], strict=True):
            country = etree.SubElement(activity, "recipient-country", code=code, percentage=str(share))
            etree.SubElement(country, "narrative").text = members[code]
    elif offering.eligibility == "regions" and offering.eligible_regions:
        codes = list(dict.fromkeys(REGION_EXPORT[r] for r in offering.eligible_regions if r in REGION_EXPORT))
        for code, share in zip(codes, _percentages(len(codes)), strict=True):
            etree.SubElement(activity, "recipient-region", code=code, vocabulary="1", percentage=str(share))
    else:
        etree.SubElement(activity, "recipient-region", code="998", vocabulary="1", percentage="100")


def _activity(offering: Offering, members: dict[str, str]):
    updated = offering.updated_at.astimezone(UTC).replace(microsecond=0)
    activity = _header(offering, {"last-updated-datetime": updated.isoformat(), XML_LANG: offering.language,
                                  "default-currency": "USD"}, activity_identifier(offering))
    _narrative(activity, "title", offering.title)
    _narrative(activity, "description", offering.description).set("type", "1")
    _participating(activity, offering)
    _offering_status_and_dates(activity, offering)
    _contact(activity, offering)
    _recipients(activity, offering, members)
    _sectors(activity, offering.policy_areas)
    return activity


def export_activities(offerings: Iterable[Offering]) -> bytes:
    """IATI 2.03 activity XML for these offerings."""
    members = {m.code: m.name_en for m in db.session.scalars(select(Member))}
    root = etree.Element("iati-activities", {
        "version": "2.03", "generated-datetime": datetime.now(UTC).replace(microsecond=0).isoformat()})
    for offering in offerings:
        root.append(_activity(offering, members))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---- approved matches ------------------------------------------------------------------------------------------
#
# Each introduction (a match a facilitator approved) is published as a child activity (hierarchy 2) of its
# offering's activity, which the same file carries as the parent (hierarchy 1). The reporting organisation is the
# offering's organisation: the engagement is part of its programme. The outcome is the child's activity-status,
# dates (introduction, start of delivery, end) and a qualitative outcome result.
#
# An IATI file is published for anyone to read, so it follows the rules of public reports (PRODUCT.md,
# Confidentiality): no member is named, and only introductions both parties accepted are published (with their
# later stages), never one a party declined or a facilitator rejected. The recipient is a DAC region code that at
# least MIN_MEMBERS eligible members fit, also knowing the parent's eligibility (an offering for LDCs, for some
# regions or members) and the rules (services/anonymity.py): the member's region, "America, regional" for the
# Americas, or "developing countries, unspecified" (998). The need's own text and the parties' free-text notes
# (meetings are held under the Chatham House rule) are left out. The parent keeps the countries its partner made
# eligible (its own public choice), so the engagements of an offering open to fewer than MIN_MEMBERS members are
# left out.

# Match status -> IATI ActivityStatus: accepted and not yet delivering = 1 pipeline/identification,
# in delivery = 2 implementation, completed = 4 closed, ended without result after a meeting = 5 cancelled.
MATCH_ACTIVITY_STATUS = {"accepted": "1", "meeting_held": "1", "agreement_reached": "1", "in_delivery": "2",
                         "completed": "4", "closed_no_result": "5"}
# DAC region codes of the wider areas (vocabulary 1): 498 "America, regional"; the others have none.
GROUP_EXPORT = {"americas": "498"}
IATI_LANGUAGES = ("en", "fr", "es")


def _translated(parent, tag: str, message) -> Any:
    """An element with one narrative per working language; ``message`` is called in each language's locale."""
    element = etree.SubElement(parent, tag)
    for language in IATI_LANGUAGES:
        with force_locale(language):
            text = str(message())
        narrative = etree.SubElement(element, "narrative")
        if language != "en":
            narrative.set(XML_LANG, language)
        narrative.text = text
    return element


def _match_identifier(match: Match) -> str:
    return f"{activity_identifier(match.offering)}-M{match.id}"


def _stage_dates(match_ids: list[int]) -> dict[int, dict[str, date]]:
    """When each match was introduced, went into delivery and ended, from the audit log."""
    ends = ("match.complete", "match.close", "match.decline", "match.meeting_held")
    wanted = ("match.approve", "match.delivery") + ends
    found: dict[int, dict[str, date]] = {}
    for start in range(0, len(match_ids), 500):
        rows = db.session.execute(select(AuditEvent.object_id, AuditEvent.action, AuditEvent.at, AuditEvent.detail)
                                  .where(AuditEvent.object_type == "match",
                                         AuditEvent.object_id.in_(match_ids[start:start + 500]),
                                         AuditEvent.action.in_(wanted)).order_by(AuditEvent.at, AuditEvent.id))
        for object_id, action, at, detail in rows:
            day = at.astimezone(UTC).date()
            stages = found.setdefault(object_id, {})
            if action == "match.approve":
                stages.setdefault("introduced", day)
            elif action == "match.delivery":
                stages["delivery"] = day
            elif action != "match.meeting_held" or (detail or {}).get("to") == "closed_no_result":
                stages["ended"] = day
    return found


def _region_chain(member: Member) -> tuple[str, ...]:
    group = anonymity.GROUP_OF.get(member.region, member.region)
    steps = [REGION_EXPORT.get(member.region, "998"), GROUP_EXPORT.get(group, "998"), "998"]
    return tuple(dict.fromkeys(steps))


class RecipientRegions:
    """The DAC region published for each engagement: one that at least MIN_MEMBERS eligible members fit, among
    those the offering is open to (services/anonymity.recode, so that the rules give nothing away either)."""

    def __init__(self):
        self.members = list(db.session.scalars(select(Member)))
        self._by_offering: dict[int, dict[int, str]] = {}

    def _open_to(self, offering: Offering) -> list[Member]:
        eligible = [m for m in self.members if m.is_developing]
        if offering.eligibility == "ldc_only":
            return [m for m in eligible if m.is_ldc]
        if offering.eligibility == "regions":
            return [m for m in eligible if m.region in set(offering.eligible_regions or ())]
        if offering.eligibility == "members":
            return [m for m in eligible if m.code in set(offering.eligible_members or ())]
        return eligible

    def code(self, match: Match) -> str:
        offering = match.offering
        if offering.id not in self._by_offering:
            fitting = {m.id: _region_chain(m) for m in self._open_to(offering)}
            others = {m.id: _region_chain(m) for m in self.members if m.id not in fitting}
            self._by_offering[offering.id] = anonymity.recode(fitting, MIN_MEMBERS, others)
        return self._by_offering[offering.id].get(match.need.member_id, "998")


def _match_texts(activity, match: Match) -> None:
    title = match.offering.title
    _translated(activity, "title", lambda: _("Engagement under “%(title)s”", title=title))
    _translated(activity, "description", lambda: _(
        "Technical assistance on e-commerce and the digital economy for a developing member of the WTO, "
        "introduced by the facilitators of the WTO e-commerce work programme. Stage reached: %(status)s.",
        status=MATCH_STATUS_LABELS[match.status])).set("type", "1")


def _match_dates(activity, match: Match, stages: dict[str, date]) -> date:
    """The engagement is planned from its introduction; it starts with delivery and ends when it is completed or
    closed without result. Returns the day of the introduction."""
    introduced = stages.get("introduced") or (match.decided_at or match.created_at).astimezone(UTC).date()
    etree.SubElement(activity, "activity-date", {"type": "1", "iso-date": introduced.isoformat()})
    if "delivery" in stages:
        etree.SubElement(activity, "activity-date", {"type": "2", "iso-date": stages["delivery"].isoformat()})
    ended = stages.get("ended") if match.status in ("completed", "closed_no_result") else None
    if ended and (match.status == "completed" or "delivery" in stages):
        etree.SubElement(activity, "activity-date", {"type": "4", "iso-date": ended.isoformat()})
    return introduced


def _match_areas(match: Match) -> list[str]:
    """The policy areas the need and the offering share, else the offering's."""
    offering_areas = match.offering.policy_areas or []
    shared = (match.shared_facets or {}).get("policy_areas") or offering_areas
    return [a for a in shared if a in POLICY_AREAS] or [a for a in offering_areas if a in POLICY_AREAS]


def _match_result(activity, match: Match, introduced: date, updated: datetime) -> None:
    """The outcome, as a qualitative result: where the engagement got to and what the first meeting concluded."""
    result = etree.SubElement(activity, "result", type="2")
    _translated(result, "title", lambda: _("Outcome of the introduction"))
    indicator = etree.SubElement(result, "indicator", measure="5")
    _translated(indicator, "title", lambda: _("Stage reached and outcome of the first meeting"))
    period = etree.SubElement(indicator, "period")
    etree.SubElement(period, "period-start", {"iso-date": introduced.isoformat()})
    end = max(introduced, updated.date())
    etree.SubElement(period, "period-end", {"iso-date": end.isoformat()})
    actual = etree.SubElement(period, "actual")

    def stage_and_outcome():
        stage = str(MATCH_STATUS_LABELS[match.status])
        if match.outcome:
            return _("%(stage)s. Outcome of the first meeting: %(outcome)s.", stage=stage,
                     outcome=OUTCOME_LABELS[match.outcome])
        return stage

    _translated(actual, "comment", stage_and_outcome)


def _match_activity(match: Match, stages: dict[str, date], regions: RecipientRegions):
    """One accepted introduction as a child activity (hierarchy 2) of its offering's activity."""
    offering = match.offering
    updated = match.updated_at.astimezone(UTC).replace(microsecond=0)
    activity = _header(offering, {"last-updated-datetime": updated.isoformat(), XML_LANG: "en",
                                  "default-currency": "USD", "hierarchy": "2"}, _match_identifier(match))
    _match_texts(activity, match)
    _participating(activity, offering)
    etree.SubElement(activity, "activity-status", code=MATCH_ACTIVITY_STATUS[match.status])
    introduced = _match_dates(activity, match, stages)
    etree.SubElement(activity, "recipient-region", code=regions.code(match), vocabulary="1", percentage="100")
    _sectors(activity, _match_areas(match))
    etree.SubElement(activity, "related-activity", ref=activity_identifier(offering), type="1")
    _match_result(activity, match, introduced, updated)
    return activity


def exported_match_activities(matches: Iterable[Match]) -> bytes:
    """IATI 2.03 activity XML: each introduction both parties accepted as a child activity of its offering's."""
    # An offering open to fewer than a few named members would tell which member its engagement serves.
    matches = [m for m in matches if m.status in ACCEPTED_STATUSES and not (
        m.offering.eligibility == "members" and len(set(m.offering.eligible_members or ())) < MIN_MEMBERS)]
    members = {m.code: m.name_en for m in db.session.scalars(select(Member))}
    regions = RecipientRegions()
    stages = _stage_dates([m.id for m in matches])
    root = etree.Element("iati-activities", {
        "version": "2.03", "generated-datetime": datetime.now(UTC).replace(microsecond=0).isoformat()})
    by_offering: dict[int, list[Match]] = {}
    for match in sorted(matches, key=lambda m: (m.offering_id, m.id)):
        by_offering.setdefault(match.offering_id, []).append(match)
    for children in by_offering.values():
        parent = _activity(children[0].offering, members)
        parent.set("hierarchy", "1")
        for child in children:
            etree.SubElement(parent, "related-activity", ref=_match_identifier(child), type="2")
        root.append(parent)
        for child in children:
            root.append(_match_activity(child, stages.get(child.id, {}), regions))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

