"""Administration pages: users and invitations, organisations, members and the audit log."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select

from matchmaker.admin.forms import AuditFilterForm, ClearLockForm, InviteForm, OrganisationForm, UserForm
from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.forms import show_refusal
from matchmaker.mail import send_mail
from matchmaker.models import AuditEvent, Match, MatchmakingSession, Member, Need, Offering, Organisation, User
from matchmaker.permissions import can, invitable_roles, require
from matchmaker.reference import (
    AUDIT_FALLBACK_SENTENCE,
    AUDIT_SENTENCES,
    ROLE_LABELS,
    SIGN_IN_ACTIONS,
    choices,
    options,
    with_any,
)
from matchmaker.services import accounts, throttle
from matchmaker.services.audit import record
from matchmaker.utils import load_or_404, page_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _affiliation_choices(form) -> None:
    locale = str(get_locale() or "en")
    members = db.session.scalars(select(Member))
    form.member.choices = options([("", "—")] + sorted(((str(m.id), m.name(locale)) for m in members),
                                                      key=lambda c: c[1]))
    form.organisation.choices = options([("", "—")] + [
        (str(o.id), f"{o.acronym} — {o.name}")
        for o in db.session.scalars(select(Organisation).order_by(Organisation.acronym))
    ])


def _posted_id(value) -> int | None:
    # Only an id the form posted: when the field is left out, WTForms falls back to the edited user's Member object.
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _affiliation(form) -> tuple[Member | None, Organisation | None]:
    member_id, organisation_id = _posted_id(form.member.data), _posted_id(form.organisation.data)
    member = db.session.get(Member, member_id) if member_id else None
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    return member, organisation


@bp.get("/users")
@login_required
def users():
    require("user.invite")
    q = (request.args.get("q") or "").strip()[:200]
    query = select(User).order_by(User.role, User.email)
    if q:
        like = f"%{q}%"
        query = query.where(or_(User.email.ilike(like), User.name.ilike(like)))
    page = db.paginate(query, page=page_arg(), per_page=50, error_out=False)
    return render_template("admin/users.html", page=page, q=q, role_labels=ROLE_LABELS)


@bp.route("/users/invite", methods=["GET", "POST"])
@login_required
def invite():
    require("user.invite")
    form = InviteForm()
    form.role.choices = options((r, ROLE_LABELS[r]) for r in invitable_roles(current_user))
    _affiliation_choices(form)
    if form.validate_on_submit():
        member, organisation = _affiliation(form)
        try:
            user = accounts.invite_user(current_user, email=form.email.data, name=form.name.data, role=form.role.data,
                                        language=form.language.data, member=member, organisation=organisation)
        except DomainError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            url = accounts.link(url_for("auth.accept_invite", token=accounts.make_token(user, "invite")))
            with force_locale(user.language or "en"):   # in the language chosen for the new user
                subject = _("You are invited to TA Matchmaker")
                body = _("%(inviter)s invited you to TA Matchmaker, the service that connects members needing "
                         "technical assistance on e-commerce with the programmes that offer it.\n\n"
                         "Open this link within 7 days to choose your password:\n%(url)s",
                         inviter=current_user.name, url=url)
            sent = send_mail(user.email, subject, body)
            db.session.commit()
            if sent:
                flash(_("The invitation was sent to %(email)s.", email=user.email), "success")
            else:
                # Without SMTP, the inviter passes the link on by hand.
                flash(_("E-mail is not configured. Send this invitation link to %(email)s yourself: %(url)s",
                        email=user.email, url=url), "warning")
            return redirect(url_for("admin.users"))
    return render_template("admin/invite.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def edit_user(user_id: int):
    user = load_or_404(User, user_id, "user.manage")
    form = UserForm(obj=user)
    form.role.choices = choices(ROLE_LABELS)
    _affiliation_choices(form)
    if request.method == "GET":
        form.member.data = str(user.member_id or "")
        form.organisation.data = str(user.organisation_id or "")
    if form.validate_on_submit():
        member, organisation = _affiliation(form)
        try:
            accounts.update_user(current_user, user, role=form.role.data, active=form.active.data, member=member,
                                 organisation=organisation, name=form.name.data, language=form.language.data)
        except DomainError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The account was saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user.html", form=form, user=user), 200 if request.method == "GET" else 422


@bp.get("/sign-in-locks")
@login_required
def sign_in_locks():
    """The sign-in locks in force (accounts refusing unknown devices, locked devices, addresses), each with a button
    that lifts it."""
    require("sign_in_lock.clear")
    return render_template("admin/sign_in_locks.html", locks=throttle.current_locks(), form=ClearLockForm())


@bp.post("/sign-in-locks/clear")
@login_required
def clear_sign_in_lock():
    require("sign_in_lock.clear")
    form = ClearLockForm()
    if not form.validate():
        flash(_("Choose a lock to lift from the list."), "error")
        return redirect(url_for("admin.sign_in_locks"))
    forgotten = accounts.clear_sign_in_lock(current_user, form.kind.data, form.subject.data)
    db.session.commit()
    flash(_("The lock on %(subject)s was lifted (%(count)d failed sign-ins forgotten).", subject=form.subject.data,
            count=forgotten), "success")
    return redirect(url_for("admin.sign_in_locks"))


@bp.get("/organisations")
@login_required
def organisations():
    require("organisation.manage")
    rows = db.session.scalars(select(Organisation).order_by(Organisation.acronym)).all()
    return render_template("admin/organisations.html", organisations=rows)


def _save_organisation(form: OrganisationForm, organisation: Organisation | None) -> Organisation | None:
    clash = db.session.scalar(
        select(Organisation).where(
            or_(func.lower(Organisation.acronym) == form.acronym.data.lower(),
                func.lower(Organisation.name) == form.name.data.lower())
        )
    )
    if clash is not None and clash is not organisation:
        form.acronym.errors.append(_("Another organisation already has this name or acronym."))
        return None
    created = organisation is None
    organisation = organisation or Organisation()
    form.populate_obj(organisation)
    organisation.website = organisation.website or None
    db.session.add(organisation)
    db.session.flush()
    record(current_user, "organisation.created" if created else "organisation.updated", organisation)
    return organisation


@bp.route("/organisations/new", methods=["GET", "POST"])
@login_required
def new_organisation():
    require("organisation.manage")
    form = OrganisationForm()
    if form.validate_on_submit() and _save_organisation(form, None):
        db.session.commit()
        flash(_("The organisation was added."), "success")
        return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation.html", form=form, organisation=None), \
        200 if request.method == "GET" else 422


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
@login_required
def edit_organisation(organisation_id: int):
    organisation = load_or_404(Organisation, organisation_id, "organisation.manage")
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit() and _save_organisation(form, organisation):
        db.session.commit()
        flash(_("The organisation was saved."), "success")
        return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation.html", form=form, organisation=organisation), \
        200 if request.method == "GET" else 422


@bp.get("/members")
@login_required
def members():
    require("member.view")
    rows = db.session.scalars(select(Member).order_by(Member.name_en)).all()
    return render_template("admin/members.html", members=rows)


@bp.get("/audit")
@login_required
def audit():
    return _event_log(sign_ins=False)


@bp.get("/sign-ins")
@login_required
def sign_ins():
    return _event_log(sign_ins=True)


def _event_log(sign_ins: bool):
    """The audit log's changes, or its sign-ins and sign-outs: filtered, a page of 50, each event in a sentence."""
    require("audit.view")
    form = _audit_filters(sign_ins=sign_ins)
    sign_in = AuditEvent.action.in_(SIGN_IN_ACTIONS)
    query = select(AuditEvent).where(sign_in if sign_ins else AuditEvent.action.not_in(SIGN_IN_ACTIONS))
    page = db.paginate(_filtered(query, form), page=page_arg(), per_page=50, error_out=False)
    return render_template("admin/events.html", page=page, form=form, sentences=_sentences(page.items),
                           args=_filter_args(), sign_ins=sign_ins)


