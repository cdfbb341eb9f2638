"""Imports: the upload kept for its preview, the preview read again, and the confirmed import (all or nothing)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete

from matchmaker.errors import DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.imports import csv_import, iati_import
from matchmaker.imports.csv_import import Preview
from matchmaker.imports.spreadsheet import FileRefused
from matchmaker.models import ImportUpload, Member, Offering, User
from matchmaker.models.base import utcnow
from matchmaker.permissions import can
from matchmaker.reference import POLICY_AREAS, SUPPORT_KINDS
from matchmaker.services import matching
from matchmaker.services.audit import record

# Uploads left unconfirmed this long are forgotten when their owner uploads again.
PENDING_KEPT = timedelta(days=1)


@dataclass
class ImportResult:
    """What a confirmed import did: the kind of records written, their counts, and whether proposing worked."""

    kind: str
    counts: dict[str, int]
    published: list[Offering] = field(default_factory=list)
    proposed: bool = True


def iati_options(policy_areas: list[str], support_kinds: list[str]) -> iati_import.ImportOptions:
    """The choices of the IATI upload form, keeping only known codes (they come back in the preview's address)."""
    areas = [code for code in policy_areas if code in POLICY_AREAS]
    kinds = [code for code in support_kinds if code in SUPPORT_KINDS]
    return iati_import.ImportOptions(default_policy_areas=areas, support_kinds=kinds or ["technical_assistance"])


def check_csv(actor: User, kind: str, data: bytes, max_bytes: int) -> Preview:
    """Every row of an uploaded CSV with its problems; raises FileRefused when the file as a whole is refused.
    Needs imported on a member's behalf stay drafts, so only a delegation may import them as submitted."""
    may_submit = kind == "offerings" or not can(actor, "need.import_on_behalf")
    return csv_import.read_rows(kind, data, max_bytes, may_submit=may_submit)


def check_iati(actor: User, data: bytes, options: iati_import.ImportOptions, max_bytes: int) -> Preview:
    """Every activity of an uploaded IATI file with what it would become; raises FileRefused as check_csv."""
    return iati_import.preview_file(actor, data, options, max_bytes)


def store_upload(actor: User, kind: str, filename: str | None, data: bytes, rows: int,
                 member: Member | None) -> ImportUpload:
    """Keep a checked upload until its owner confirms or cancels it; the caller commits."""
    db.session.execute(delete(ImportUpload).where(ImportUpload.user_id == actor.id, ImportUpload.status == "pending",
                                                  ImportUpload.created_at < utcnow() - PENDING_KEPT))
    # The name is the browser's to choose: keep it printable (PostgreSQL refuses NUL) and short.
    filename = "".join(ch for ch in (filename or "") if ch.isprintable())[:255] or "upload"
    upload = ImportUpload(user_id=actor.id, kind=kind, filename=filename, content=data,
                          sha256=hashlib.sha256(data).hexdigest(), rows=rows, member_id=member.id if member else None)
    db.session.add(upload)
    db.session.flush()
    record(actor, "import.uploaded", upload, kind=kind, filename=upload.filename, rows=rows)
    return upload


def preview_upload(actor: User, upload: ImportUpload, options: iati_import.ImportOptions) -> Preview:
    """The kept upload read and checked again, as it would be imported now."""
    limit = len(upload.content) + 1
    if upload.kind == "offerings_iati":
        return check_iati(actor, upload.content, options, limit)
    return check_csv(actor, upload.kind.removesuffix("_csv"), upload.content, limit)


def _write_rows(actor: User, upload: ImportUpload, options: iati_import.ImportOptions, today: date) -> ImportResult:
    preview = preview_upload(actor, upload, options)
    if upload.kind == "offerings_iati":
        published: list[Offering] = []
        counts = iati_import.import_activities(actor, preview, today, published)
        return ImportResult("offerings", counts, published)
    kind = upload.kind.removesuffix("_csv")
    created = csv_import.import_rows(actor, kind, preview, upload.member, today)
    published = [r for r in created if isinstance(r, Offering) and r.status == "published"]
    return ImportResult(kind, {"created": len(created)}, published)


def _propose(actor: User, published: list[Offering], today: date) -> bool:
    """Proposals for every offering the import published, once (one index update instead of one per row). The
    import is already saved: when proposing fails, it is logged and False returned; the next matching run (or any
    later publication) proposes them."""
    try:
        matching.propose_for_offerings(published, actor, today)
        db.session.commit()
    except Exception:  # noqa: BLE001  (reported and logged; the import itself stands)
        db.session.rollback()
        current_app.logger.exception("Proposing for %d imported offerings failed", len(published))
        return False
    return True


def confirm_upload(actor: User, upload: ImportUpload, options: iati_import.ImportOptions, today: date) -> ImportResult:
    """Write every row of the upload, or none: a refused row or file (DomainError, FileRefused) rolls everything
    back and is raised. The import is committed here, before proposing, so that a failure to propose never undoes
    it."""
    _require_pending(actor, upload)
    try:
        result = _write_rows(actor, upload, options, today)
    except (DomainError, FileRefused):
        db.session.rollback()
        raise
    upload.status, upload.imported_at = "imported", utcnow()
    record(actor, "import.confirmed", upload, kind=upload.kind, **result.counts)
    db.session.commit()
    if result.published:
        result.proposed = _propose(actor, result.published, today)
    return result


def cancel_upload(actor: User, upload: ImportUpload) -> None:
    """Forget an upload without writing anything from it; the caller commits."""
    _require_pending(actor, upload)
    upload.status = "cancelled"
    record(actor, "import.cancelled", upload, kind=upload.kind)


def _require_pending(actor: User, upload: ImportUpload) -> None:
    if not can(actor, "import.view", upload):
        raise NotPermitted(_("You may not do this."))
    if upload.status != "pending":
        raise TransitionNotAllowed(_("This file was already imported or cancelled."))
