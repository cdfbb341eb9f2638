"""Exports of matches: each role's own (facilitators all) as CSV and JSON, and the approved ones with their outcome as
IATI activity XML that validates against the official schema and names no member."""
from __future__ import annotations

import csv
import io

import pytest
from lxml import etree

from matchmaker.extensions import db
from matchmaker.imports import iati, iati_export
from matchmaker.imports.spreadsheet import FORMULA_PREFIXES, unescape_cell
from matchmaker.services import matches as match_service

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.fixture(scope="module")
def official_schema():
    return etree.XMLSchema(etree.parse(str(iati.SCHEMA_PATH)))


def download(client, path):
    """A file downloaded as the user ``client`` is signed in as."""
    response = client.get(path)
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    return response


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def introduce(facilitator, match):
    match_service.approve(facilitator, match)
    db.session.commit()


def follow(match, steps, users):
    """Drive a match through the real services: answers, then follow-up steps."""
    for step in steps:
        if step in ("accept", "decline"):
            for user in users:
                if match.status == "approved":
                    match_service.respond(user, match, step == "accept")
        else:
            action, _sep, outcome = step.partition(":")
            note = "The ministry of Benin asked for a second phase" if action in ("close", "meeting_held") else None
            match_service.progress(users[1], match, action, outcome or None, note)
        db.session.commit()


@pytest.fixture
def world(make):
    own, other = make.organisation("OWN"), make.organisation("OTHER")
    facilitator = make.user("facilitator")
    delegate, partner = make.user("delegate", member="BJ"), make.user("partner", organisation=own)
    offering = make.offering(own, "published", capacity=20, policy_areas=["e_transactions", "skills"])
    hostile = make.need("BJ", "open", title="=HYPERLINK(\"http://evil\") need")
    proposed = make.match(make.need("BJ", "open"), offering, "proposed")
    introduced = make.match(hostile, offering, "proposed",
                            shared_facets={"policy_areas": ["e_transactions"], "delivery_languages": ["en"]})
    introduce(facilitator, introduced)
    elsewhere = make.match(make.need("SN", "open"), make.offering(other, "published"), "proposed")
    introduce(facilitator, elsewhere)
    return {"facilitator": facilitator, "delegate": delegate, "partner": partner, "offering": offering,
            "proposed": proposed, "introduced": introduced, "elsewhere": elsewhere, "other": other}


def test_each_role_exports_its_own_matches_safely(app, make, world, signed_in):
    follow(world["introduced"], ["accept", "meeting_held:cooperation_possible"],
           [world["delegate"], world["partner"]])
    delegate_rows = csv_rows(download(signed_in(world["delegate"]), "/exports/matches.csv"))
    assert [int(r["id"]) for r in delegate_rows] == [world["introduced"].id]
    partner_rows = csv_rows(download(signed_in(world["partner"]), "/exports/matches.csv"))
    assert [int(r["id"]) for r in partner_rows] == [world["introduced"].id]
    row = partner_rows[0]
    # Introduced: the partner knows the member now. Nothing in the file runs as a formula.
    assert row["member"] == "BJ" and row["status"] == "meeting_held" and row["outcome"] == "cooperation_possible"
    assert unescape_cell(row["need_title"]).startswith("=HYPERLINK")
    assert all(not cell.startswith(FORMULA_PREFIXES) for r in partner_rows for cell in r.values())
    other_partner = make.user("partner", organisation=world["other"])
    # Introduced but not (yet) accepted by both parties: not in a party's files, which may travel further.
    assert download(signed_in(other_partner), "/exports/matches.json").get_json() == []
    follow(world["elsewhere"], ["accept"], [make.user("delegate", member="SN"), other_partner])
    assert [r["id"] for r in download(signed_in(other_partner), "/exports/matches.json").get_json()] == [
        world["elsewhere"].id]
    everything = download(signed_in(world["facilitator"]), "/exports/matches.json").get_json()
    assert {m["id"] for m in everything} == {world["proposed"].id, world["introduced"].id, world["elsewhere"].id}
    as_json = {m["id"]: m for m in everything}[world["introduced"].id]
    assert as_json["need_title"].startswith("=HYPERLINK") and as_json["terms"] == ["signature"]
    assert make.user("admin") and download(signed_in(make.user("delegate", member="TD")), "/exports/matches.csv")
    assert csv_rows(download(signed_in(make.user("delegate", member="TD")), "/exports/matches.csv")) == []


