"""IATI activity XML, what reading and writing share: the codelists' files, the official schema, our identifiers.

Reading a publisher's file into offerings is imports/iati_import.py; writing offerings and accepted matches as
IATI 2.03 activities is imports/iati_export.py."""
from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import Offering
from matchmaker.reference import POLICY_AREAS

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SCHEMA_PATH = DATA_DIR / "iati-schema" / "iati-activities-schema.xsd"
MAPPING_PATH = DATA_DIR / "dac_sector_mapping.csv"
MAX_BYTES = 50 * 1024 * 1024
MAX_SCHEMA_ERRORS = 20
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
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


# ---- identifiers -----------------------------------------------------------------------------------------------

def activity_identifier(offering: Offering) -> str:
    """The offering's iati-identifier: the one it was imported with, else ours (the reporting org and the id)."""
    return offering.iati_identifier or f"{reporting_org_ref(offering)}-{offering.id}"


def reporting_org_ref(offering: Offering) -> str:
    """The reporting organisation's reference: the one imported with the offering, else ours."""
    if offering.reporting_org_ref:
        return offering.reporting_org_ref
    acronym = "".join(ch for ch in offering.organisation.acronym.upper() if ch.isalnum()) or "ORG"
    return f"{PUBLISHER_PREFIX}-{acronym}"


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
            if candidate.iati_identifier is None and activity_identifier(candidate) == identifier:
                found[identifier] = candidate
    return found


def validate_export(data: bytes) -> list[str]:
    """Schema errors of an export (none expected)."""
    schema = activity_schema()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    ok = schema.validate(etree.fromstring(data, parser))
    return [] if ok else [f"line {e.line}: {e.message}" for e in schema.error_log]
