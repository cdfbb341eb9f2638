"""Reading an IATI activity file (2.0x, or the retired 1.0x) into offerings: parse, map, preview, import."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
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
from matchmaker.field_rules import LIMITS
from matchmaker.imports.csv_import import Preview, Problem
from matchmaker.imports.iati import (
    MAX_BYTES,
    XML_LANG,
    activity_schema,
    find_offerings,
    sector_mapping,
)
from matchmaker.imports.spreadsheet import FileRefused
from matchmaker.models import Member, Offering, User
from matchmaker.permissions import can
from matchmaker.reference import DELIVERY_LANGUAGES, POLICY_AREAS, TEXT_LANGUAGES
from matchmaker.safe_text import text_problem
from matchmaker.services import offerings as offerings_service
from matchmaker.services.audit import record

MAX_SCHEMA_ERRORS = 20
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
# IATI AidType (vocabulary 1) to the kinds of support it implies.
AID_TYPES = {"D01": "technical_assistance", "D02": "technical_assistance", "E01": "training", "E02": "training",
             "C01": "technical_assistance", "B01": "funding", "B02": "funding", "B03": "funding", "B04": "funding",
             "A01": "funding", "A02": "funding"}


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


def _texts(activity: Activity, problems: list[str]) -> tuple[tuple[str, str] | None, tuple[str, str] | None, str]:
    """The title and description to use (in the same language where possible), and that language."""
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
    return title, description, language


def _policy_areas(activity: Activity, options: ImportOptions, problems: list[str]) -> list[str]:
    """Our own sector codes (vocabulary 99) if the file has them, else the DAC sectors mapped, else the defaults."""
    mapping = sector_mapping()
    own = [code for vocabulary, code in activity.sectors if vocabulary == "99" and code in POLICY_AREAS]
    areas = own or [area for key in activity.sectors for area in mapping.areas.get(key, ())]
    areas = list(dict.fromkeys(areas)) or list(options.default_policy_areas)
    if not areas:
        problems.append(_("None of the activity's sectors maps to a policy area; choose default policy areas on "
                          "the import page."))
    return areas


def _text_problems(fields: dict[str, Any], title_found: bool) -> list[str]:
    problems = []
    shortest = LIMITS["title"].min
    if title_found and len(fields["title"]) < shortest:
        problems.append(_("The title is too short (at least %(min)d characters).", min=shortest))
    for name, label in (("title", _("Title")), ("description", _("Description")), ("contact_name", _("Contact"))):
        problem = text_problem(fields[name] or "")
        if problem:
            problems.append(f"{label}: {problem}")
    return problems


def _eligibility(activity: Activity, members: dict[str, Member]) -> dict[str, Any]:
    """Open to the recipient countries that are members, else to the recipient regions, else to all."""
    countries = [code for code in activity.countries if code in members]
    regions = [region for vocabulary, code in activity.regions if vocabulary == "1"
               for region in DAC_REGIONS.get(code, ())]
    if countries:
        return {"eligibility": "members", "eligible_members": list(dict.fromkeys(countries))}
    if regions and not any(code == "998" for _v, code in activity.regions):
        return {"eligibility": "regions", "eligible_regions": list(dict.fromkeys(regions))}
    return {"eligibility": "all_developing"}


def _extras(activity: Activity) -> dict[str, Any]:
    """What the offering keeps of the activity beyond its own fields (to find it again and to export it)."""
    return {
        "iati_identifier": activity.identifier or None,
        "reporting_org_ref": activity.reporting_org_ref,
        "reporting_org_name": activity.reporting_org_name,
        "iati_activity_status": activity.status_code if activity.status_code in list("123456") else None,
        "start_date": activity.dates.get("2") or activity.dates.get("1"),
        "end_date": activity.dates.get("4") or activity.dates.get("3"),
    }


def map_activity(activity: Activity, options: ImportOptions, members: dict[str, Member]) -> tuple[dict, list[str]]:
    """The offering fields for an activity, and the problems that stop it from being imported."""
    problems: list[str] = []
    if not activity.identifier:
        problems.append(_("The activity has no iati-identifier, so a later import could not find it again."))
    title, description, language = _texts(activity, problems)
    areas = _policy_areas(activity, options, problems)
    languages = [lang for lang, _text in activity.titles + activity.descriptions if lang in DELIVERY_LANGUAGES]
    kinds = [AID_TYPES[code] for code in activity.aid_types if code in AID_TYPES]
    fields: dict[str, Any] = {
        "title": title[1][:LIMITS["title"].max] if title else "",
        "description": description[1][:LIMITS["description"].max] if description else "",
        "language": language if language in TEXT_LANGUAGES else "en",
        "policy_areas": areas,
        "support_kinds": list(dict.fromkeys(kinds + list(options.support_kinds))) or ["technical_assistance"],
        "delivery_languages": list(dict.fromkeys(languages)) or [language if language in DELIVERY_LANGUAGES
                                                                 else "en"],
        "contact_name": activity.contact_name,
        "contact_email": activity.contact_email,
    }
    problems += _text_problems(fields, title is not None)
    fields.update(_eligibility(activity, members))
    status = OPEN_STATUSES.get(activity.status_code or "2")
    return {"fields": fields, "extras": _extras(activity), "status": status}, problems


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
