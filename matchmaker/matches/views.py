"""Pages for matches: the review queue, the match page, decisions, answers, follow-up, and the inbox."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import selectinload

from matchmaker.confirm import confirmed
from matchmaker.errors import DomainError, NotPermitted
from matchmaker.extensions import db
from matchmaker.matches.forms import (
    BulkApproveForm,
    DecisionForm,
    ManualMatchForm,
    ProgressForm,
    QueueFilterForm,
    RespondForm,
)
from matchmaker.matches.highlight import highlight
from matchmaker.matches.texts import STEP_LABELS, confirm_step, history_label
from matchmaker.models import AuditEvent, Match, Member, Need, Notification, Offering
from matchmaker.models.base import utcnow
from matchmaker.models.matches import FINAL_MATCH_STATUSES
from matchmaker.models.needs import MATCHABLE_NEED_STATUSES
from matchmaker.permissions import can, match_side, require
from matchmaker.reference import (
    MATCH_STATUS_LABELS,
    OUTCOME_LABELS,
    RESPONSE_LABELS,
)
from matchmaker.services import allocation, matching
from matchmaker.services import matches as match_service
from matchmaker.services.json_lists import json_list_contains
from matchmaker.services.match_queries import visible_matches_query
from matchmaker.utils import load_or_404, page_arg

bp = Blueprint("matches", __name__)

def _fail(error: DomainError) -> None:
    db.session.rollback()
    if error.status_code == 403:
        abort(403)
    flash(error.message, "error")


def _steps(match: Match) -> list[str]:
    """The follow-up steps open from the match's status, the meeting that did not take place next to the meeting."""
    steps = []
    for action in match_service.open_steps(match):
        steps += [action, "not_held"] if action == "meeting_held" else [action]
    return steps


def _render_detail(match: Match, status: int = 200, posted: str | None = None, **forms):
    """The match page; after a refused form, that form (``posted`` says which) keeps what was typed and its errors."""
    timeline = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "match",
                                                           AuditEvent.object_id == match.id)
                                  .order_by(AuditEvent.at, AuditEvent.id)).all()
    side = match_side(current_user, match)
    contacts = match_service.party_users(match) if can(current_user, "match.see_contacts", match) else []
    # Forms not posted are built without the request's data, so that only the posted one shows what was typed.
    decision = forms["decision"] if "decision" in forms else DecisionForm(formdata=None)
    respond_form = forms["respond"] if "respond" in forms else RespondForm(formdata=None)
    progress_form = forms["progress_form"] if "progress_form" in forms else ProgressForm(formdata=None)
    return render_template(
        "matches/detail.html", match=match, timeline=timeline, side=side, contacts=contacts,
        need_html=highlight(match.need.description, match.need.language, match.terms),
        offering_html=highlight(match.offering.description, match.offering.language, match.terms),
        status_labels=MATCH_STATUS_LABELS, outcome_labels=OUTCOME_LABELS, response_labels=RESPONSE_LABELS,
        progress_labels=STEP_LABELS, progress_steps=_steps(match), event_label=history_label,
        decision=decision, respond=respond_form, progress_form=progress_form, posted=posted,
        today=date.today(), competition=_competition([match]).get(match.offering_id),
    ), status


def _competition(matches) -> dict:
    """For facilitators: the competition for the places of the offerings of these pending proposals."""
    if not can(current_user, "match.review"):
        return {}
    return allocation.competition({m.offering_id for m in matches if m.status == "proposed"})


def _invalid(match: Match, posted: str, **forms):
    """The posted form did not validate: the page again, with what was typed and the reason by the field (422)."""
    flash(_("Nothing was recorded: correct what is marked in the form below."), "error")
    return _render_detail(match, 422, posted, **forms)


def _refuse(match: Match, error: DomainError, posted: str, **forms):
    """A service refused the posted form: a wrong input is shown on the page with what was typed (422); a match that
    moved on in the meantime is reloaded with the message (Post/Redirect/Get)."""
    db.session.rollback()
    if isinstance(error, NotPermitted):
        abort(403)
    flash(error.message, "error")
    if error.status_code == 400:
        return _render_detail(match, 422, posted, **forms)
    return redirect(url_for("matches.detail", match_id=match.id))


