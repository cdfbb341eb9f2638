"""Imports go through services/imports.py: the view writes nothing itself, and a bad file writes and audits nothing."""
from __future__ import annotations

import ast
import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from matchmaker.errors import DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.imports.spreadsheet import FileRefused
from matchmaker.models import AuditEvent, ImportUpload, Need, Offering
from matchmaker.services import imports
from tests.conftest import login

VIEWS = Path(__file__).resolve().parent.parent / "matchmaker" / "imports" / "views.py"
GOOD = (b"title,description,language,policy_areas,support_kinds,delivery_languages\n"
        b"Customs training,Training for customs officers on processing small parcels from e-commerce.,en,"
        b"trade_logistics,training,en\n")
BAD_ROW = GOOD + b"Hi,Too short,en,nowhere,training,en\n"


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def partner(make):
    return make.user("partner", organisation=make.organisation("ITC"))


def test_the_import_view_holds_no_writes():
    """The view loads, checks, calls the service, flashes and redirects: no row, audit, status or delete of its own."""
    tree = ast.parse(VIEWS.read_text(encoding="utf-8"))
    calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert not {"record", "db.session.add", "db.session.execute", "db.session.flush", "delete"} & calls
    assigned = {ast.unparse(t) for node in ast.walk(tree) if isinstance(node, ast.Assign) for t in node.targets}
    assert not any(target.startswith("upload.") for target in assigned)
    assert "_Args" not in {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}


def test_a_file_with_a_bad_row_writes_nothing_and_audits_nothing(make, partner):
    upload = imports.store_upload(partner, "offerings_csv", "file.csv", BAD_ROW, 2, None)
    db.session.commit()
    events = _count(AuditEvent)
    with pytest.raises(DomainError):
        imports.confirm_upload(partner, upload, imports.iati_options([], []), date.today())
    assert _count(Offering) == 0 and _count(AuditEvent) == events
    assert db.session.get(ImportUpload, upload.id).status == "pending"


def test_a_refused_file_writes_nothing_and_audits_nothing(make, partner):
    upload = imports.store_upload(partner, "offerings_iati", "file.xml", b"<not-iati/>", 0, None)
    db.session.commit()
    events = _count(AuditEvent)
    with pytest.raises(FileRefused):
        imports.confirm_upload(partner, upload, imports.iati_options([], []), date.today())
    assert _count(Offering) == 0 and _count(AuditEvent) == events


def test_a_good_file_is_written_once_audited_and_cannot_be_confirmed_again(make, partner):
    upload = imports.store_upload(partner, "offerings_csv", "file.csv", GOOD, 1, None)
    result = imports.confirm_upload(partner, upload, imports.iati_options([], []), date.today())
    assert result.kind == "offerings" and result.counts == {"created": 1} and result.proposed
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("import.%"))
                                     .order_by(AuditEvent.id)))
    assert actions == ["import.uploaded", "import.confirmed"]
    with pytest.raises(TransitionNotAllowed):
        imports.confirm_upload(partner, upload, imports.iati_options([], []), date.today())
    assert _count(Offering) == 1


def test_only_the_owner_confirms_or_cancels_an_upload(make, partner):
    upload = imports.store_upload(partner, "offerings_csv", "file.csv", GOOD, 1, None)
    db.session.commit()
    other = make.user("partner", organisation=make.organisation("UNCTAD"))
    with pytest.raises(NotPermitted):
        imports.confirm_upload(other, upload, imports.iati_options([], []), date.today())
    with pytest.raises(NotPermitted):
        imports.cancel_upload(other, upload)
    assert _count(Offering) == 0 and db.session.get(ImportUpload, upload.id).status == "pending"


def test_needs_imported_on_a_members_behalf_cannot_be_submitted(make):
    facilitator = make.user("facilitator")
    rows = (b"title,description,language,policy_areas,support_kinds,delivery_languages,status\n"
            b"E-signature law,We need help drafting an electronic signatures law for our regulators.,en,"
            b"e_transactions,legal_advice,en,submitted\n")
    staff_preview = imports.check_csv(facilitator, "needs", rows, 10_000)
    delegate_preview = imports.check_csv(make.user("delegate", member="BJ"), "needs", rows, 10_000)
    assert [p.column for p in staff_preview.problems] == ["status"] and delegate_preview.ok


def test_iati_options_keep_known_codes_only():
    options = imports.iati_options(["e_transactions", "nonsense"], ["<script>"])
    assert options.default_policy_areas == ["e_transactions"] and options.support_kinds == ["technical_assistance"]


def test_an_empty_upload_through_the_page_stores_nothing(client, make, partner):
    login(client, partner)
    events = _count(AuditEvent)
    response = client.post("/imports/offerings/csv", data={"file": (io.BytesIO(b""), "empty.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert _count(ImportUpload) == 0 and _count(AuditEvent) == events and _count(Need) == 0
