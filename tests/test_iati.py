"""IATI activity XML: real samples, files built for the edge cases, hostile files, re-imports and exports that
validate against the official IATI 2.03 schema."""
from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.imports import iati
from matchmaker.models import AuditEvent, ImportUpload, Offering
from matchmaker.reference import POLICY_AREAS
from tests.helpers import login
from tests.samples import iati_activity, iati_file

# Public IATI files the tests read, copied into the repository (tests/data/iati/README.md says from where).
IATI_DATA = Path(__file__).resolve().parent / "data" / "iati"
SAMPLES = IATI_DATA / "samples"
SHOULD_FAIL = sorted((SAMPLES / "should-fail").glob("*.xml"))


@pytest.fixture(scope="module")
def official_schema():
    """The reference copy of the IATI 2.03 schema, not the one the service carries."""
    return etree.XMLSchema(etree.parse(str(iati.SCHEMA_PATH)))


def upload(client, content: bytes, **data):
    return client.post("/imports/offerings/iati", data={"file": (io.BytesIO(content), "activities.xml"), **data},
                       content_type="multipart/form-data")


def import_file(client, content: bytes, **data):
    response = upload(client, content, **data)
    assert response.status_code == 302, re.sub(r"\s+", " ", response.get_data(as_text=True))[-1500:]
    preview = client.get(response.headers["Location"])
    confirm_url = re.search(r'action="(/imports/\d+/confirm[^"]*)"', preview.get_data(as_text=True))
    assert confirm_url, re.sub(r"\s+", " ", preview.get_data(as_text=True))[-2000:]
    return client.post(confirm_url.group(1).replace("&amp;", "&"))


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


@pytest.fixture
def partner(client, make):
    user = make.user("partner", organisation=make.organisation("FAO"))
    login(client, user)
    return user


@pytest.mark.parametrize("path", SHOULD_FAIL, ids=[p.name for p in SHOULD_FAIL])
def test_files_the_schema_rejects_are_refused_with_the_schemas_reasons(client, partner, path, official_schema):
    assert not official_schema.validate(etree.parse(str(path)))
    response = upload(client, path.read_bytes())
    assert response.status_code == 422
    assert "does not follow the IATI 2.03 activity schema" in text(response)
    assert re.search(r"line \d+: Element", text(response))
    assert db.session.scalar(select(func.count(ImportUpload.id))) == 0


def test_worked_example_imports_with_default_policy_areas(client, partner):
    content = (SAMPLES / "worked-example-2.03.xml").read_bytes()
    preview = text(client.get(upload(client, content).headers["Location"]))
    assert "None of the activity's sectors maps to a policy area" in preview
    assert import_file(client, content, default_policy_areas="skills").status_code == 302
    offering = db.session.scalar(select(Offering))
    assert offering.iati_identifier == "http://www.example.org/activities/12345.xml"
    assert offering.title == "Worked example of an activity report" and offering.language == "en"
    assert offering.delivery_languages == ["en", "fr"] and offering.policy_areas == ["skills"]
    assert offering.eligibility == "members" and offering.eligible_members == ["HT"]
    assert (str(offering.start_date), str(offering.end_date)) == ("2010-04-01", "2011-03-31")


@pytest.mark.parametrize("name,problem", [("undp-sample.xml", "has no iati-identifier"),
                                          ("worldbank-1.0.xml", "has no iati-identifier")])
def test_older_publisher_files_say_why_each_activity_cannot_be_imported(client, partner, name, problem):
    response = upload(client, (SAMPLES / name).read_bytes())
    preview = text(client.get(response.headers["Location"]))
    assert problem in preview and "has no description" in preview
    assert "Import these rows" not in preview


def test_activity_fields_and_re_import_updates_instead_of_duplicating(client, partner):
    assert import_file(client, iati_file(iati_activity())).status_code == 302
    offering = db.session.scalar(select(Offering))
    assert offering.status == "published" and offering.title == "Digital trade facilitation programme"
    assert offering.policy_areas == ["trade_logistics", "e_transactions", "consumer_protection", "data_protection",
                                     "intellectual_property"]
    assert offering.eligibility == "regions" and offering.eligible_regions == ["africa"]
    assert offering.reporting_org_ref == "XM-DAC-41301" and offering.iati_activity_status == "2"
    assert str(offering.start_date) == "2026-03-01" and str(offering.end_date) == "2028-12-31"
    assert offering.contact_email == "ana.ruiz@example.org" and offering.delivery_languages == ["en", "fr"]

    import_file(client, iati_file(iati_activity(title_en="Digital trade facilitation programme, phase II")))
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Offering.id))) == 1
    assert db.session.scalar(select(Offering.title)) == "Digital trade facilitation programme, phase II"

    import_file(client, iati_file(iati_activity(status="4")))
    db.session.expire_all()
    assert db.session.scalar(select(Offering.status)) == "closed"
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "offering")))
    assert actions.count("offering.created") == 1 and "offering.close" in actions
    assert "offering.iati_imported" in actions


def test_french_only_activity_countries_and_pipeline(client, partner):
    french = iati_activity(identifier="XM-FR-1", status="1", recipients='<recipient-country code="BJ"/>'
                      '<recipient-country code="FR"/>').replace("<narrative>Digital trade facilitation programme"
                                                                 "</narrative>", "")
    french = french.replace("<narrative>Support to customs", "<narrative xml:lang=\"de\">Unterstützung des Zolls")
    import_file(client, iati_file(french))
    offering = db.session.scalar(select(Offering))
    assert offering.language == "fr" and offering.title == "Programme de facilitation du commerce numérique"
    assert offering.description.startswith("Appui aux douanes") and offering.status == "draft"
    assert offering.eligible_members == ["BJ"]  # France is not a developing member


