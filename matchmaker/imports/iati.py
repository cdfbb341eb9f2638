"""IATI activity XML: read a publisher's file (2.0x, or the retired 1.0x) into offerings, and write offerings and
approved matches as IATI 2.03 activities that validate against the official schema."""
from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax import SAXParseException  # the exception class only; parsing is defusedxml's  # nosec B406
from xml.sax.handler import ContentHandler  # a base class for defusedxml's parser  # nosec B406

from defusedxml import DefusedXmlException
from defusedxml.sax import parseString as defused_sax_parse
from flask_babel import gettext as _
from lxml import etree
from sqlalchemy import select

from matchmaker.errors import DomainError, NotPermitted
from matchmaker.extensions import db
from matchmaker.imports.csv_import import Preview, Problem
from matchmaker.imports.spreadsheet import FileRefused
from matchmaker.models import AuditEvent, Match, Member, Offering, User
from matchmaker.permissions import can
from matchmaker.reference import DELIVERY_LANGUAGES, POLICY_AREAS, TEXT_LANGUAGES
from matchmaker.safe_text import text_problem
from matchmaker.services import anonymity
from matchmaker.services import offerings as offerings_service
from matchmaker.services.audit import record
from matchmaker.services.match_queries import ACCEPTED_STATUSES
from matchmaker.services.suppression import MIN_MEMBERS

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SCHEMA_PATH = DATA_DIR / "iati-schema" / "iati-activities-schema.xsd"
MAPPING_PATH = DATA_DIR / "dac_sector_mapping.csv"
MAX_BYTES = 50 * 1024 * 1024
MAX_SCHEMA_ERRORS = 20
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# IATI ActivityStatus: 1 pipeline, 2 implementation, 3 finalisation, 4 closed, 5 cancelled, 6 suspended.
OPEN_STATUSES = {"2": "published", "1": "draft"}
# 1.0x files wrote the status as a word.
LEGACY_STATUS_WORDS = {"pipeline": "1", "identification": "1", "implementation": "2", "completion": "3",
                       "finalisation": "3", "post-completion": "4", "closed": "4", "operationally closed": "4",
                       "cancelled": "5", "suspended": "6"}
# IATI ActivityDateType: 1 planned start, 2 actual start, 3 planned end, 4 actual end (1.0x used words).
LEGACY_DATE_TYPES = {"start-planned": "1", "start": "2", "start-actual": "2", "end-planned": "3", "end": "4",
                     "end-actual": "4", "completion": "4"}
# OECD DAC regions (IATI Region codelist, vocabulary 1) and our regions; 998 is "developing countries".
DAC_REGIONS: dict[str, tuple[str, ...]] = {
    "89": ("europe",), "189": ("africa",), "289": ("africa",), "298": ("africa",), "1027": ("africa",),
    "1028": ("africa",), "1029": ("africa",), "1030": ("africa",), "380": ("caribbean",),
    "389": ("caribbean", "latin_america"), "1031": ("caribbean",), "1032": ("latin_america",),
    "489": ("latin_america",), "498": ("latin_america", "caribbean"), "589": ("middle_east",), "619": ("cis",),
    "679": ("asia",), "689": ("asia",), "789": ("asia",), "798": ("asia",), "889": ("pacific",),
    "1033": ("pacific",), "1034": ("pacific",), "1035": ("pacific",),
}
REGION_EXPORT = {"africa": "298", "asia": "798", "pacific": "889", "latin_america": "489", "caribbean": "1031",
                 "middle_east": "589", "europe": "89", "cis": "619", "north_america": "498"}
# IATI AidType (vocabulary 1) to the kinds of support it implies.
AID_TYPES = {"D01": "technical_assistance", "D02": "technical_assistance", "E01": "training", "E02": "training",
             "C01": "technical_assistance", "B01": "funding", "B02": "funding", "B03": "funding", "B04": "funding",
             "A01": "funding", "A02": "funding"}
# Our organisation kinds as IATI OrganisationType codes.
ORGANISATION_TYPES = {"intergovernmental": "40", "bilateral_donor": "10", "development_bank": "40", "ngo": "21",
                      "private_sector": "70", "academia": "80"}
