"""Bidirectional controls (U+202A-U+202E, U+2066-U+2069) are refused with a clear message wherever NUL is: every form's
text fields, the API and both imports, through one rule (matchmaker/safe_text.py)."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from matchmaker.api.tokens import create_token
from matchmaker.extensions import db
from matchmaker.models import Need, Offering, Organisation, User
from tests.helpers import login
from tests.samples import API_OFFERING, CSV_DESCRIPTION, CSV_HEADER, iati_activity, iati_file
from tests.samples import NEED_FORM as NEED

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
MESSAGE = "Remove the invisible direction controls"


def spoofed(char: str) -> str:
    return f"Invoice {char}fdp.exe training"


def page(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.mark.parametrize("char", BIDI)
def test_forms_refuse_direction_controls_in_titles_and_names(app, make, char, signed_in):
    delegate = signed_in(make.user("delegate", member="BJ"))
    response = delegate.post("/needs/new", data=dict(NEED, title=spoofed(char)))
    assert response.status_code == 422 and MESSAGE in page(response)
    response = delegate.post("/account", data={"profile-name": spoofed(char), "profile-language": "en",
                                                "profile-submit": "1"})
    assert response.status_code == 422 and MESSAGE in page(response)
    admin = signed_in(make.user("admin"))
    response = admin.post("/admin/organisations/new", data={"name": spoofed(char), "acronym": "SPOOF",
                                                            "kind": "intergovernmental"})
    assert response.status_code == 422 and MESSAGE in page(response)
    assert db.session.scalar(select(func.count(Need.id))) == 0
    assert db.session.scalar(select(func.count(Organisation.id)).where(Organisation.acronym == "SPOOF")) == 0
    assert db.session.scalar(select(func.count(User.id)).where(User.name.contains(char))) == 0


@pytest.mark.parametrize("char", ["\u202e", "\u2066"])
def test_the_api_and_the_imports_refuse_them_too(app, make, char):
    partner = make.user("partner", organisation=make.organisation("ITC"))
    _token, secret = create_token(partner, "tests")
    db.session.commit()
    client = app.test_client()
    response = client.post("/api/v1/offerings", json=dict(API_OFFERING, title=spoofed(char)),
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 422 and MESSAGE in response.get_json()["errors"]["title"][0]
    login(client, partner)
    csv = (CSV_HEADER + f"{spoofed(char)},{CSV_DESCRIPTION},en,trade_logistics,training,en\n").encode()
    response = client.post("/imports/offerings/csv", data={"file": (io.BytesIO(csv), "o.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302  # previewed: the row is listed with its problem, and cannot be imported
    assert MESSAGE in page(client.get(response.headers["Location"]))
    response = client.post("/imports/offerings/iati", data={"file": (io.BytesIO(iati_file(iati_activity(
        title_en=f"Digital trade {char}programme"))), "a.xml")}, content_type="multipart/form-data")
    assert response.status_code == 302  # previewed: the activity is listed with its problem, and cannot be imported
    preview = page(client.get(response.headers["Location"]))
    assert "Title: " + MESSAGE in preview
    assert db.session.scalar(select(func.count(Offering.id))) == 0


def test_the_openapi_description_publishes_the_rule(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    title = spec["components"]["schemas"]["OfferingIn"]["properties"]["title"]
    assert "\\u202a-\\u202e\\u2066-\\u2069" in title["pattern"] and "\\x00-\\x08" in title["pattern"]
