"""Import pages (upload, preview with every problem, confirm: all or nothing) and exports."""
from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.imports import csv_import, exports, iati_export, iati_import
from matchmaker.imports.csv_import import Preview
from matchmaker.imports.forms import ConfirmForm, CsvUploadForm, IatiUploadForm
from matchmaker.imports.spreadsheet import FileRefused
from matchmaker.models import ImportUpload, Member
from matchmaker.permissions import can, require
from matchmaker.reference import options
from matchmaker.services import imports
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
                           can_needs=can(current_user, "need.upload"))


@bp.get("/imports/<any(offerings, needs):kind>/template.csv")
@login_required
def template(kind: str):
    return _download(csv_import.template_csv(kind), f"{kind}-template.csv", "text/csv; charset=utf-8")


def _member_choices():
    locale = str(get_locale() or "en")
    members = db.session.scalars(select(Member).where(Member.is_developing.is_(True)))
    return options(sorted(((m.code, m.name(locale)) for m in members), key=lambda item: item[1]))


def _read_form(form_class):
    """The upload form, and a message when the upload is larger than allowed (the form is then empty). A body
    announced larger was refused before this view (matchmaker/uploads.py); this catches one longer than its
    Content-Length said."""
    try:
        return form_class(), None
    except RequestEntityTooLarge:
        return form_class(formdata=None), too_large_message()


def _chosen_member(form: CsvUploadForm, kind: str) -> Member | None:
    """The member the needs are for: the delegate's own, or the one staff chose (None, with a form error, if none)."""
    if kind != "needs":
        return None
    if not can(current_user, "need.import_on_behalf"):
        return current_user.member
    member = db.session.scalar(select(Member).where(Member.code == (form.member.data or "")))
    if member is None:
        form.member.errors = [_("Choose the member the needs are for.")]
    return member


def _iati_choices(source) -> iati_import.ImportOptions:
    """The IATI options as the preview's and confirmation's addresses carry them."""
    return imports.iati_options(source.getlist("default_policy_areas"), source.getlist("support_kinds"))


def _store(kind: str, form, preview: Preview, data: bytes, member: Member | None) -> ImportUpload:
    upload = imports.store_upload(current_user._get_current_object(), kind, form.file.data.filename, data,
                                  len(preview.rows), member)
    db.session.commit()
    return upload


def _csv_upload(kind: str, form: CsvUploadForm):
    """A redirect to the preview once the CSV is checked and kept; None when the form says what is wrong."""
    member = _chosen_member(form, kind)
    if kind == "needs" and member is None:
        return None
    if kind == "needs":
        require("need.import", member)
    data = form.file.data.read(_upload_limit() + 1)
    try:
        preview = imports.check_csv(current_user, kind, data, _upload_limit())
    except FileRefused as error:
        form.file.errors = [error.message]
        return None
    upload = _store(f"{kind}_csv", form, preview, data, member)
    return redirect(url_for("imports.preview", upload_id=upload.id))