STATUS_EXPORT = {"draft": "1", "published": "2", "closed": "4"}
PUBLISHER_PREFIX = "XI-TAMM"


# ---- reference data --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SectorMapping:
    areas: dict[tuple[str, str], tuple[str, ...]]
    export: dict[str, tuple[str, str]]  # policy area -> (code, name)


@lru_cache(maxsize=1)
def sector_mapping() -> SectorMapping:
    areas: dict[tuple[str, str], tuple[str, ...]] = {}
    export: dict[str, tuple[str, str]] = {}
    with MAPPING_PATH.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            codes = tuple(code for code in row["policy_areas"].split(";") if code)
            unknown = [code for code in codes if code not in POLICY_AREAS]
            if unknown:
                raise ValueError(f"{MAPPING_PATH.name}: unknown policy areas {unknown} for {row['code']}")
            areas[(row["vocabulary"], row["code"])] = codes
            for area in filter(None, row["export"].split(";")):
                export[area] = (row["code"], row["name"])
    missing = set(POLICY_AREAS) - set(export)
    if missing:
        raise ValueError(f"{MAPPING_PATH.name}: no export code for {sorted(missing)}")
    return SectorMapping(areas, export)


@lru_cache(maxsize=1)
def activity_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))


# ---- reading ---------------------------------------------------------------------------------------------------

@dataclass
class Activity:
    """What we read from one iati-activity element, before it becomes an offering."""

    line: int
    identifier: str = ""
    titles: list[tuple[str, str]] = field(default_factory=list)  # (language, text)
    descriptions: list[tuple[str, str]] = field(default_factory=list)
    default_language: str = "en"
    reporting_org_ref: str | None = None
    reporting_org_name: str | None = None
    status_code: str | None = None
    dates: dict[str, date] = field(default_factory=dict)  # ActivityDateType -> date
    sectors: list[tuple[str, str]] = field(default_factory=list)  # (vocabulary, code)
    countries: list[str] = field(default_factory=list)
    regions: list[tuple[str, str]] = field(default_factory=list)  # (vocabulary, code)
    aid_types: list[str] = field(default_factory=list)
    contact_name: str | None = None
    contact_email: str | None = None


class _Nothing(ContentHandler):
    pass


