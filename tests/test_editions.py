"""Editions of the public report: none yet said plainly; published by facilitators only (page and command),
audited; fixed until the next one; older ones still readable; a change by too few members withheld and said so;
a table that cannot be checked withheld whole, never a 500."""
from __future__ import annotations

import re

from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import AuditEvent, ReportEdition
from matchmaker.services import editions
from tests.helpers import csrf_token, page_text


def publish_as(client):
    """Publish an edition from the report page, as the user ``client`` is signed in as."""
    page = client.get("/reports/").get_data(as_text=True)
    return client, client.post("/reports/editions/", data={"csrf_token": csrf_token(page)})


def test_before_any_edition_the_report_says_so(app, make, small_world):
    reader = app.test_client()
    page = reader.get("/reports/")
    assert page.status_code == 200
    assert "No edition of the report has been published yet" in page.get_data(as_text=True)
    assert "<table" not in page.get_data(as_text=True)  # no live figures
    assert reader.get("/reports/needs_by_ldc.csv").status_code == 404
    assert "No edition" in reader.get("/reports/editions/").get_data(as_text=True)
    assert reader.get("/reports/editions/1/").status_code == 404


def test_only_facilitators_publish_and_each_edition_is_audited(app, make, small_world, signed_in):
    partner = make.user("partner", organisation=make.organisation())
    _client, refused = publish_as(signed_in(partner))
    assert refused.status_code == 403
    assert app.test_client().post("/reports/editions/").status_code in (302, 400)  # sign-in first (or no token)
    facilitator = make.user("facilitator")
    client, done = publish_as(signed_in(facilitator))
    assert done.status_code == 302 and done.headers["Location"].endswith("/reports/editions/1/")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "report.publish"))
    assert event.actor_id == facilitator.id and event.object_type == "reportedition" and event.detail["number"] == 1
    assert "Edition 1" in client.get("/reports/").get_data(as_text=True)


def test_an_edition_stays_as_it_is_and_older_ones_stay_readable(app, make, small_world, signed_in):
    facilitator = make.user("facilitator")
    publish_as(signed_in(facilitator))
    reader = app.test_client()
    paths = ("/reports/", "/reports/needs_by_area_region.csv", "/reports/themes.csv")
    first = {path: page_text(reader, path) for path in paths}
    # Ten new needs from ten members: the live figures move, the edition does not.
    for code in ("BJ", "SN", "TG", "ML", "NE", "BF", "GN", "TD", "MG", "CD"):
        make.need(code, "open", policy_areas=["payments"])
    assert {path: page_text(reader, path) for path in paths} == first
    publish_as(signed_in(facilitator))
    second = reader.get("/reports/").get_data(as_text=True)
    assert "Edition 2" in second and page_text(reader, "/reports/") != first["/reports/"]
    assert page_text(reader, "/reports/editions/1/needs_by_area_region.csv") == first[
        "/reports/needs_by_area_region.csv"]
    old = reader.get("/reports/editions/1/").get_data(as_text=True)
    assert "This is not the latest edition" in old and "Edition 1" in old
    listing = reader.get("/reports/editions/").get_data(as_text=True)
    assert listing.index("Edition 2") < listing.index("Edition 1")
    # The ten new needs are ten members: that change may show.
    assert "changed by fewer than 3 members" not in second.split("Needs by policy area and region")[1].split(
        "</section>")[0]


def test_a_change_by_one_member_is_withheld_and_said_so(app, make, small_world, signed_in):
    facilitator = make.user("facilitator")
    publish_as(signed_in(facilitator))
    make.need("KE", "open", policy_areas=["payments"])  # one member's one need
    _client, done = publish_as(signed_in(facilitator))
    page = app.test_client().get(done.headers["Location"]).get_data(as_text=True)
    assert re.search(r"\d+ figures? (is|are) withheld because (it|they) changed by fewer than 3 members", page)
    edition = db.session.scalar(select(ReportEdition).where(ReportEdition.number == 2))
    assert sum(t["withheld"] for t in edition.content["tables"].values()) > 0


def test_a_table_that_cannot_be_checked_is_withheld_whole(app, make, small_world, monkeypatch, signed_in):
    from matchmaker.services import report_tables, reports

    def broken(*args, **kwargs):
        raise ValueError("the solver failed")

    monkeypatch.setattr(report_tables, "suppress", broken)
    monkeypatch.setattr(reports, "_themes", broken)
    _client, done = publish_as(signed_in(make.user("facilitator")))
    assert done.status_code == 302
    reader = app.test_client()
    page = reader.get("/reports/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Withheld from this edition" in text and "could not be checked" in text
    rows = reader.get("/reports/needs_by_area_region.csv").get_data(as_text=True).splitlines()[1:]
    assert rows and all(set(row.split(",")[1:]) == {"suppressed"} for row in rows)


def test_the_schedule_publishes_once_a_quarter(app, make, runner, small_world):
    make.user("facilitator", email="farida@example.org")
    make.user("partner", organisation=make.organisation(), email="paula@example.org")
    first = runner.invoke(args=["publish-report", "--by", "farida@example.org", "--if-due"])
    assert first.exit_code == 0 and "Edition 1 published" in first.output
    again = runner.invoke(args=["publish-report", "--by", "farida@example.org", "--if-due"])
    assert again.exit_code == 0 and "already has an edition" in again.output
    assert runner.invoke(args=["publish-report", "--by", "paula@example.org"]).exit_code == 1
    assert runner.invoke(args=["publish-report", "--by", "nobody@example.org"]).exit_code == 1
    assert [e.number for e in editions.editions()] == [1]