@bp.route("/imports/<any(offerings, needs):kind>/csv", methods=["GET", "POST"])
@login_required
@accepts_upload("IMPORT_MAX_BYTES")
def upload_csv(kind: str):
    """Upload a CSV; it is checked at once and, unless refused as a whole, previewed row by row."""
    require("offering.import" if kind == "offerings" else "need.upload")
    on_behalf = kind == "needs" and can(current_user, "need.import_on_behalf")
    form, too_large = _read_form(CsvUploadForm)
    form.member.choices = _member_choices() if on_behalf else []
    status = 200
    if too_large:
        form.file.errors = [too_large]
        status = 413
    elif form.validate_on_submit():
        done = _csv_upload(kind, form)
        if done is not None:
            return done
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("imports/upload_csv.html", form=form, kind=kind, columns=csv_import.COLUMNS[kind],
                           staff=on_behalf, max_rows=csv_import.MAX_ROWS,
                           max_mb=_upload_limit() // (1024 * 1024)), status


@bp.route("/imports/offerings/iati", methods=["GET", "POST"])
@login_required
@accepts_upload("IMPORT_MAX_BYTES")
def upload_iati():
    """Upload an IATI activity file; refused files say why, others are previewed activity by activity."""
    require("offering.import")
    form, too_large = _read_form(IatiUploadForm)
    status = 200
    if too_large:
        form.file.errors = [too_large]
        status = 413
    elif form.validate_on_submit():
        data = form.file.data.read(_upload_limit() + 1)
        chosen = {"default_policy_areas": form.default_policy_areas.data or [],
                  "support_kinds": form.support_kinds.data or []}
        try:
            options = imports.iati_options(chosen["default_policy_areas"], chosen["support_kinds"])
            preview = imports.check_iati(current_user, data, options, _upload_limit())
        except FileRefused as error:
            form.file.errors = [error.message]
            status = 422
        else:
            upload = _store("offerings_iati", form, preview, data, None)
            return redirect(url_for("imports.preview", upload_id=upload.id, **chosen))
    elif request.method == "POST":
        status = 422
    return render_template("imports/upload_iati.html", form=form,
                           max_mb=_upload_limit() // (1024 * 1024)), status


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
        result = imports.preview_upload(current_user, upload, _iati_choices(request.args))
    except FileRefused as error:
        result, refused = Preview(), error.message
    else:
        refused = None
    return render_template("imports/preview.html", upload=upload, preview=result, refused=refused,
                           form=ConfirmForm(), args=request.args.to_dict(flat=False),
                           shown_rows=SHOWN_ROWS, shown_problems=SHOWN_PROBLEMS)


def _imported_message(upload: ImportUpload, result: imports.ImportResult) -> str:
    if upload.kind == "offerings_iati":
        return _("Offerings imported. Created: %(created)d, updated: %(updated)d, closed: %(closed)d; "
                 "finished activities skipped: %(skipped)d.", **result.counts)
    created = result.counts["created"]
    return ngettext("Imported: %(num)d record created.", "Imported: %(num)d records created.", created)


@bp.post("/imports/<int:upload_id>/confirm")
@login_required
def confirm(upload_id: int):
    """Write every row, or none."""
    upload = _load_upload(upload_id)
    if not ConfirmForm().validate():
        abort(400)
    try:
        result = imports.confirm_upload(current_user._get_current_object(), upload, _iati_choices(request.args),
                                        date.today())
    except (DomainError, FileRefused) as error:
        flash(_("Nothing was imported. %(reason)s", reason=error.message), "error")
        return redirect(url_for("imports.preview", upload_id=upload_id, **request.args.to_dict(flat=False)))
    flash(_imported_message(upload, result), "success")
    if not result.proposed:
        flash(_("The offerings were imported, but no proposals could be made for them yet; facilitators can run "
                "matching again from the review queue."), "warning")
    return redirect(url_for("offerings.index" if result.kind == "offerings" else "needs.index"))


@bp.post("/imports/<int:upload_id>/cancel")
@login_required
def cancel(upload_id: int):
    upload = _load_upload(upload_id)
    if not ConfirmForm().validate():
        abort(400)
    imports.cancel_upload(current_user._get_current_object(), upload)
    db.session.commit()
    flash(_("The import was cancelled; nothing was written."), "info")
    return redirect(url_for("imports.index"))


# ---- exports -----------------------------------------------------------------------------------------------------

def _download(body: str | bytes, filename: str, mimetype: str) -> Response:
    return Response(body, mimetype=mimetype.split(";")[0], content_type=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff"})


def _export(kind: str, fmt: str, writers: dict) -> Response:
    """The signed-in user's ``kind`` export in ``fmt``, named with today's date; ``writers`` gives, for each format,
    what makes it from the user (csv: text, json: data, xml: the IATI file)."""
    body = writers[fmt](current_user._get_current_object())
    stamp = date.today().isoformat()
    if fmt == "csv":
        return _download(body, f"{kind}-{stamp}.csv", "text/csv; charset=utf-8")
    if fmt == "json":
        return _download(json.dumps(body, ensure_ascii=False, indent=1), f"{kind}-{stamp}.json", "application/json")
    return _download(body, f"{kind}-iati-{stamp}.xml", "application/xml")


@bp.get("/exports/offerings.<any(csv, json, xml):fmt>")
@login_required
def export_offerings(fmt: str):
    """A partner's organisation's offerings; everyone else, the offerings they may see."""
    require("export.offerings")
    return _export("offerings", fmt, {
        "csv": exports.offerings_csv, "json": exports.offerings_json,
        "xml": lambda user: iati_export.export_activities(exports.exported_offerings(user))})


@bp.get("/exports/needs.<any(csv, json):fmt>")
@login_required
def export_needs(fmt: str):
    """A delegate's member's needs; facilitators all; partners the open needs, anonymised."""
    require("export.needs")
    return _export("needs", fmt, {"csv": exports.needs_csv, "json": exports.needs_json})


@bp.get("/exports/matches.<any(csv, json, xml):fmt>")
@login_required
def export_matches(fmt: str):
    """A party's matches once both parties accepted the introduction; facilitators every match. The IATI file
    holds those accepted introductions only, with their later stages, and names no member (it is published)."""
    require("export.matches")
    return _export("matches", fmt, {
        "csv": exports.matches_csv, "json": exports.matches_json,
        "xml": lambda user: iati_export.exported_match_activities(exports.exported_matches(user, accepted_only=True))})