def _filter_args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k != "page" and v}


def _audit_filters(sign_ins: bool) -> AuditFilterForm:
    """The filters with their choices: the people who did something, the kinds of action, the kinds of record."""
    form = AuditFilterForm(request.args)
    actions = SIGN_IN_ACTIONS if sign_ins else [a for a in AUDIT_SENTENCES if a not in SIGN_IN_ACTIONS]
    people = db.session.execute(select(User.id, User.name).where(User.id.in_(
        select(AuditEvent.actor_id).where(AuditEvent.action.in_(actions)).distinct())).order_by(User.name)).all()
    form.person.choices = with_any(options((str(i), name) for i, name in people))
    blank = {"who": "…", "record": "…"}
    form.action.choices = with_any(sorted(options((a, str(AUDIT_SENTENCES[a]) % blank) for a in actions),
                                          key=lambda c: c.label.casefold()))
    form.type.choices = with_any(options(AUDIT_RECORD_FILTERS.items()))
    form.validate()
    return form


def _filtered(query, form: AuditFilterForm):
    """The events the valid filters keep, latest first (a filter with an unknown value is left out)."""
    data = {field.short_name: (field.data if not field.errors else None) for field in form}
    if data["person"]:
        query = query.where(AuditEvent.actor_id == int(data["person"]))
    if data["action"]:
        query = query.where(AuditEvent.action == data["action"])
    if data["type"]:
        query = query.where(AuditEvent.object_type == data["type"])
    if data["since"]:
        query = query.where(AuditEvent.at >= datetime.combine(data["since"], time.min, tzinfo=UTC))
    if data["until"]:
        query = query.where(AuditEvent.at < datetime.combine(data["until"] + timedelta(days=1), time.min,
                                                             tzinfo=UTC))
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