def _refuse_unsafe_xml(data: bytes) -> None:
    """Refuse DTDs, entities and external references before anything else reads the file (XXE, billion laughs)."""
    try:
        defused_sax_parse(data, _Nothing(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise FileRefused(_("The file declares a DTD or entities, which IATI files never need; for safety such "
                            "files are refused.")) from None
    except SAXParseException as error:
        raise FileRefused(_("The file is not well-formed XML (line %(line)s, column %(column)s: %(error)s).",
                            line=error.getLineNumber(), column=error.getColumnNumber(),
                            error=error.getMessage())) from None


def parse_file(data: bytes, max_bytes: int = MAX_BYTES) -> tuple[list[Activity], str, list[Problem]]:
    """The activities of an IATI file, its version, and problems that concern single activities.

    The file as a whole is refused (FileRefused) when it is not safe, well-formed IATI XML, or when a 2.0x file
    does not validate against the IATI 2.03 schema."""
    if not data or not data.strip():
        raise FileRefused(_("The file is empty."))
    if len(data) > max_bytes:
        raise FileRefused(_("The file is larger than %(size)d MB; split it into smaller files.",
                            size=max_bytes // (1024 * 1024)))
    _refuse_unsafe_xml(data)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise FileRefused(_("The file is not well-formed XML: %(error)s.", error=str(error))) from None
    if root.tag not in ("iati-activities", "iati-activity"):
        raise FileRefused(_("This is not an IATI activity file: its root element is <%(tag)s>, not "
                            "<iati-activities>.", tag=str(root.tag)[:60]))
    version = (root.get("version") or "").strip()
    has_narratives = root.find(".//narrative") is not None
    legacy = version.startswith("1.") or (root.tag == "iati-activity") or (
        not version and not has_narratives and root.find("iati-activity") is not None)
    if legacy:
        activities = [root] if root.tag == "iati-activity" else root.findall("iati-activity")
        return [_read_activity(element, legacy=True) for element in activities], version or "1.0x", []
    schema = activity_schema()
    if not schema.validate(root):
        errors = [f"{_('line')} {e.line}: {e.message}" for e in list(schema.error_log)[:MAX_SCHEMA_ERRORS]]
        raise FileRefused(_("The file does not follow the IATI 2.03 activity schema, so it cannot be imported. "
                            "The schema says:") + "\n" + "\n".join(errors))
    if not version.startswith("2.0"):
        raise FileRefused(_("IATI version %(version)s is not supported; export version 2.01, 2.02 or 2.03.",
                            version=version[:20]))
    return [_read_activity(element, legacy=False) for element in root.iterfind("iati-activity")], version, []


def _text(element) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _narratives(element, default_language: str, legacy: bool) -> list[tuple[str, str]]:
    """(language, text) of an element's narratives; 1.0x files put the text in the element itself."""
    if element is None:
        return []
    found = [((n.get(XML_LANG) or default_language).lower()[:2], " ".join("".join(n.itertext()).split()))
             for n in element.iterfind("narrative")]
    if not found and legacy:
        text = " ".join((element.text or "").split())
        found = [((element.get(XML_LANG) or default_language).lower()[:2], text)]
    return [(language, text) for language, text in found if text]


def _iso_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip()[:10])
    except ValueError:
        return None


def _read_activity(element, legacy: bool) -> Activity:
    parent = element.getparent()
    default_language = element.get(XML_LANG) or (parent.get(XML_LANG) if parent is not None else None) or "en"
    activity = Activity(line=element.sourceline or 0, default_language=default_language.lower()[:2])
    activity.identifier = _text(element.find("iati-identifier"))[:200]
    for title in element.iterfind("title"):
        activity.titles += _narratives(title, activity.default_language, legacy)
    descriptions = element.findall("description")
    general = [d for d in descriptions if d.get("type") in (None, "", "1", "general")] or descriptions
    for description in general:
        activity.descriptions += _narratives(description, activity.default_language, legacy)
    org = element.find("reporting-org")
    if org is not None:
        activity.reporting_org_ref = (org.get("ref") or "").strip()[:100] or None
        names = _narratives(org, activity.default_language, legacy=True)
        activity.reporting_org_name = names[0][1][:300] if names else None
    status = element.find("activity-status")
    if status is not None:
        code = (status.get("code") or "").strip()
        if legacy and not code.isdigit():
            code = LEGACY_STATUS_WORDS.get((code or status.get("ref") or _text(status)).strip().lower(), "")
        activity.status_code = code or None
    for item in element.iterfind("activity-date"):
        kind = (item.get("type") or "").strip()
        kind = LEGACY_DATE_TYPES.get(kind, kind)
        value = _iso_date(item.get("iso-date") or (item.text if legacy else None))
        if kind in ("1", "2", "3", "4") and value:
            activity.dates[kind] = value
    for sector in element.iterfind("sector"):
        vocabulary = (sector.get("vocabulary") or "1").strip()
        vocabulary = {"DAC": "1", "DAC-3": "2"}.get(vocabulary, vocabulary)
        code = (sector.get("code") or (sector.get("ref") if legacy else "") or "").strip()
        if code:
            activity.sectors.append((vocabulary, code))
    activity.countries = [(c.get("code") or "").strip().upper() for c in element.iterfind("recipient-country")]
    activity.regions = [((r.get("vocabulary") or "1").strip(), (r.get("code") or "").strip())
                        for r in element.iterfind("recipient-region")]
    activity.aid_types = [(a.get("code") or "").strip().upper() for a in element.iterfind("default-aid-type")
                          if (a.get("vocabulary") or "1") == "1"]
    contact = element.find("contact-info")
    if contact is not None:
        person = _narratives(contact.find("person-name"), activity.default_language, legacy=True)
        activity.contact_name = person[0][1][:120] if person else None
        email = _text(contact.find("email")).lower()
        activity.contact_email = email[:254] if "@" in email and " " not in email else None
    return activity


# ---- mapping activities to offerings ---------------------------------------------------------------------------

@dataclass
class ImportOptions:
    """What the user chooses on the import page for what IATI does not say."""

    default_policy_areas: list[str] = field(default_factory=list)
    support_kinds: list[str] = field(default_factory=lambda: ["technical_assistance"])


def _pick(texts: list[tuple[str, str]], preferred: str | None = None) -> tuple[str, str] | None:
    """The narrative to use: in the preferred language, else English, French or Spanish, else none."""
    order = ([preferred] if preferred else []) + list(TEXT_LANGUAGES)
    for language in order:
        for lang, text in texts:
            if lang == language:
                return lang, text
    return None


def map_activity(activity: Activity, options: ImportOptions, members: dict[str, Member]) -> tuple[dict, list[str]]:
    """The offering fields for an activity, and the problems that stop it from being imported."""
    problems: list[str] = []
    if not activity.identifier:
        problems.append(_("The activity has no iati-identifier, so a later import could not find it again."))
    title = _pick(activity.titles, activity.default_language)
    if title is None:
        problems.append(_("The activity has no title in English, French or Spanish.") if activity.titles
                        else _("The activity has no title."))
    language = title[0] if title else activity.default_language
    description = _pick(activity.descriptions, language)
    if description is None:
        problems.append(_("The activity has no description in English, French or Spanish.") if activity.descriptions
                        else _("The activity has no description."))
    elif len(description[1]) < 30:
        problems.append(_("The description is too short to match on (at least 30 characters)."))
    mapping = sector_mapping()
    own = [code for vocabulary, code in activity.sectors if vocabulary == "99" and code in POLICY_AREAS]
    areas = own or [area for key in activity.sectors for area in mapping.areas.get(key, ())]
    areas = list(dict.fromkeys(areas)) or list(options.default_policy_areas)
    if not areas:
        problems.append(_("None of the activity's sectors maps to a policy area; choose default policy areas on "
                          "the import page."))
    languages = [lang for lang, _text in activity.titles + activity.descriptions if lang in DELIVERY_LANGUAGES]
    kinds = [AID_TYPES[code] for code in activity.aid_types if code in AID_TYPES]
    fields: dict[str, Any] = {
        "title": title[1][:200] if title else "",
        "description": description[1][:10000] if description else "",
        "language": language if language in TEXT_LANGUAGES else "en",
        "policy_areas": areas,
        "support_kinds": list(dict.fromkeys(kinds + list(options.support_kinds))) or ["technical_assistance"],
        "delivery_languages": list(dict.fromkeys(languages)) or [language if language in DELIVERY_LANGUAGES
                                                                 else "en"],
        "contact_name": activity.contact_name,
        "contact_email": activity.contact_email,
    }
    if title and len(fields["title"]) < 5:
        problems.append(_("The title is too short (at least 5 characters)."))
    for name, label in (("title", _("Title")), ("description", _("Description")), ("contact_name", _("Contact"))):
        problem = text_problem(fields[name] or "")
        if problem:
            problems.append(f"{label}: {problem}")
    countries = [code for code in activity.countries if code in members]
    regions = [region for vocabulary, code in activity.regions if vocabulary == "1"
               for region in DAC_REGIONS.get(code, ())]
    if countries:
        fields.update(eligibility="members", eligible_members=list(dict.fromkeys(countries)))
    elif regions and not any(code == "998" for _v, code in activity.regions):
        fields.update(eligibility="regions", eligible_regions=list(dict.fromkeys(regions)))
    else:
        fields.update(eligibility="all_developing")
    extras = {
        "iati_identifier": activity.identifier or None,
        "reporting_org_ref": activity.reporting_org_ref,
        "reporting_org_name": activity.reporting_org_name,
        "iati_activity_status": activity.status_code if activity.status_code in list("123456") else None,
        "start_date": activity.dates.get("2") or activity.dates.get("1"),
        "end_date": activity.dates.get("4") or activity.dates.get("3"),
    }
    return {"fields": fields, "extras": extras, "status": OPEN_STATUSES.get(activity.status_code or "2")}, problems


def preview_file(actor: User, data: bytes, options: ImportOptions, max_bytes: int = MAX_BYTES) -> Preview:
    """Every activity of the file with what it would become, and every problem, by line."""
    activities, version, _problems = parse_file(data, max_bytes)
    if not activities:
        raise FileRefused(_("The file contains no iati-activity."))
    preview = Preview()
    members = {m.code: m for m in db.session.scalars(select(Member).where(Member.is_developing.is_(True)))}
    existing = find_offerings(a.identifier for a in activities)
    seen: dict[str, int] = {}
    for activity in activities:
        values, problems = map_activity(activity, options, members)
        column = activity.identifier[:80] or f"iati-activity #{activity.line}"
        if activity.identifier in seen:
            problems.append(_("The same iati-identifier appears at line %(line)d.", line=seen[activity.identifier]))
        elif activity.identifier:
            seen[activity.identifier] = activity.line
        current = existing.get(activity.identifier)
        if current is not None and current.organisation_id != actor.organisation_id:
            problems.append(_("An offering of another organisation already has this iati-identifier."))
        finished = values["status"] is None  # finished, cancelled or suspended
        if current is not None and current.status == "closed" and not finished:
            problems.append(_("The offering imported from this activity is closed and can no longer be changed."))
        if current is None:
            values["action"] = "skip" if finished else "create"
        elif finished:
            values["action"] = "close" if current.status == "published" else (
                "skip" if current.status == "closed" else "update")
        else:
            values["action"] = "update"
        for message in problems:
            preview.problems.append(Problem(activity.line, column, message))
        if not problems:
            preview.rows.append((activity.line, values))
    return preview


def import_activities(actor: User, preview: Preview, today: date,
                      published: list[Offering] | None = None) -> dict[str, int]:
    """Create or update the offerings of a checked preview through the services; the caller commits.

    The offerings this import publishes are added to ``published``, for the caller to propose them all at once
    after the commit (services.matching.propose_for_offerings)."""
    if not can(actor, "offering.import"):
        raise NotPermitted(_("Only partners can import their organisation's offerings."))
    if not preview.ok:
        raise DomainError(_("Nothing was imported: correct the problems listed and upload the file again."))
    counts = {"created": 0, "updated": 0, "closed": 0, "skipped": 0}
    known = find_offerings(values["extras"]["iati_identifier"] for _line, values in preview.rows)
    for line, values in preview.rows:
        extras, fields = values["extras"], dict(values["fields"])
        existing = known.get(extras["iati_identifier"])
        try:
            if values["action"] == "skip":
                counts["skipped"] += 1
                continue
            if existing is None:
                offering = offerings_service.create_offering(actor, fields)
                counts["created"] += 1
            else:
                offering = existing
                offerings_service.update_offering(actor, offering, fields)
                counts["updated"] += 1
            changed = {k: v for k, v in extras.items() if getattr(offering, k) != v}
            for key, value in changed.items():
                setattr(offering, key, value)
            if changed:
                record(actor, "offering.iati_imported", offering, iati_identifier=extras["iati_identifier"],
                       fields=sorted(changed))
            if values["status"] == "published" and offering.status == "draft":
                offerings_service.transition(actor, offering, "publish", today=today, propose=False)
                if published is not None:
                    published.append(offering)
            elif values["action"] == "close" and offering.status == "published":
                offerings_service.transition(actor, offering, "close", today=today,
                                             reason=_("The IATI activity is finished."))
                counts["closed"] += 1
                counts["updated"] -= 1
        except DomainError as error:
            raise DomainError(_("Line %(line)d: %(message)s", line=line, message=error.message)) from None
    db.session.flush()
    return counts


def find_offerings(identifiers: Iterable[str]) -> dict[str, Offering]:
    """The offerings activities were imported as, or exported as (our own identifiers end with the id)."""
    wanted = [identifier for identifier in dict.fromkeys(identifiers) if identifier]
    found: dict[str, Offering] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found.update((o.iati_identifier, o) for o in db.session.scalars(
            select(Offering).where(Offering.iati_identifier.in_(chunk))))
    ours = {}
    for identifier in wanted:
        tail = identifier.rsplit("-", 1)[-1]
        if identifier not in found and identifier.startswith(PUBLISHER_PREFIX + "-") and tail.isdigit() \
                and int(tail) < 2**31:
            ours[int(tail)] = identifier
    ids = list(ours)
    for start in range(0, len(ids), 500):
        for candidate in db.session.scalars(select(Offering).where(Offering.id.in_(ids[start:start + 500]))):
            identifier = ours[candidate.id]
            if candidate.iati_identifier is None and _identifier(candidate) == identifier:
                found[identifier] = candidate
    return found


# ---- writing ---------------------------------------------------------------------------------------------------

def _identifier(offering: Offering) -> str:
    return offering.iati_identifier or f"{_org_ref(offering)}-{offering.id}"


def _org_ref(offering: Offering) -> str:
    if offering.reporting_org_ref:
        return offering.reporting_org_ref
    acronym = "".join(ch for ch in offering.organisation.acronym.upper() if ch.isalnum()) or "ORG"
    return f"{PUBLISHER_PREFIX}-{acronym}"


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


def _activity(offering: Offering, members: dict[str, str]):
    org = offering.organisation
    updated = offering.updated_at.astimezone(UTC).replace(microsecond=0)
    activity = etree.Element("iati-activity", {"last-updated-datetime": updated.isoformat(),
                                               XML_LANG: offering.language, "default-currency": "USD"})
    etree.SubElement(activity, "iati-identifier").text = _identifier(offering)
    reporting = _narrative(activity, "reporting-org", offering.reporting_org_name or org.name)
    reporting.set("ref", _org_ref(offering))
    reporting.set("type", ORGANISATION_TYPES.get(org.kind, "90"))
    _narrative(activity, "title", offering.title)
    _narrative(activity, "description", offering.description).set("type", "1")
    participating = _narrative(activity, "participating-org", org.name)
    participating.set("role", "4")  # implementing
    participating.set("type", ORGANISATION_TYPES.get(org.kind, "90"))
    status = offering.iati_activity_status if (
        offering.iati_activity_status and STATUS_EXPORT[offering.status] in ("1", "2")
        and offering.iati_activity_status in ("1", "2")) else STATUS_EXPORT[offering.status]
    etree.SubElement(activity, "activity-status", code=status)
    start = offering.start_date or (offering.published_at or offering.created_at).date()
    etree.SubElement(activity, "activity-date", {"type": "2" if offering.start_date is None and offering.published_at
                                                 else "1", "iso-date": start.isoformat()})
    if offering.end_date:
        etree.SubElement(activity, "activity-date", {"type": "3", "iso-date": offering.end_date.isoformat()})
    if offering.contact_name or offering.contact_email:
        contact = etree.SubElement(activity, "contact-info", type="1")
        _narrative(contact, "organisation", org.name)
        if offering.contact_name:
            _narrative(contact, "person-name", offering.contact_name)
        if offering.contact_email:
            etree.SubElement(contact, "email").text = offering.contact_email
    if offering.eligibility == "members" and offering.eligible_members:
        codes = [code for code in offering.eligible_members if code in members]
        for code, share in zip(codes, _percentages(len(codes)) if codes else []):
            country = etree.SubElement(activity, "recipient-country", code=code, percentage=str(share))
            etree.SubElement(country, "narrative").text = members[code]
    elif offering.eligibility == "regions" and offering.eligible_regions:
        codes = list(dict.fromkeys(REGION_EXPORT[r] for r in offering.eligible_regions if r in REGION_EXPORT))
        for code, share in zip(codes, _percentages(len(codes))):
            etree.SubElement(activity, "recipient-region", code=code, vocabulary="1", percentage=str(share))
    else:
        etree.SubElement(activity, "recipient-region", code="998", vocabulary="1", percentage="100")
    mapping = sector_mapping()
    dac = list(dict.fromkeys(mapping.export[area][0] for area in offering.policy_areas if area in mapping.export))
    for code, share in zip(dac, _percentages(len(dac)) if dac else []):
        etree.SubElement(activity, "sector", vocabulary="1", code=code, percentage=str(share))
    own = [area for area in offering.policy_areas if area in POLICY_AREAS]
    for code, share in zip(own, _percentages(len(own)) if own else []):
        sector = _narrative(activity, "sector", str(POLICY_AREAS[code]))
        sector.attrib.update({"vocabulary": "99", "code": code, "percentage": str(share)})
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
    from flask_babel import force_locale

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
    return f"{_identifier(match.offering)}-M{match.id}"


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


def _match_activity(match: Match, stages: dict[str, date], regions: RecipientRegions):
    from matchmaker.reference import MATCH_STATUS_LABELS, OUTCOME_LABELS

    offering, org = match.offering, match.offering.organisation
    updated = match.updated_at.astimezone(UTC).replace(microsecond=0)
    activity = etree.Element("iati-activity", {"last-updated-datetime": updated.isoformat(), XML_LANG: "en",
                                               "default-currency": "USD", "hierarchy": "2"})
    etree.SubElement(activity, "iati-identifier").text = _match_identifier(match)
    reporting = _narrative(activity, "reporting-org", offering.reporting_org_name or org.name)
    reporting.set("ref", _org_ref(offering))
    reporting.set("type", ORGANISATION_TYPES.get(org.kind, "90"))
    title = offering.title
    _translated(activity, "title", lambda: _("Engagement under “%(title)s”", title=title))
    _translated(activity, "description", lambda: _(
        "Technical assistance on e-commerce and the digital economy for a developing member of the WTO, "
        "introduced by the facilitators of the WTO e-commerce work programme. Stage reached: %(status)s.",
        status=MATCH_STATUS_LABELS[match.status])).set("type", "1")
    participating = _narrative(activity, "participating-org", org.name)
    participating.set("role", "4")
    participating.set("type", ORGANISATION_TYPES.get(org.kind, "90"))
    etree.SubElement(activity, "activity-status", code=MATCH_ACTIVITY_STATUS[match.status])
    introduced = stages.get("introduced") or (match.decided_at or match.created_at).astimezone(UTC).date()
    # The engagement is planned from its introduction; it starts with delivery and ends when it is completed or
    # closed without result.
    etree.SubElement(activity, "activity-date", {"type": "1", "iso-date": introduced.isoformat()})
    if "delivery" in stages:
        etree.SubElement(activity, "activity-date", {"type": "2", "iso-date": stages["delivery"].isoformat()})
    ended = stages.get("ended") if match.status in ("completed", "closed_no_result") else None
    if ended and (match.status == "completed" or "delivery" in stages):
        etree.SubElement(activity, "activity-date", {"type": "4", "iso-date": ended.isoformat()})
    etree.SubElement(activity, "recipient-region", code=regions.code(match), vocabulary="1", percentage="100")
    areas = [a for a in ((match.shared_facets or {}).get("policy_areas") or offering.policy_areas or [])
             if a in POLICY_AREAS] or [a for a in offering.policy_areas if a in POLICY_AREAS]
    mapping = sector_mapping()
    dac = list(dict.fromkeys(mapping.export[area][0] for area in areas))
    for code, share in zip(dac, _percentages(len(dac)) if dac else []):
        etree.SubElement(activity, "sector", vocabulary="1", code=code, percentage=str(share))
    for code, share in zip(areas, _percentages(len(areas)) if areas else []):
        sector = _narrative(activity, "sector", str(POLICY_AREAS[code]))
        sector.attrib.update({"vocabulary": "99", "code": code, "percentage": str(share)})
    etree.SubElement(activity, "related-activity", ref=_identifier(offering), type="1")
    # The outcome, as a qualitative result: where the engagement got to and what the first meeting concluded.
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


def validate_export(data: bytes) -> list[str]:
    """Schema errors of an export (none expected)."""
    schema = activity_schema()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    ok = schema.validate(etree.fromstring(data, parser))
    return [] if ok else [f"line {e.line}: {e.message}" for e in schema.error_log]