def test_identifier_of_another_organisations_offering_and_duplicates(client, partner, make):
    make.offering(make.organisation("OTHER"), iati_identifier="XM-DAC-41301-EC-001")
    response = upload(client, iati_file(iati_activity(), iati_activity()))
    preview = text(client.get(response.headers["Location"]))
    assert "An offering of another organisation already has this iati-identifier." in preview
    assert "The same iati-identifier appears at line 3." in preview


@pytest.mark.parametrize("content,message", [
    (b"", "The file is empty."),
    (b"not xml at all", "not well-formed XML"),
    (b"<?xml version='1.0'?><activities/>", "not an IATI activity file"),
    (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><iati-activities version="2.03">'
     b"<iati-activity><iati-identifier>&xxe;</iati-identifier></iati-activity></iati-activities>", "DTD"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
     b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><iati-activities version="2.03">&lol3;</iati-activities>',
     "DTD"),
    (iati_file(iati_activity(), version="3.01"), "IATI version 3.01 is not supported"),
    (iati_file(iati_activity()).replace(b"<iati-identifier>", b"<iati-identifier>\x00"), "not well-formed XML"),
    (b'<?xml version="1.0"?><iati-activities version="2.03" generated-datetime="2026-01-01T00:00:00Z">'
     b"</iati-activities>", "does not follow the IATI 2.03 activity schema"),
])
def test_hostile_and_broken_files_are_refused_clearly(client, partner, content, message):
    response = upload(client, content)
    assert response.status_code == 422
    assert message in text(response)


def test_upload_over_the_size_limit(app, client, partner, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 2048)
    response = upload(client, iati_file(*(iati_activity(identifier=f"X-{n}") for n in range(60))))
    assert response.status_code == 413 and "larger than" in text(response)


def test_mapping_file_follows_the_iati_codelists():
    names = {}
    for filename, vocabulary in (("Sector.xml", "1"), ("SectorCategory.xml", "2")):
        for item in etree.parse(str(IATI_DATA / "codelists" / filename)).iterfind(".//codelist-item"):
            names[(vocabulary, item.findtext("code"))] = item.find("name/narrative").text
    with iati.MAPPING_PATH.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        assert names[(row["vocabulary"], row["code"])] == row["name"], row["code"]
    assert set(iati.sector_mapping().export) == set(POLICY_AREAS)


# ---- export ---------------------------------------------------------------------------------------------------

def test_exports_validate_against_the_official_schema_and_import_back(client, partner, make, official_schema):
    org = partner.organisation
    make.offering(org, "published", eligibility="members", eligible_members=["BJ", "SN"], contact_name="Ana",
                  contact_email="ana@example.org", policy_areas=["payments", "financing", "skills"])
    make.offering(org, "draft", eligibility="regions", eligible_regions=["africa", "caribbean"], language="fr",
                  title="Offre en français & <caractères> spéciaux")
    make.offering(org, "closed", eligibility="ldc_only")
    make.offering(make.organisation("OTHER"), "published")
    response = client.get("/exports/offerings.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    document = etree.fromstring(response.data)
    assert official_schema.validate(document), official_schema.error_log
    assert len(document.findall("iati-activity")) == 3  # the partner's own offerings only
    assert iati.validate_export(response.data) == []

    before = {o.id: (o.title, o.policy_areas, o.eligibility) for o in db.session.scalars(select(Offering))}
    import_file(client, response.data)
    db.session.expire_all()
    after = {o.id: (o.title, o.policy_areas, o.eligibility) for o in db.session.scalars(select(Offering))}
    assert after == before  # re-importing our own export changes nothing and adds nothing


def test_export_of_every_offering_state_validates(client, make, official_schema):
    facilitator = make.user("facilitator")
    login(client, facilitator)
    org = make.organisation()
    for index, area in enumerate(POLICY_AREAS):
        make.offering(org, ("draft", "published", "closed")[index % 3], policy_areas=[area],
                      eligibility=("all_developing", "ldc_only")[index % 2])
    document = etree.fromstring(client.get("/exports/offerings.xml").data)
    assert official_schema.validate(document), official_schema.error_log
    assert len(document.findall("iati-activity")) == len(POLICY_AREAS)


def test_activities_published_by_an_import_are_proposed_after_the_commit(client, partner, make, monkeypatch):
    from matchmaker.models import Match
    from matchmaker.services import matching

    need = make.need("BJ", "open", title="Paperless trade and an electronic single window",
                     description="Our customs and trade ministry need support for paperless trade and an electronic "
                                 "single window, with training for customs officers.",
                     policy_areas=["trade_logistics"], support_kinds=["technical_assistance"])
    syncs = []
    real_current = matching.IndexHolder.current
    monkeypatch.setattr(matching.IndexHolder, "current",
                        lambda self, today: syncs.append(today) or real_current(self, today))
    import_file(client, iati_file(iati_activity("XM-DAC-41301-EC-001"), iati_activity("XM-DAC-41301-EC-002")))
    assert db.session.scalar(select(func.count(Offering.id)).where(Offering.status == "published")) == 2
    assert len(syncs) == 1
    assert {m.status for m in db.session.scalars(select(Match).where(Match.need_id == need.id))} == {"proposed"}