@bp.get("/matches/")
@login_required
def queue():
    require("match.review")
    form = QueueFilterForm(request.args)
    query = select(Match).join(Need, Match.need_id == Need.id).join(Member, Need.member_id == Member.id)
    sort = "score"
    # The queue opens on what waits for a decision; "Any" (an empty value) lists every status.
    status = request.args.get("status", "proposed")
    status = status if status in MATCH_STATUS_LABELS else ""
    if form.validate():
        data = form.data
        if data["policy_area"]:
            query = query.where(json_list_contains(Need.policy_areas, data["policy_area"]))
        if data["region"]:
            query = query.where(Member.region == data["region"])
        if data["ldc"]:
            query = query.where(Member.is_ldc.is_(data["ldc"] == "yes"))
        if data["language"]:
            query = query.where(Need.language == data["language"])
        if data["min_score"] is not None:
            query = query.where(Match.score >= float(data["min_score"]))
        if data["max_score"] is not None:
            query = query.where(Match.score <= float(data["max_score"]))
        if data["age"] is not None:
            query = query.where(Match.created_at <= datetime.now(UTC) - timedelta(days=data["age"]))
        sort = data["sort"] or "score"
    if status in MATCH_STATUS_LABELS:
        query = query.where(Match.status == status)
    order = {
        "score": (Match.score.desc(), Match.id),
        "oldest": (Match.created_at, Match.id),
        "newest": (Match.created_at.desc(), Match.id.desc()),
        "ldc": (Member.is_ldc.desc(), Match.score.desc(), Match.id),
    }[sort if sort in ("score", "oldest", "newest", "ldc") else "score"]
    # Each row shows its need's member and its offering's organisation: loaded with the page, not one by one.
    query = query.options(selectinload(Match.need).selectinload(Need.member),
                          selectinload(Match.offering).selectinload(Offering.organisation))
    page = db.paginate(query.order_by(*order), page=page_arg(), per_page=25, error_out=False)
    counts = dict(db.session.execute(select(Match.status, func.count(Match.id)).group_by(Match.status)).all())
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("matches/queue.html", form=form, page=page, counts=counts, args=args,
                           status_labels=MATCH_STATUS_LABELS, bulk=BulkApproveForm(), current_status=status,
                           competition=_competition(page.items))


@bp.post("/matches/bulk-approve")
@login_required
def bulk_approve():
    require("match.review")
    form = BulkApproveForm()
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit() and len(v) < 10]
    if not form.validate():
        # The comment is one line on the queue page: say what is wrong with it rather than blame the ticks.
        for error in form.reason.errors:
            flash(_("%(field)s: %(errors)s", field=form.reason.label.text, errors=error), "error")
        if not form.reason.errors:
            flash(_("Nothing was approved: reload the page and try again."), "error")
        return redirect(url_for("matches.queue"))
    if not ids:
        flash(_("Tick at least one proposal to approve."), "error")
        return redirect(url_for("matches.queue"))
    approved, refused = 0, []
    for match_id in ids:
        match = db.session.get(Match, match_id)
        if match is None:
            continue
        try:
            with db.session.begin_nested():
                match_service.approve(current_user, match, reason=form.reason.data)
            approved += 1
        except DomainError as error:
            refused.append(f"#{match_id}: {error.message}")
    db.session.commit()
    flash(ngettext("%(num)d proposal approved; the parties were notified.",
                   "%(num)d proposals approved; the parties were notified.", approved), "success")
    for line in refused:
        flash(line, "error")
    return redirect(url_for("matches.queue"))


@bp.post("/matches/run")
@login_required
def run():
    require("match.review")
    ids = [int(v) for v in request.form.getlist("need_ids") if v.isdigit() and len(v) < 10] or None
    if ids is None and request.form.get("scope") != "all":
        flash(_("Select at least one open need to run matching for."), "error")
        return redirect(url_for("needs.index", status="open"))
    result = matching.run_matching(current_user, need_ids=ids)
    db.session.commit()
    without = len(result.without_proposal)
    flash(_("Matching ran over %(needs)s: %(new)s, %(updated)s, %(superseded)s, %(kept)s; %(none)s.",
            needs=ngettext("%(num)d need", "%(num)d needs", result.needs),
            new=ngettext("%(num)d new proposal", "%(num)d new proposals", result.proposed),
            updated=ngettext("%(num)d refreshed", "%(num)d refreshed", result.updated),
            superseded=ngettext("%(num)d superseded", "%(num)d superseded", result.superseded),
            kept=ngettext("%(num)d unchanged", "%(num)d unchanged", result.kept),
            none=ngettext("%(num)d need got no proposal", "%(num)d needs got no proposal", without)), "success")
    if ids and len(ids) == 1:
        return redirect(url_for("needs.detail", need_id=ids[0]))
    return redirect(url_for("matches.queue"))


@bp.route("/matches/new", methods=["GET", "POST"])
@login_required
def create():
    require("match.review")
    form = ManualMatchForm()
    needs = db.session.scalars(select(Need).where(Need.status.in_(MATCHABLE_NEED_STATUSES))
                               .order_by(Need.id)).all()
    offerings = db.session.scalars(select(Offering).where(Offering.status == "published").order_by(Offering.id)).all()
    form.set_choices(needs, offerings)
    if request.method == "GET":
        form.need.data = request.args.get("need", "")
        form.offering.data = request.args.get("offering", "")
    if form.validate_on_submit():
        try:
            match = match_service.create_manual(current_user, db.session.get(Need, int(form.need.data)),
                                                db.session.get(Offering, int(form.offering.data)), form.reason.data)
        except DomainError as error:
            _fail(error)
        else:
            db.session.commit()
            flash(_("The match was created by hand. Review and approve it when ready."), "success")
            return redirect(url_for("matches.detail", match_id=match.id))
    return render_template("matches/new.html", form=form), 200 if request.method == "GET" else 422


