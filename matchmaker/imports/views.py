"""Import pages (upload, preview with every problem, confirm: all or nothing) and exports."""
from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import delete, select
from werkzeug.exceptions import RequestEntityTooLarge

from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.imports import csv_import, exports, iati
from matchmaker.imports.csv_import import Preview
from matchmaker.imports.forms import ConfirmForm, CsvUploadForm, IatiUploadForm
from matchmaker.imports.spreadsheet import FileRefused
from matchmaker.models import ImportUpload, Member, Offering
from matchmaker.models.base import utcnow
from matchmaker.permissions import STAFF, can, require
from matchmaker.reference import POLICY_AREAS, SUPPORT_KINDS, options
from matchmaker.services import matching
from matchmaker.services.audit import record
from matchmaker.uploads import accepts_upload, too_large_message
from matchmaker.utils import load_or_404

bp = Blueprint("imports", __name__)

SHOWN_ROWS = 200
SHOWN_PROBLEMS = 2000


def _upload_limit() -> int:
    return current_app.config["IMPORT_MAX_BYTES"]


@bp.get("/imports/")
@login_required
def index():
    """What this user may import and export."""
    return render_template("imports/index.html", can_offerings=can(current_user, "offering.import"),
                           can_needs=current_user.role == "delegate" or current_user.role in STAFF)


@bp.get("/imports/<any(offerings, needs):kind>/template.csv")
@login_required
def template(kind: str):
    return _download(csv_import.template_csv(kind), f"{kind}-template.csv", "text/csv; charset=utf-8")


def _member_choices():
    locale = str(get_locale() or "en")
    members = db.session.scalars(select(Member).where(Member.is_developing.is_(True)))
    return options(sorted(((m.code, m.name(locale)) for m in members), key=lambda item: item[1]))


def _read_form(form_class):
    """The upload form, or None with a message when the upload is larger than allowed. A body announced larger was
    refused before this view (matchmaker/uploads.py); this catches one longer than its Content-Length said."""
    try:
        return form_class(), None
    except RequestEntityTooLarge:
        return None, too_large_message()


def _store(kind: str, filename: str, data: bytes, rows: int, member: Member | None) -> ImportUpload:
    user = current_user._get_current_object()
    # Uploads left unconfirmed for a day are forgotten.
    db.session.execute(delete(ImportUpload).where(ImportUpload.user_id == user.id, ImportUpload.status == "pending",
                                                  ImportUpload.created_at < utcnow() - timedelta(days=1)))
    # The name is the browser's to choose: keep it printable (PostgreSQL refuses NUL) and short.
    filename = "".join(ch for ch in (filename or "") if ch.isprintable())[:255] or "upload"
    upload = ImportUpload(user_id=user.id, kind=kind, filename=filename, content=data,
                          sha256=hashlib.sha256(data).hexdigest(), rows=rows, member_id=member.id if member else None)
    db.session.add(upload)
    db.session.flush()
    record(user, "import.uploaded", upload, kind=kind, filename=upload.filename, rows=rows)
    db.session.commit()
    return upload