# The record types the log can be filtered by, and each type of record with its label and, for those that have a
# page, the model, the permission to see it and the page (a link is shown only to someone who may open it).
AUDIT_RECORD_FILTERS = {"need": _l("Needs"), "offering": _l("Offerings"), "match": _l("Matches"),
                        "matchmakingsession": _l("Sessions"), "user": _l("Users"),
                        "organisation": _l("Organisations")}
_AUDIT_RECORDS = {
    "need": (Need, "need.view", "needs.detail", "need_id"),
    "offering": (Offering, "offering.view", "offerings.detail", "offering_id"),
    "match": (Match, "match.view", "matches.detail", "match_id"),
    "matchmakingsession": (MatchmakingSession, "session.view", "sessions.detail", "session_id"),
    "user": (User, "user.manage", "admin.edit_user", "user_id"),
    "organisation": (Organisation, "organisation.manage", "admin.edit_organisation", "organisation_id"),
}


def _record_name(kind: str, obj, event: AuditEvent) -> str:
    """How a sentence names a record: a need's or session's title, a person's name, a file's name..."""
    detail = event.detail or {}
    if obj is None:
        if kind == "importupload" and detail.get("filename"):
            return f"“{detail['filename']}”"
        if kind == "apitoken" and detail.get("name"):
            return f"“{detail['name']}”"
        if kind == "reportedition" and detail.get("number"):
            return str(detail["number"])
        if kind == "signinlock" and (detail.get("address") or detail.get("email")):
            return detail.get("address") or detail["email"]
        return _("#%(n)s (no longer available)", n=event.object_id) if event.object_id is not None else ""
    if kind in ("need", "offering", "matchmakingsession"):
        return f"“{obj.title if len(obj.title) <= 70 else obj.title[:69] + '…'}”"
    if kind == "match":
        return _("match #%(n)d", n=obj.id)
    if kind == "user":
        return obj.name
    return obj.acronym


def _sentences(events) -> dict[int, Markup]:
    """Event id -> what happened, in a sentence naming the person and the record (linked when the reader may open
    it); one query per type of record on the page."""
    wanted: dict[str, set[int]] = {}
    for e in events:
        if e.object_id is not None and e.object_type in _AUDIT_RECORDS:
            wanted.setdefault(e.object_type, set()).add(e.object_id)
    found = {kind: {o.id: o for o in db.session.scalars(select(_AUDIT_RECORDS[kind][0])
                                                        .where(_AUDIT_RECORDS[kind][0].id.in_(ids)))}
             for kind, ids in wanted.items()}
    out = {}
    for e in events:
        obj = found.get(e.object_type, {}).get(e.object_id)
        name = _record_name(e.object_type, obj, e)
        _model, permission, endpoint, arg = _AUDIT_RECORDS.get(e.object_type, (None, None, None, None))
        record = (Markup('<a href="%s">%s</a>') % (url_for(endpoint, **{arg: obj.id}), name)
                  if obj is not None and can(current_user, permission, obj) else name)
        template = str(AUDIT_SENTENCES.get(e.action, AUDIT_FALLBACK_SENTENCE))
        who = e.actor.name if e.actor else (_("The system") if template.startswith("%(who)s") else _("the system"))
        out[e.id] = escape(template) % {"who": who, "record": record}
    return out
