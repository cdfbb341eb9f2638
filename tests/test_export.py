"""CSV and JSON exports: each role's own records (facilitators all), safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io

import pytest

from matchmaker.imports.spreadsheet import FORMULA_PREFIXES, safe_cell, unescape_cell
from tests.helpers import login

HOSTILE = ["=cmd|' /C calc'!A0", "+SUM(A1:A2)", "-2+3", "@SUM(1)", "\tTabbed start", "\rReturn start"]


def rows(response) -> list[dict]:
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.mark.parametrize("value", HOSTILE)
def test_cells_that_would_run_as_formulas_are_escaped_and_unescaped(value):
    assert safe_cell(value) == "'" + value
    assert unescape_cell(safe_cell(value)) == value
    assert safe_cell("Plain title") == "Plain title" and safe_cell(None) == ""


def test_no_exported_cell_starts_a_formula(client, make):
    org = make.organisation("OWN")
    partner = make.user("partner", organisation=org)
    for title in HOSTILE:
        make.offering(org, "draft", title=title, contact_name="=HYPERLINK(\"http://evil\")")
    login(client, partner)
    exported = rows(client.get("/exports/offerings.csv"))
    assert len(exported) == len(HOSTILE)
    for row in exported:
        for cell in row.values():
            assert not cell.startswith(FORMULA_PREFIXES), cell
    assert sorted(unescape_cell(row["title"]) for row in exported) == sorted(HOSTILE)
    as_json = client.get("/exports/offerings.json").get_json()
    assert sorted(item["title"] for item in as_json) == sorted(HOSTILE)  # JSON keeps the values as they are


def test_each_role_exports_its_own_records(app, make, signed_in):
    own, other = make.organisation("OWN"), make.organisation("OTHER")
    mine = make.offering(own, "draft")
    theirs = make.offering(other, "published")
    make.offering(other, "draft")
    benin_open = make.need("BJ", "open", attributed=False)
    benin_draft = make.need("BJ", "draft")
    senegal_open = make.need("SN", "open", attributed=True)

    def export(user, what):
        client = signed_in(user)
        return client.get(f"/exports/{what}")

    partner = make.user("partner", organisation=own)
    assert [int(r["id"]) for r in rows(export(partner, "offerings.csv"))] == [mine.id]
    delegate = make.user("delegate", member="BJ")
    assert {int(r["id"]) for r in rows(export(delegate, "needs.csv"))} == {benin_open.id, benin_draft.id}
    facilitator = make.user("facilitator")
    assert {int(r["id"]) for r in rows(export(facilitator, "needs.csv"))} == {benin_open.id, senegal_open.id}
    assert len(rows(export(facilitator, "offerings.csv"))) == 3
    # Partners may export the open needs they can see, anonymised as on the web.
    seen = {item["id"]: item for item in export(partner, "needs.json").get_json()}
    assert set(seen) == {benin_open.id, senegal_open.id}
    assert seen[benin_open.id]["member"] is None and seen[senegal_open.id]["member"] == "SN"
    delegate_offerings = {int(r["id"]) for r in rows(export(delegate, "offerings.csv"))}
    assert delegate_offerings == {theirs.id}
    needs_csv = rows(export(delegate, "needs.csv"))
    assert needs_csv[0]["policy_areas"] == "e_transactions" and needs_csv[0]["delivery_languages"] == "en;fr"


def test_exports_need_a_sign_in(client):
    assert client.get("/exports/needs.csv").status_code == 302
    assert client.get("/exports/offerings.pdf").status_code == 404
