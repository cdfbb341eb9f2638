"""CSV import: template, upload, preview of every problem by line and column, confirm (all or nothing)."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.imports.csv_columns import OFFERING_COLUMNS
from matchmaker.imports.csv_import import MAX_ROWS, read_rows, template_csv
from matchmaker.imports.spreadsheet import FileRefused
from matchmaker.models import AuditEvent, ImportUpload, Need, Offering
from tests.helpers import login
from tests.samples import CSV_DESCRIPTION, CSV_HEADER, csv_row


def upload(client, kind: str, content: bytes, **data):
    return client.post(f"/imports/{kind}/csv", data={"file": (io.BytesIO(content), "file.csv"), **data},
                       content_type="multipart/form-data")


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.fixture
def partner(client, make):
    user = make.user("partner", organisation=make.organisation("ITC"))
    login(client, user)
    return user


def test_template_imports_as_it_is_and_everything_is_audited(client, partner):
    template = client.get("/imports/offerings/template.csv")
    assert template.status_code == 200 and template.headers["Content-Disposition"].startswith("attachment")
    text = template.get_data(as_text=True)
    assert text.startswith("\ufeff" + ",".join(c.name for c in OFFERING_COLUMNS))
    response = upload(client, "offerings", template.data)
    assert response.status_code == 302
    preview = client.get(response.headers["Location"])
    assert "1 row is ready to import" in page_text(preview)
    upload_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    confirmed = client.post(f"/imports/{upload_id}/confirm", follow_redirects=True)
    assert "Imported: 1 record created." in page_text(confirmed)
    offering = db.session.scalar(select(Offering))
    assert offering.title == "E-commerce law reform support" and offering.eligibility == "ldc_only"
    assert offering.capacity == 5 and offering.status == "draft" and offering.organisation_id == partner.organisation_id
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"import.uploaded", "offering.created", "import.confirmed"} <= actions
    # Confirming twice imports nothing more.
    client.post(f"/imports/{upload_id}/confirm")
    assert count(Offering) == 1


def test_one_bad_row_means_nothing_is_written_and_every_problem_is_listed(client, partner):
    content = (CSV_HEADER + csv_row("A valid first offering") + csv_row("Bad", areas="astrology;skills")
               + csv_row("A valid third offering", description="too short")).encode()
    response = upload(client, "offerings", content)
    preview = page_text(client.get(response.headers["Location"]))
    assert "3 problems" in preview
    assert "<td>3</td><td><code>title</code></td><td>At least 5 characters.</td>" in preview
    assert "Unknown policy area: “astrology”" in preview
    assert "<td>4</td><td><code>description</code></td>" in preview
    assert "Import these rows" not in preview
    upload_id = int(response.headers["Location"].split("/")[-1])
    assert client.post(f"/imports/{upload_id}/confirm").status_code == 302
    assert count(Offering) == 0


def test_quoted_newlines_and_line_numbers(client, partner):
    content = (CSV_HEADER + csv_row("First offering", description="Line one of a long description\nline two of it, "
                            "which goes on.") + csv_row("Bad", areas="nope")).encode()
    preview = read_rows("offerings", content)
    assert preview.rows[0][1]["description"].count("\n") == 1
    # The second record starts on physical line 4, after the quoted line break.
    assert {(p.line, p.column) for p in preview.problems} == {(4, "title"), (4, "policy_areas")}


@pytest.mark.parametrize("content,message", [
    (b"", "The file is empty."),
    (b"   \n", "The file is empty."),
    (CSV_HEADER.encode(), "The file has a header but no rows."),
    (("title;description\n" + "x;y\n").encode(), "separated by semicolons"),
    ((CSV_HEADER + csv_row("Offre de formation élargie")).encode("latin-1"), "not in UTF-8"),
    ((CSV_HEADER + csv_row("Offering one")).encode("utf-16"), "UTF-16"),
    (b"PK\x03\x04\x00\x00binary", "NUL bytes"),
    (b"\n,,,\n", "must name the columns"),
])
def test_files_refused_as_a_whole_say_why(client, partner, content, message):
    response = upload(client, "offerings", content)
    assert response.status_code == 422
    assert message in page_text(response)
    assert count(ImportUpload) == 0


def test_utf8_with_and_without_bom(client, partner):
    for content in ((CSV_HEADER + csv_row("Offre de formation élargie")).encode("utf-8"),
                    b"\xef\xbb\xbf" + (CSV_HEADER + csv_row("Formación ampliada en línea")).encode("utf-8")):
        response = upload(client, "offerings", content)
        upload_id = int(response.headers["Location"].split("/")[-1])
        client.post(f"/imports/{upload_id}/confirm")
    assert set(db.session.scalars(select(Offering.title))) == {"Offre de formation élargie",
                                                              "Formación ampliada en línea"}


def test_header_problems_ragged_and_duplicate_rows(ctx):
    bad_header = read_rows("offerings", b"title,colour,title\nx,y,z\n")
    messages = {(p.column, p.message.split(";")[0]) for p in bad_header.problems}
    assert ("colour", "Unknown column") in messages and ("title", "This column appears more than once.") in messages
    assert ("description", "This required column is missing.") in messages
    ragged = read_rows("offerings",
                       (CSV_HEADER + csv_row("Offering one").rstrip("\n") + ",extra\n" + "only,two\n").encode())
    assert [p.line for p in ragged.problems] == [2, 3]
    assert "7 cells but the header has 6 columns" in ragged.problems[0].message
    duplicate = read_rows("offerings", (CSV_HEADER + csv_row("Offering one") + csv_row("Offering two")
                                        + csv_row("Offering one")).encode())
    assert [(p.line, p.message) for p in duplicate.problems] == [(4, "This row repeats line 2.")]
    unbalanced = read_rows("offerings", (CSV_HEADER + 'Offering one,"never closed\n').encode())
    assert not unbalanced.ok


def test_control_characters_types_and_cross_column_rules(ctx):
    header = ("title,description,language,policy_areas,support_kinds,delivery_languages,eligibility,eligible_members,"
              "capacity,deadline,contact_email\n")
    base = f"Offering one,{CSV_DESCRIPTION},en,skills,training,en"
    preview = read_rows("offerings", (header + base + ",members,ZZ;BJ,0,31/12/2030,nobody\n"
                                      + base.replace("Offering one", "Offering \x07two") + ",regions,,3,,\n").encode())
    problems = {(p.line, p.column) for p in preview.problems}
    assert problems == {(2, "eligible_members"), (2, "capacity"), (2, "deadline"), (2, "contact_email"),
                        (3, "title"), (3, "eligible_regions")}


def test_too_many_rows(ctx):
    content = (CSV_HEADER + "".join(csv_row(f"Offering number {n}") for n in range(MAX_ROWS + 1))).encode()
    preview = read_rows("offerings", content)
    assert preview.problems[-1].message == f"The file has more than {MAX_ROWS} rows; split it."


def test_upload_larger_than_the_limit_is_refused_with_a_message(app, client, partner, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024)
    response = upload(client, "offerings", (CSV_HEADER + csv_row("Offering one") * 1).encode() + b" " * 200_000)
    assert response.status_code == 413
    assert "larger than" in page_text(response)
    with pytest.raises(FileRefused):
        read_rows("offerings", (CSV_HEADER + csv_row("Offering one")).encode(), max_bytes=10)


def test_formula_cells_are_imported_as_text(client, partner):
    response = upload(client, "offerings", (CSV_HEADER + csv_row("=HYPERLINK(\"http://x\")")).encode())
    upload_id = int(response.headers["Location"].split("/")[-1])
    client.post(f"/imports/{upload_id}/confirm")
    assert db.session.scalar(select(Offering.title)) == '=HYPERLINK("http://x")'


def test_needs_by_a_delegate_may_be_submitted(client, make):
    delegate = make.user("delegate", member="BJ")
    login(client, delegate)
    content = (CSV_HEADER.rstrip("\n") + ",status,attributed\n" + csv_row("Need for customs training").rstrip("\n")
               + ",submitted,yes\n").encode()
    response = upload(client, "needs", content)
    upload_id = int(response.headers["Location"].split("/")[-1])
    assert client.post(f"/imports/{upload_id}/confirm").status_code == 302
    need = db.session.scalar(select(Need))
    assert need.status == "submitted" and need.member.code == "BJ" and need.attributed is True


def test_facilitators_import_needs_as_drafts_on_a_members_behalf(client, make):
    facilitator = make.user("facilitator")
    login(client, facilitator)
    assert upload(client, "needs", (CSV_HEADER + csv_row("Need for customs training")).encode()).status_code == 422
    submitted = (CSV_HEADER.rstrip("\n") + ",status\n"
                 + csv_row("Need for customs training").rstrip("\n") + ",submitted\n")
    response = upload(client, "needs", submitted.encode(), member="SN")
    assert "stay drafts" in page_text(client.get(response.headers["Location"]))
    response = upload(client, "needs", (CSV_HEADER + csv_row("Need for customs training")).encode(), member="SN")
    upload_id = int(response.headers["Location"].split("/")[-1])
    client.post(f"/imports/{upload_id}/confirm")
    need = db.session.scalar(select(Need))
    assert need.status == "draft" and need.member.code == "SN" and need.created_by_id == facilitator.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "need.created"))
    assert event.detail == {"on_behalf_of": "SN", "via": "import"}


def test_uploads_are_private_and_roles_are_checked(client, make, app, signed_in):
    org = make.organisation()
    owner = make.user("partner", organisation=org)
    login(client, owner)
    response = upload(client, "offerings", (CSV_HEADER + csv_row("Offering one")).encode())
    upload_id = int(response.headers["Location"].split("/")[-1])
    other = signed_in(make.user("partner", organisation=org))
    assert other.get(f"/imports/{upload_id}").status_code == 403
    assert other.post(f"/imports/{upload_id}/confirm").status_code == 403
    assert other.get("/imports/99999999999").status_code == 404
    assert upload(other, "needs", (CSV_HEADER + csv_row("Offering one")).encode()).status_code == 403
    delegate = signed_in(make.user("delegate", member="BJ"))
    assert upload(delegate, "offerings", (CSV_HEADER + csv_row("Offering one")).encode()).status_code == 403
    assert count(Offering) == 0


def test_template_of_needs_is_valid(ctx):
    preview = read_rows("needs", template_csv("needs").encode())
    assert preview.ok and preview.rows[0][1]["language"] == "fr"


def test_hostile_form_values_never_give_a_500(client, make):
    facilitator = make.user("facilitator")
    login(client, facilitator)
    content = (CSV_HEADER + csv_row("Need for customs training")).encode()
    response = client.post("/imports/needs/csv", data={"file": (io.BytesIO(content),
                                                                "a\x00b\u202e" + "x" * 400 + ".csv"),
                                                       "member": "SN"}, content_type="multipart/form-data")
    assert response.status_code == 302
    stored = db.session.scalar(select(ImportUpload))
    assert "\x00" not in stored.filename and len(stored.filename) <= 255
    assert upload(client, "needs", content, member="XX").status_code == 422
    assert upload(client, "needs", content, member="\x00" * 5).status_code == 422
    assert client.post("/imports/needs/csv", data={"file": "not a file", "member": "SN"}).status_code == 422
    assert client.post(f"/imports/{stored.id}/confirm?default_policy_areas=%00").status_code == 302


def test_offerings_published_by_an_import_are_proposed_in_one_batch_after_the_commit(client, partner, make,
                                                                                      monkeypatch):
    from matchmaker.models import Match
    from matchmaker.services import matching

    matching.INDEX.reset()
    need = make.need("BJ", "open", title="Customs training for small parcels from e-commerce",
                     description="Our customs need training on processing small parcels from cross-border "
                                 "e-commerce, and on risk management for low-value shipments.",
                     policy_areas=["trade_logistics"], support_kinds=["training"])
    syncs = []
    real_current = matching.IndexHolder.current
    monkeypatch.setattr(matching.IndexHolder, "current",
                        lambda self, today: syncs.append(today) or real_current(self, today))
    header = CSV_HEADER.rstrip("\n") + ",status\n"
    content = header + "".join(csv_row(f"Parcel customs training {n}").rstrip("\n") + ",published\n" for n in range(4))
    response = upload(client, "offerings", content.encode())
    upload_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert client.post(f"/imports/{upload_id}/confirm").status_code == 302
    matching.INDEX.reset()
    assert count(Offering) == 4 and {o.status for o in db.session.scalars(select(Offering))} == {"published"}
    # One index update for the whole file, and the need got its proposals, as a publication one by one gives.
    assert len(syncs) == 1
    proposed = db.session.scalars(select(Match).where(Match.need_id == need.id)).all()
    assert proposed and {m.status for m in proposed} == {"proposed"}
    assert len(proposed) <= client.application.config["MATCH_PER_NEED"]


def test_a_failure_to_propose_after_the_import_keeps_the_import_and_says_so(client, partner, monkeypatch):
    from matchmaker.services import matching

    def broken(*args, **kwargs):
        raise RuntimeError("engine unavailable")

    monkeypatch.setattr(matching, "propose_for_offerings", broken)
    header = CSV_HEADER.rstrip("\n") + ",status\n"
    content = header + "".join(csv_row(f"Parcel customs training {n}").rstrip("\n") + ",published\n" for n in range(2))
    response = upload(client, "offerings", content.encode())
    upload_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    answer = client.post(f"/imports/{upload_id}/confirm", follow_redirects=True)
    assert answer.status_code == 200
    assert "no proposals could be made for them yet" in answer.get_data(as_text=True)
    assert count(Offering) == 2
