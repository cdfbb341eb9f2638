"""Pages for offerings: list with filters, create, detail, edit, publish and close."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from matchmaker.confirm import confirmation_page, confirmed
from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.form_saves import create_once, save_edit
from matchmaker.models import Member, Offering, Organisation
from matchmaker.needs.forms import TransitionForm
from matchmaker.offerings.forms import OfferingFilterForm, OfferingForm
from matchmaker.permissions import require
from matchmaker.reference import ACTION_LABELS, OFFERING_STATUS_LABELS, REGIONS, options, with_any
from matchmaker.services import offering_list, submissions
from matchmaker.services import offerings as offerings_service
from matchmaker.services.offering_list import OfferingFilters
from matchmaker.utils import load_or_404, page_arg, stale

bp = Blueprint("offerings", __name__, url_prefix="/offerings")


def _developing_members() -> list[Member]:
    """The members an offering can be limited to, by name in the current language."""
    locale = str(get_locale() or "en")
    members = db.session.scalars(select(Member).where(Member.is_developing.is_(True))).all()
    return sorted(members, key=lambda m: m.name(locale).casefold())


def member_groups(members: list[Member]) -> list[tuple[object, list[Member]]]:
    """The members by region, in the regions' usual order (the checkboxes of the form)."""
    return [(label, [m for m in members if m.region == code]) for code, label in REGIONS.items()
            if any(m.region == code for m in members)]


@bp.get("/")
@login_required
def index():
    require("offering.list")
    form = OfferingFilterForm(request.args)
    form.organisation.choices = with_any(options(
        (str(o.id), o.acronym) for o in db.session.scalars(select(Organisation).order_by(Organisation.acronym))
    ))
    today = date.today()
    query = offering_list.offerings_query(current_user, form.filters() if form.validate() else OfferingFilters(),
                                          today)
    page = db.paginate(query, page=page_arg(), per_page=20, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("offerings/index.html", form=form, page=page, args=args, today=today,
                           status_labels=OFFERING_STATUS_LABELS)


def _form(offering: Offering | None = None) -> OfferingForm:
    locale = str(get_locale() or "en")
    members = _developing_members()
    form = OfferingForm(obj=offering)
    form.eligible_members.choices = options((m.code, m.name(locale)) for m in members)
    form.member_lookup = {key.casefold(): m.code for m in members for key in (m.code, m.name(locale), m.name_en)}
    form.members = members
    return form


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    require("offering.create")
    form = _form()
    if request.method == "GET":
        form.language.data = "en"
        form.submission.data = submissions.new_key()
    if form.validate_on_submit():
        done = create_once(form, "offering", offerings_service.create_offering,
                           replayed=_("This form was already sent: here is the offering it created."),
                           saved=_("The offering was saved as a draft. Publish it when it is ready."),
                           page_of=_offering_page)
        if done is not None:
            return done
    return render_template("offerings/form.html", form=form, offering=None, groups=member_groups(form.members)), \
        200 if request.method == "GET" else 422


def _offering_page(offering_id: int) -> str:
    return url_for("offerings.detail", offering_id=offering_id)


@bp.get("/<int:offering_id>")
@login_required
def detail(offering_id: int):
    return _detail_page(load_or_404(Offering, offering_id, "offering.view"))


def _detail_page(offering: Offering, form: TransitionForm | None = None, posted: str | None = None,
                 status: int = 200):
    """The offering's page; after a refused comment, the form of the ``posted`` action keeps it, with the reason."""
    actions = offerings_service.allowed_transitions(current_user, offering)
    members = {}
    if offering.eligible_members:
        locale = str(get_locale() or "en")
        members = {m.code: m.name(locale) for m in
                   db.session.scalars(select(Member).where(Member.code.in_(offering.eligible_members)))}
    return render_template("offerings/detail.html", offering=offering, actions=actions, labels=ACTION_LABELS,
                           form=form or TransitionForm(formdata=None), posted=posted, today=date.today(),
                           status_labels=OFFERING_STATUS_LABELS, member_names=members), status


@bp.route("/<int:offering_id>/edit", methods=["GET", "POST"])
@login_required
def edit(offering_id: int):
    offering = load_or_404(Offering, offering_id, "offering.edit")
    if offering.is_final:
        flash(_("This offering is closed and can no longer be edited."), "error")
        return redirect(url_for("offerings.detail", offering_id=offering.id))
    form = _form(offering)
    if form.is_submitted() and stale(form, offering):
        flash(_("This offering was changed by someone else while you were editing it, so your changes were not "
                "saved. Your text is still in the form below: compare it with the current version and save again."),
              "error")
        form.version.data = str(offering.version)
        return render_template("offerings/form.html", form=form, offering=offering,
                               groups=member_groups(form.members)), 409
    if form.validate_on_submit():
        done = save_edit(form, offering, offerings_service.update_offering, page_of=_offering_page)
        if done is not None:
            return done
    return render_template("offerings/form.html", form=form, offering=offering, groups=member_groups(form.members)), \
        200 if request.method == "GET" else 422


@bp.post("/<int:offering_id>/<action>")
@login_required
def transition(offering_id: int, action: str):
    if action not in offerings_service.TRANSITIONS:
        abort(404)
    offering = load_or_404(Offering, offering_id, "offering.view")
    form = TransitionForm()
    if not form.validate():
        flash(_("Nothing was recorded: correct what is marked in the form below."), "error")
        return _detail_page(offering, form, action, 422)
    if action == "close" and action in offerings_service.allowed_transitions(current_user, offering) \
            and not confirmed():
        return confirmation_page(
            _("Close the offering “%(title)s”?", title=offering.title),
            _("It will no longer be proposed for needs nor open to new engagements, and it cannot be reopened or "
              "edited. Introductions already made go on."),
            _("Close the offering"), url_for("offerings.detail", offering_id=offering.id))
    try:
        offerings_service.transition(current_user, offering, action, today=date.today(), reason=form.reason.data)
    except DomainError as error:
        db.session.rollback()
        if error.status_code == 403:
            abort(403)
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Done: the offering is now “%(status)s”.",
                status=str(OFFERING_STATUS_LABELS.get(offering.status, offering.status))), "success")
    return redirect(url_for("offerings.detail", offering_id=offering.id))