@bp.get("/matches/<int:match_id>")
@login_required
def detail(match_id: int):
    return _render_detail(load_or_404(Match, match_id, "match.view"))


@bp.post("/matches/<int:match_id>/decide")
@login_required
def decide(match_id: int):
    match = load_or_404(Match, match_id, "match.review")
    form = DecisionForm()
    if not form.validate():
        if "action" in form.errors:
            flash(_("Choose a valid decision."), "error")
            return redirect(url_for("matches.detail", match_id=match_id))
        return _invalid(match, form.action.data, decision=form)
    if form.action.data in ("reject", "withdraw") and match.status in DECISION_SOURCES[form.action.data] \
            and not confirmed():
        return confirm_step(match, form.action.data)
    try:
        if form.action.data == "approve":
            match_service.approve(current_user, match, reason=form.reason.data)
            message = _("Approved: both parties have been introduced and notified.")
        elif form.action.data == "reject":
            match_service.reject(current_user, match, form.reason.data)
            message = _("Rejected.")
        else:
            match_service.withdraw(current_user, match, form.reason.data)
            message = _("Withdrawn.")
    except DomainError as error:
        return _refuse(match, error, form.action.data, decision=form)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("matches.detail", match_id=match_id))


@bp.post("/matches/<int:match_id>/respond")
@login_required
def respond(match_id: int):
    match = load_or_404(Match, match_id, "match.view")
    form = RespondForm()
    if not form.validate():
        if "answer" in form.errors:
            flash(_("Choose to accept or decline."), "error")
            return redirect(url_for("matches.detail", match_id=match_id))
        return _invalid(match, "respond", respond=form)
    if form.answer.data == "decline" and can(current_user, "match.respond", match) and not confirmed():
        return confirm_step(match, "decline")
    try:
        match_service.respond(current_user, match, form.answer.data == "accept", form.note.data)
    except DomainError as error:
        return _refuse(match, error, "respond", respond=form)
    db.session.commit()
    flash(_("Thank you: your answer was recorded and the other party was told."), "success")
    return redirect(url_for("matches.detail", match_id=match_id))


@bp.post("/matches/<int:match_id>/progress")
@login_required
def follow_up(match_id: int):
    match = load_or_404(Match, match_id, "match.progress")
    form = ProgressForm()
    if not form.validate():
        if "action" in form.errors:
            flash(_("Choose a valid step."), "error")
            return redirect(url_for("matches.detail", match_id=match_id))
        return _invalid(match, form.action.data, progress_form=form)
    action, outcome = form.action.data, form.outcome.data or None
    if action == "not_held":
        action, outcome = "meeting_held", "did_not_take_place"
    elif action != "meeting_held":
        outcome = None
    if match_service.progress_target(action, outcome) in FINAL_MATCH_STATUSES \
            and match.status in match_service.PROGRESS[action][0] and not confirmed():
        return confirm_step(match, form.action.data)
    try:
        match_service.progress(current_user, match, action, outcome, form.note.data)
    except DomainError as error:
        return _refuse(match, error, form.action.data, progress_form=form)
    db.session.commit()
    flash(_("Recorded."), "success")
    return redirect(url_for("matches.detail", match_id=match_id))


# The statuses each facilitator decision starts from (the service refuses the others with its own message).
DECISION_SOURCES = {"approve": ("proposed",), "reject": ("proposed",), "withdraw": ("proposed", "approved")}


@bp.get("/matches/mine")
@login_required
def mine():
    require("match.mine")
    query = visible_matches_query(current_user)
    # What needs an answer first, then what is going on, then what is over.
    rank = case((Match.status == "approved", 0), (Match.status.in_(("accepted", "meeting_held",
                                                                     "agreement_reached", "in_delivery")), 1),
                else_=2)
    matches = db.session.scalars(query.order_by(rank, Match.updated_at.desc(), Match.id.desc())).all()
    return render_template("matches/mine.html", matches=matches, status_labels=MATCH_STATUS_LABELS,
                           response_labels=RESPONSE_LABELS, side=lambda m: match_side(current_user, m))


@bp.get("/inbox")
@login_required
def inbox():
    require("inbox.view")
    query = select(Notification).where(Notification.user_id == current_user.id).order_by(
        Notification.created_at.desc(), Notification.id.desc())
    page = db.paginate(query, page=page_arg(), per_page=30, error_out=False)
    return render_template("inbox/index.html", page=page)


@bp.post("/inbox/read")
@login_required
def mark_read():
    require("inbox.view")
    db.session.execute(update(Notification).where(Notification.user_id == current_user.id,
                                                  Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
    flash(_("All messages marked as read."), "info")
    return redirect(url_for("matches.inbox"))

