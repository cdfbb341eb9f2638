"""The offering form: a deadline in the past is refused when the offering is saved (not only at Publish), on the page,
through the API and in a CSV import; eligible members are ticked by region or found by name, without JavaScript."""
from __future__ import annotations

from datetime import date, timedelta

import html5lib
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import Offering
from tests.samples import OFFERING_FORM

PAST = "2020-06-30"


def _partner(make, signed_in):
    """A partner of UNODC, and a client signed in as them."""
    partner = make.user("partner", organisation=make.organisation("UNODC"))
    return partner, signed_in(partner)


def test_a_past_deadline_is_refused_when_a_draft_is_saved(app, make, signed_in):
    _partner_user, client = _partner(make, signed_in)
    response = client.post("/offerings/new", data=dict(OFFERING_FORM, deadline=PAST))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "The application deadline has passed" in page
    assert 'id="deadline-error"' in page  # said next to the field, with what was typed kept
    assert db.session.scalar(select(func.count(Offering.id))) == 0


def test_editing_keeps_a_deadline_that_passed_but_refuses_a_new_past_one(app, make, signed_in):
    partner, client = _partner(make, signed_in)
    offering = make.offering(partner.organisation, "published", deadline=date.today() - timedelta(days=3),
                             title="An old call for proposals")
    form = dict(OFFERING_FORM, deadline=offering.deadline.isoformat(), title="An old call, better described",
                version=str(offering.version))
    assert client.post(f"/offerings/{offering.id}/edit", data=form).status_code == 302
    form = dict(form, deadline=PAST, version=str(db.session.get(Offering, offering.id).version))
    response = client.post(f"/offerings/{offering.id}/edit", data=form)
    assert response.status_code == 422 and "The application deadline has passed" in response.get_data(as_text=True)


def test_the_api_and_csv_imports_refuse_a_past_deadline_too(app, make, signed_in):
    from matchmaker.api.tokens import create_token

    partner, client = _partner(make, signed_in)
    _token, secret = create_token(partner, "t")
    db.session.commit()
    body = {k: v for k, v in OFFERING_FORM.items() if k not in ("capacity", "deadline")}
    response = client.post("/api/v1/offerings", json=dict(body, deadline=PAST),
                           headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 422 and "deadline" in response.get_json()["errors"]
    from matchmaker.imports.csv_import import template_csv

    lines = template_csv("offerings").splitlines()
    header = lines[0].split(",")
    row = next(csv_row for csv_row in __import__("csv").reader(lines[1:]))
    row[header.index("deadline")] = PAST
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows([header, row])
    response = client.post("/imports/offerings/csv", data={"file": (io.BytesIO(out.getvalue().encode()), "o.csv")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "The application deadline has passed" in response.get_data(as_text=True)


def test_eligible_members_by_region_or_by_name(app, make, signed_in):
    _partner_user, client = _partner(make, signed_in)
    page = client.get("/offerings/new").get_data(as_text=True)
    tree = html5lib.parse(page, namespaceHTMLElements=False)
    regions = [s for d in tree.iter("details") if "region" in (d.get("class") or "")
               for s in d.iter("summary")]
    assert len(regions) >= 6 and any("Africa" in "".join(s.itertext()) for s in regions)
    assert not [s for s in tree.iter("select") if s.get("name") == "eligible_members"]  # no 189-line list
    finder = next(i for i in tree.iter("input") if i.get("name") == "find_members")
    names = [o.get("value") for o in next(d for d in tree.iter("datalist") if d.get("id") == finder.get("list"))]
    assert "Benin" in names and "Haiti" in names
    data = dict(OFFERING_FORM, eligibility="members", eligible_regions=[], eligible_members=["SN"],
                find_members="benin; Haiti")
    assert client.post("/offerings/new", data=data).status_code == 302
    offering = db.session.scalar(select(Offering))
    assert offering.eligible_members == ["SN", "BJ", "HT"]
    response = client.post("/offerings/new", data=dict(data, title="Another programme", find_members="Atlantis"))
    assert response.status_code == 422
    assert "No developing member is called “Atlantis”" in response.get_data(as_text=True)
    edit = client.get(f"/offerings/{offering.id}/edit").get_data(as_text=True)
    assert 'value="HT" id="eligible_members-HT" checked' in edit
