"""Pages for needs: list with filters, create, detail, edit and life-cycle actions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from matchmaker.confirm import confirmation_page, confirmed
from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.form_saves import create_once, save_edit
from matchmaker.forms import show_refusal
from matchmaker.models import Match, Need
from matchmaker.models.needs import NEED_FINAL_STATUSES
from matchmaker.needs.forms import NeedFilterForm, NeedForm, TransitionForm
from matchmaker.permissions import can, know_members_of_page, require
from matchmaker.reference import ACTION_LABELS, NEED_STATUS_LABELS
from matchmaker.services import matching, need_list, submissions
from matchmaker.services import needs as needs_service
from matchmaker.services.diagnosis import diagnose
from matchmaker.services.need_list import NeedFilters
from matchmaker.utils import load_or_404, page_arg, stale

bp = Blueprint("needs", __name__, url_prefix="/needs")


@bp.get("/")
@login_required
def index():
    require("need.list")
    form = NeedFilterForm(request.args)
    query = need_list.needs_query(current_user, form.filters() if form.validate() else NeedFilters())
    page = db.paginate(query, page=page_arg(), per_page=20, error_out=False)
    know_members_of_page(current_user, page.items)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("needs/index.html", form=form, page=page, args=args)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    require("need.create")
    form = NeedForm()
    if request.method == "GET":
        form.language.data = current_user.language if current_user.language in ("en", "fr", "es") else "en"
        form.submission.data = submissions.new_key()
    if form.validate_on_submit():
        done = create_once(form, "need", needs_service.create_need,
                           replayed=_("This form was already sent: here is the need it created."),
                           saved=_("Your need was saved as a draft. Submit it when it is ready."),
                           page_of=_need_page, after=_flag_names)
        if done is not None:
            return done
    return render_template("needs/form.html", form=form, need=None), 200 if request.method == "GET" else 422


def _need_page(need_id: int) -> str:
    return url_for("needs.detail", need_id=need_id)


@bp.get("/<int:need_id>")
@login_required
def detail(need_id: int):
    return _detail_page(load_or_404(Need, need_id, "need.view"))


def _detail_page(need: Need, form: TransitionForm | None = None, posted: str | None = None, status: int = 200):
    """The need's page; after a refused comment, the form of the ``posted`` action keeps it, with the reason."""
    know_members_of_page(current_user, [need])     # the page asks in several places (two queries, once)
    actions = needs_service.allowed_transitions(current_user, need)
    matches = [m for m in db.session.scalars(select(Match).where(Match.need_id == need.id)
                                              .options(selectinload(Match.offering))   # whose side: each offering
                                              .order_by(Match.score.desc(), Match.id))
               if can(current_user, "match.view", m)]
    diagnosis = None
    if can(current_user, "match.review") and need.status in matching.INDEXED_NEED_STATUSES and \
            matching.needs_without_proposal([need.id]):
        diagnosis = diagnose(need)
    return render_template("needs/detail.html", need=need, actions=actions, labels=ACTION_LABELS,
                           form=form or TransitionForm(formdata=None), posted=posted, matches=matches,
                           diagnosis=diagnosis, names=needs_service.names_shown_to(current_user, need)), status


@bp.route("/<int:need_id>/edit", methods=["GET", "POST"])
@login_required
def edit(need_id: int):
    need = load_or_404(Need, need_id, "need.edit")
    if need.is_final:
        flash(_("This need is closed and can no longer be edited."), "error")
        return redirect(url_for("needs.detail", need_id=need.id))
    form = NeedForm(obj=need)
    if form.is_submitted() and stale(form, need):
        flash(_("This need was changed by someone else while you were editing it, so your changes were not saved. "
                "Your text is still in the form below: compare it with the current version and save again."), "error")
        form.version.data = str(need.version)
        return render_template("needs/form.html", form=form, need=need), 409
    if form.validate_on_submit():
        done = save_edit(form, need, needs_service.update_need, page_of=_need_page, after=_flag_names)
        if done is not None:
            return done
    names = needs_service.names_shown_to(current_user, need)
    return render_template("needs/form.html", form=form, need=need, names=names), \
        200 if request.method == "GET" else 422


def _flag_names(need: Need) -> None:
    names = needs_service.names_shown_to(current_user, need)
    if names:
        flash(_("The text names your member (%(names)s) although partners are not to know it before a match is "
                "approved: reword it, or let partners see your member's name.", names=", ".join(names)), "warning")


@bp.post("/<int:need_id>/<action>")
@login_required
def transition(need_id: int, action: str):
    if action not in needs_service.TRANSITIONS:
        abort(404)
    need = load_or_404(Need, need_id, "need.view")
    form = TransitionForm()
    if not form.validate():
        flash(_("Nothing was recorded: correct what is marked in the form below."), "error")
        return _detail_page(need, form, action, 422)
    if _final(action) and action in needs_service.allowed_transitions(current_user, need) and not confirmed():
        return _confirm(need, action)
    try:
        needs_service.transition(current_user, need, action, reason=form.reason.data)
    except DomainError as error:
        db.session.rollback()
        if error.status_code == 403:
            abort(403)
        show_refusal(form, error)
        if error.field:
            return _detail_page(need, form, action, 422)
    else:
        db.session.commit()
        flash(_("Done: the need is now “%(status)s”.", status=_status_label(need.status)), "success")
        if not can(current_user, "need.view", need):
            # e.g. a facilitator returning a need to its delegation: a draft is theirs alone again
            return redirect(url_for("needs.index"))
    return redirect(url_for("needs.detail", need_id=need.id))


def _final(action: str) -> bool:
    return needs_service.TRANSITIONS[action][1] in NEED_FINAL_STATUSES


def _confirm(need: Need, action: str):
    """Withdraw or close: say what happens before doing it."""
    if action == "withdraw":
        question = _("Withdraw the need “%(title)s”?", title=need.title)
        consequence = _("It will no longer be proposed to programmes, facilitators will stop reviewing it, and it "
                        "cannot be reopened or edited. Introductions already made are not withdrawn.")
        label = _("Withdraw the need")
    else:
        question = _("Close the need “%(title)s”?", title=need.title)
        consequence = _("It will no longer be proposed to programmes and it cannot be reopened or edited; the "
                        "delegation sees it as closed.")
        label = _("Close the need")
    return confirmation_page(question, consequence, label, url_for("needs.detail", need_id=need.id))


def _status_label(status: str) -> str:
    return str(NEED_STATUS_LABELS.get(status, status))