@bp.route("/imports/<any(offerings, needs):kind>/csv", methods=["GET", "POST"])
@login_required
@accepts_upload("IMPORT_MAX_BYTES")
def upload_csv(kind: str):
    """Upload a CSV; it is checked at once and, unless refused as a whole, previewed row by row."""
    staff = current_user.role in STAFF
    if kind == "offerings":
        require("offering.import")
    elif not (current_user.role == "delegate" or staff):
        abort(403)
    form, too_large = _read_form(CsvUploadForm)
    if form is None:
        form = CsvUploadForm(formdata=None)
    form.member.choices = _member_choices() if kind == "needs" and staff else []
    status = 200
    if too_large:
        form.file.errors = [too_large]
        status = 413
    elif form.validate_on_submit():
        member = current_user.member if kind == "needs" and not staff else None
        if kind == "needs" and staff:
            member = db.session.scalar(select(Member).where(Member.code == (form.member.data or "")))
            if member is None:
                form.member.errors = [_("Choose the member the needs are for.")]
        if kind == "offerings" or member is not None:
            if kind == "needs" and not can(current_user, "need.import", member):
                abort(403)
            data = form.file.data.read(_upload_limit() + 1)
            try:
                preview = csv_import.read_rows(kind, data, _upload_limit(), may_submit=not staff)
            except FileRefused as error:
                form.file.errors = [error.message]
            else:
                upload = _store(f"{kind}_csv", form.file.data.filename, data, len(preview.rows), member)
                return redirect(url_for("imports.preview", upload_id=upload.id))
        status = 422
    elif request.method == "POST":
        status = 422
    columns = csv_import.COLUMNS[kind]
    return render_template("imports/upload_csv.html", form=form, kind=kind, columns=columns, staff=staff,
                           max_rows=csv_import.MAX_ROWS, max_mb=_upload_limit() // (1024 * 1024)), status


def _iati_options(source) -> iati.ImportOptions:
    areas = [code for code in source.getlist("default_policy_areas") if code in POLICY_AREAS]
    kinds = [code for code in source.getlist("support_kinds") if code in SUPPORT_KINDS]
    return iati.ImportOptions(default_policy_areas=areas, support_kinds=kinds or ["technical_assistance"])


@bp.route("/imports/offerings/iati", methods=["GET", "POST"])
@login_required
@accepts_upload("IMPORT_MAX_BYTES")
def upload_iati():
    """Upload an IATI activity file; refused files say why, others are previewed activity by activity."""
    require("offering.import")
    form, too_large = _read_form(IatiUploadForm)
    if form is None:
        form = IatiUploadForm(formdata=None)
    status = 200
    if too_large:
        form.file.errors = [too_large]
        status = 413
    elif form.validate_on_submit():
        data = form.file.data.read(_upload_limit() + 1)
        chosen = {"default_policy_areas": form.default_policy_areas.data or [],
                  "support_kinds": form.support_kinds.data or []}
        try:
            preview = iati.preview_file(current_user, data, _iati_options(_Args(chosen)), _upload_limit())
        except FileRefused as error:
            form.file.errors = [error.message]
            status = 422
        else:
            upload = _store("offerings_iati", form.file.data.filename, data, len(preview.rows), None)
            return redirect(url_for("imports.preview", upload_id=upload.id, **chosen))
    elif request.method == "POST":
        status = 422
    return render_template("imports/upload_iati.html", form=form,
                           max_mb=_upload_limit() // (1024 * 1024)), status


class _Args(dict):
    """A dict of lists that reads like request.args."""

    def getlist(self, key):
        return list(self.get(key, []))


def _preview(upload: ImportUpload) -> Preview:
    if upload.kind == "offerings_iati":
        return iati.preview_file(current_user, upload.content, _iati_options(request.args), len(upload.content) + 1)
    kind = upload.kind.removesuffix("_csv")
    return csv_import.read_rows(kind, upload.content, len(upload.content) + 1,
                                may_submit=current_user.role == "delegate")


def _load_upload(upload_id: int) -> ImportUpload:
    upload = load_or_404(ImportUpload, upload_id, "import.view")
    if upload.status != "pending":
        flash(_("This file was already imported or cancelled."), "info")
        abort(redirect(url_for("imports.index")))
    return upload


@bp.get("/imports/<int:upload_id>")
@login_required
def preview(upload_id: int):
    """Every row and every problem, by line and column, before anything is written."""
    upload = _load_upload(upload_id)
    try:
        result = _preview(upload)
    except FileRefused as error:
        result, refused = Preview(), error.message
    else:
        refused = None
    return render_template("imports/preview.html", upload=upload, preview=result, refused=refused,
                           form=ConfirmForm(), args=request.args.to_dict(flat=False),
                           shown_rows=SHOWN_ROWS, shown_problems=SHOWN_PROBLEMS)


@bp.post("/imports/<int:upload_id>/confirm")
@login_required
def confirm(upload_id: int):
    """Write every row, or none."""
    upload = _load_upload(upload_id)
    if not ConfirmForm().validate():
        abort(400)
    user = current_user._get_current_object()
    published: list[Offering] = []
    try:
        result = _preview(upload)
        if upload.kind == "offerings_iati":
            counts = iati.import_activities(user, result, date.today(), published)
            message = _("Offerings imported. Created: %(created)d, updated: %(updated)d, closed: %(closed)d; "
                        "finished activities skipped: %(skipped)d.", **counts)
            target = url_for("offerings.index")
        else:
            kind = upload.kind.removesuffix("_csv")
            created = csv_import.import_rows(user, kind, result, upload.member, date.today())
            published = [r for r in created if isinstance(r, Offering) and r.status == "published"]
            counts = {"created": len(created)}
            message = ngettext("Imported: %(num)d record created.", "Imported: %(num)d records created.", len(created))
            target = url_for("offerings.index" if kind == "offerings" else "needs.index")
    except (DomainError, FileRefused) as error:
        db.session.rollback()
        flash(_("Nothing was imported. %(reason)s", reason=error.message), "error")
        return redirect(url_for("imports.preview", upload_id=upload.id, **request.args.to_dict(flat=False)))
    upload.status, upload.imported_at = "imported", utcnow()
    record(user, "import.confirmed", upload, kind=upload.kind, **counts)
    db.session.commit()
    flash(message, "success")
    if published:
        # Once, for every offering the import published: one index update instead of one per row. The import is
        # already saved: if proposing fails, say so; the next matching run (or any later publication) proposes them.
        try:
            matching.propose_for_offerings(published, user, date.today())
            db.session.commit()
        except Exception:  # noqa: BLE001  (reported and logged; the import itself stands)
            db.session.rollback()
            current_app.logger.exception("Proposing for %d imported offerings failed", len(published))
            flash(_("The offerings were imported, but no proposals could be made for them yet; facilitators can run "
                    "matching again from the review queue."), "warning")
    return redirect(target)


@bp.post("/imports/<int:upload_id>/cancel")
@login_required
def cancel(upload_id: int):
    upload = _load_upload(upload_id)
    if not ConfirmForm().validate():
        abort(400)
    upload.status = "cancelled"
    record(current_user._get_current_object(), "import.cancelled", upload, kind=upload.kind)
    db.session.commit()
    flash(_("The import was cancelled; nothing was written."), "info")
    return redirect(url_for("imports.index"))


# ---- exports -----------------------------------------------------------------------------------------------------

def _download(body: str | bytes, filename: str, mimetype: str) -> Response:
    return Response(body, mimetype=mimetype.split(";")[0], content_type=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff"})


@bp.get("/exports/offerings.<any(csv, json, xml):fmt>")
@login_required
def export_offerings(fmt: str):
    """A partner's organisation's offerings; everyone else, the offerings they may see."""
    require("export.offerings")
    user = current_user._get_current_object()
    stamp = date.today().isoformat()
    if fmt == "csv":
        return _download(exports.offerings_csv(user), f"offerings-{stamp}.csv", "text/csv; charset=utf-8")
    if fmt == "json":
        return _download(json.dumps(exports.offerings_json(user), ensure_ascii=False, indent=1),
                         f"offerings-{stamp}.json", "application/json")
    return _download(iati.export_activities(exports.exported_offerings(user)), f"offerings-iati-{stamp}.xml",
                     "application/xml")


@bp.get("/exports/needs.<any(csv, json):fmt>")
@login_required
def export_needs(fmt: str):
    """A delegate's member's needs; facilitators all; partners the open needs, anonymised."""
    require("export.needs")
    user = current_user._get_current_object()
    stamp = date.today().isoformat()
    if fmt == "csv":
        return _download(exports.needs_csv(user), f"needs-{stamp}.csv", "text/csv; charset=utf-8")
    return _download(json.dumps(exports.needs_json(user), ensure_ascii=False, indent=1), f"needs-{stamp}.json",
                     "application/json")


@bp.get("/exports/matches.<any(csv, json, xml):fmt>")
@login_required
def export_matches(fmt: str):
    """A party's matches once both parties accepted the introduction; facilitators every match. The IATI file
    holds those accepted introductions only, with their later stages, and names no member (it is published)."""
    require("export.matches")
    user = current_user._get_current_object()
    stamp = date.today().isoformat()
    if fmt == "csv":
        return _download(exports.matches_csv(user), f"matches-{stamp}.csv", "text/csv; charset=utf-8")
    if fmt == "json":
        return _download(json.dumps(exports.matches_json(user), ensure_ascii=False, indent=1),
                         f"matches-{stamp}.json", "application/json")
    return _download(iati.exported_match_activities(exports.exported_matches(user, accepted_only=True)),
                     f"matches-iati-{stamp}.xml", "application/xml")