def test_iati_export_of_approved_matches_validates_and_names_no_member(app, make, world, official_schema, signed_in):
    users = [world["delegate"], world["partner"]]
    paths = {
        "approved": [], "accepted": ["accept"], "declined": ["decline"],
        "meeting_held": ["accept", "meeting_held:cooperation_possible"],
        "agreement_reached": ["accept", "meeting_held:cooperation_possible", "agreement"],
        "in_delivery": ["accept", "meeting_held:cooperation_possible", "agreement", "delivery"],
        "completed": ["accept", "meeting_held:cooperation_possible", "agreement", "delivery", "complete"],
        "closed_no_result": ["accept", "meeting_held:insufficient_interest"],
    }
    matches = {}
    for status, steps in paths.items():
        match = make.match(make.need("BJ", "open", title=f"Benin's confidential need ({status})"),
                           world["offering"], "proposed")
        introduce(world["facilitator"], match)
        follow(match, steps, users)
        assert match.status == status
        matches[status] = match
    rejected = make.match(make.need("BJ", "open"), world["offering"], "rejected")
    # An offering open to two named members would point at the member its engagement serves: left out.
    narrow = make.offering(world["offering"].organisation, "published", eligibility="members",
                           eligible_members=["BJ", "SN"])
    narrow_match = make.match(make.need("BJ", "open"), narrow, "proposed")
    introduce(world["facilitator"], narrow_match)

    for user in (world["facilitator"], world["partner"], world["delegate"]):
        data = download(signed_in(user), "/exports/matches.xml").data
        document = etree.fromstring(data)
        assert official_schema.validate(document), official_schema.error_log
        assert iati.validate_export(data) == []
        text = data.decode()
        assert "Benin" not in text and "Bénin" not in text and "BJ" not in text and "confidential" not in text
        assert "recipient-country" not in text

    document = etree.fromstring(download(signed_in(world["facilitator"]), "/exports/matches.xml").data)
    parents = document.findall("iati-activity[@hierarchy='1']")
    children = {a.findtext("iati-identifier"): a for a in document.findall("iati-activity[@hierarchy='2']")}
    # Only introductions both parties accepted, and their later stages: not one a party declined, nor one still
    # waiting for an answer (world's two introductions), nor a rejected proposal.
    expected_ids = {m.id for status, m in matches.items() if status not in ("approved", "declined")}
    assert {int(identifier.rsplit("-M", 1)[1]) for identifier in children} == expected_ids
    assert rejected.id not in expected_ids and narrow_match.id not in expected_ids
    expected_statuses = [s for s in matches if s not in ("approved", "declined")]
    own_parent = next(p for p in parents if p.findtext("iati-identifier").endswith(f"-{world['offering'].id}"))
    linked = {r.get("ref") for r in own_parent.findall("related-activity[@type='2']")}
    assert linked == {i for i, a in children.items() if a.find("related-activity").get("ref")
                      == own_parent.findtext("iati-identifier")}

    def child(status):
        return children[f"{own_parent.findtext('iati-identifier')}-M{matches[status].id}"]

    statuses = {status: child(status).find("activity-status").get("code") for status in expected_statuses}
    assert statuses == {"accepted": "1", "meeting_held": "1", "agreement_reached": "1", "in_delivery": "2",
                        "completed": "4", "closed_no_result": "5"}
    assert "Declined" not in etree.tostring(document).decode()
    completed = child("completed")
    assert {d.get("type") for d in completed.findall("activity-date")} == {"1", "2", "4"}
    assert completed.find("recipient-region").get("code") == "298"  # Africa, not Benin
    assert [s.get("code") for s in completed.findall("sector[@vocabulary='99']")] == ["e_transactions", "skills"]
    comments = {n.get(XML_LANG, "en"): n.text for n in completed.find("result/indicator/period/actual/comment")}
    assert comments["en"] == "Completed. Outcome of the first meeting: Cooperation possible."
    assert comments["fr"] != comments["en"] and comments["es"] != comments["en"]
    assert "second phase" not in etree.tostring(child("closed_no_result")).decode()


def test_iati_region_fits_three_members_of_those_the_offering_is_open_to(make, world):
    org = world["offering"].organisation
    wide = make.match(make.need("BJ", "open"), world["offering"], "accepted")
    # An offering for LDCs: the Pacific holds one (Solomon Islands), the Caribbean one (Haiti).
    for_ldcs = make.offering(org, "published", eligibility="ldc_only")
    pacific = make.match(make.need("SB", "open"), for_ldcs, "accepted")
    caribbean = make.match(make.need("HT", "open"), for_ldcs, "accepted")
    african = make.match(make.need("SN", "open"), for_ldcs, "accepted")
    regions = iati_export.RecipientRegions()
    assert regions.code(wide) == "298"  # Africa, among all developing members
    assert regions.code(african) == "298"  # Africa holds many LDCs
    # Alone in their regions among LDCs: the Americas (one LDC) and Asia-Pacific have no region code that 3 LDCs
    # share and nothing else would single them out: "developing countries, unspecified".
    assert regions.code(pacific) == "998" and regions.code(caribbean) == "998"
