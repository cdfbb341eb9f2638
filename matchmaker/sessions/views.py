"""Pages for matchmaking sessions: planning, invitations, availability, the agenda, outcomes and summaries."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from matchmaker.confirm import confirmation_page, confirmed
from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.models import MatchmakingSession
from matchmaker.models.matches import FINAL_MATCH_STATUSES
from matchmaker.permissions import can, require, side_of
from matchmaker.reference import POLICY_AREAS, SESSION_STATUS_LABELS, options
from matchmaker.services import matches as match_service
from matchmaker.services import session_calendar, session_labels, session_queries, session_summary
from matchmaker.services import sessions as service
from matchmaker.sessions.forms import (
    ActionForm,
    AvailabilityForm,
    InviteForm,
    RemoveForm,
    SessionForm,
    SummaryForm,
    SwapForm,
)
from matchmaker.sessions.helpers import (
    LABELS,
    confirm_transition,
    fail,
    meeting_of,
    move_form,
    outcome_form,
    own_meetings,
    short_name,
)
from matchmaker.utils import load_or_404, page_arg, stale

bp = Blueprint("sessions", __name__, url_prefix="/sessions")

@bp.get("/")
@login_required
def index():
    require("session.manage")
    query = select(MatchmakingSession).order_by(MatchmakingSession.date.desc(), MatchmakingSession.id.desc())
    page = db.paginate(query, page=page_arg(), per_page=25, error_out=False)
    return render_template("sessions/index.html", page=page, **LABELS)


@bp.get("/mine")
@login_required
def mine():
    require("session.mine")
    sessions = session_queries.sessions_of(current_user)
    return render_template("sessions/mine.html", sessions=sessions, **LABELS)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    require("session.manage")
    form = SessionForm()
    form.is_new = True
    if request.method == "GET":
        # Prefill from the query string, so that another page (the dashboard's themes) can start a session.
        form.title.data = request.args.get("title", "")[:200]
        form.theme.data = request.args.get("theme", "")[:2000]
        form.policy_areas.data = [a for a in request.args.getlist("policy_area") if a in POLICY_AREAS]
    if form.validate_on_submit():
        try:
            session = service.create_session(current_user, form.fields_dict())
        except DomainError as error:
            fail(error)
        else:
            db.session.commit()
            flash(_("The session was created. Now invite the matches that should meet there."), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_template("sessions/form.html", form=form, session=None), 200 if request.method == "GET" else 422


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
def edit(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.manage")
    if not session.is_planning:
        flash(_("This session is no longer being planned and can no longer be edited."), "error")
        return redirect(url_for("sessions.detail", session_id=session.id))
    form = SessionForm(obj=session)
    if form.is_submitted() and stale(form, session):
        flash(_("This session was changed by someone else while you were editing it, so your changes were not "
                "saved. Compare with the current version and save again."), "error")
        form.version.data = str(session.version)
        return render_template("sessions/form.html", form=form, session=session), 409
    if form.validate_on_submit():
        try:
            changed = service.update_session(current_user, session, form.fields_dict())
        except DomainError as error:
            fail(error)
        else:
            db.session.commit()
            flash(_("Your changes were saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_template("sessions/form.html", form=form, session=session), 200 if request.method == "GET" else 422


@bp.get("/<int:session_id>")
@login_required
def detail(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.view")
    session_queries.preload(session)
    if not can(current_user, "session.manage"):
        return _participant_page(session)
    placed = {(m.round, m.table_no): m for m in session.meetings if m.is_placed}
    unplaced = [m for m in session.meetings if not m.is_placed]
    return render_template(
        "sessions/detail.html", session=session, placed=placed, unplaced=unplaced,
        answered=session_queries.answered_users(session), people=session_queries.people_by_meeting(session),
        conflicts=session_queries.conflicts(session) if session.is_planning else {}, move=move_form(session),
        swap=SwapForm(prefix="swap"), remove=RemoveForm(prefix="remove"), action_form=ActionForm(),
        outcome_form=outcome_form(session),
        next_steps=service.next_steps(session), started=service.has_started(session), **LABELS)


def _participant_page(session: MatchmakingSession):
    """A party's own meetings of the session, its availability and what it should know about its agenda."""
    meetings = sorted(session_queries.meetings_of(current_user, session),
                      key=lambda m: (m.round is None, m.round or 0, m.id))
    return render_template("sessions/participant.html", session=session, meetings=meetings,
                           mine=session_queries.availability_of(current_user, session),
                           warnings=session_queries.attendance_warnings(current_user, session, meetings),
                           side=side_of(current_user), **LABELS)


@bp.route("/<int:session_id>/invite", methods=["GET", "POST"])
@login_required
def invite(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.manage")
    if not session.is_planning:
        flash(_("This session is no longer being planned."), "error")
        return redirect(url_for("sessions.detail", session_id=session.id))
    approved, pending = session_queries.invitable_matches(session)
    form = InviteForm()
    form.match_ids.choices = options((m.id, str(m.id)) for m in approved + pending)
    if form.validate_on_submit():
        try:
            chosen = session_queries.search_matches(form.match_ids.data)
            invited, refused = service.invite(current_user, session, chosen)
        except DomainError as error:
            fail(error)
        else:
            db.session.commit()
            flash(ngettext("%(num)d match invited; its parties were asked for their availability.",
                           "%(num)d matches invited; their parties were asked for their availability.", len(invited)),
                  "success")
            for line in refused:
                flash(line, "error")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_template("sessions/invite.html", session=session, form=form, approved=approved, pending=pending,
                           **LABELS), 200 if request.method == "GET" else 422


@bp.post("/<int:session_id>/remove")
@login_required
def uninvite(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.manage")
    form = RemoveForm(prefix="remove")
    if not form.validate():
        flash(_("Give the number of a match invited to this session."), "error")
        return redirect(url_for("sessions.detail", session_id=session.id) + "#invited")
    try:
        service.uninvite(current_user, session, meeting_of(session, form.match.data))
    except DomainError as error:
        fail(error)
    else:
        db.session.commit()
        flash(_("The match was taken off the session."), "success")
    return redirect(url_for("sessions.detail", session_id=session.id) + "#invited")


@bp.route("/<int:session_id>/availability", methods=["GET", "POST"])
@login_required
def availability(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.view")
    require("session.availability", session)
    form = AvailabilityForm()
    form.rounds.choices = options((r, _("Slot %(n)d, %(time)s", n=r + 1, time=session_labels.round_label(session, r)))
                                  for r in range(session.rounds))
    if request.method == "GET":
        mine = session_queries.availability_of(current_user, session)
        form.rounds.data = list(range(session.rounds)) if mine is None else mine
    if form.validate_on_submit():
        try:
            service.set_availability(current_user, session, form.rounds.data or [])
        except DomainError as error:
            fail(error)
        else:
            db.session.commit()
            flash(_("Thank you: your availability was recorded."), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_template("sessions/availability.html", session=session, form=form,
                           **LABELS), 200 if request.method == "GET" else 422


@bp.post("/<int:session_id>/agenda/build")
@login_required
def build(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.manage")
    if not ActionForm().validate():
        flash(_("The form expired: please try again."), "error")
        return redirect(url_for("sessions.detail", session_id=session.id))
    try:
        agenda = service.build_agenda(current_user, session)
    except DomainError as error:
        fail(error)
    else:
        db.session.commit()
        flash(_("Agenda built: %(placed)s, %(unplaced)s.",
                placed=ngettext("%(num)d meeting placed", "%(num)d meetings placed", len(agenda.placed)),
                unplaced=ngettext("%(num)d could not be placed", "%(num)d could not be placed",
                                  len(agenda.unplaced))),
              "success" if not agenda.unplaced else "warning")
    return redirect(url_for("sessions.detail", session_id=session.id) + "#agenda")


@bp.post("/<int:session_id>/agenda/move")
@login_required
def move(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.manage")
    form = move_form(session)
    if not form.validate():
        flash(_("Give a match number and choose a time slot from the list."), "error")
        return redirect(url_for("sessions.detail", session_id=session.id) + "#change")
    try:
        table = int(form.table.data) if form.table.data else None
        service.move(current_user, session, meeting_of(session, form.match.data), form.round.data, table)
    except DomainError as error:
        fail(error)
    else:
        db.session.commit()
        flash(_("The meeting was moved; its parties were told."), "success")
    return redirect(url_for("sessions.detail", session_id=session.id) + "#agenda")


@bp.post("/<int:session_id>/agenda/swap")
@login_required
def swap(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.manage")
    form = SwapForm(prefix="swap")
    if not form.validate():
        flash(_("Give the numbers of two matches on the agenda."), "error")
        return redirect(url_for("sessions.detail", session_id=session.id) + "#change")
    try:
        service.swap(current_user, session, meeting_of(session, form.first.data),
                     meeting_of(session, form.second.data))
    except DomainError as error:
        fail(error)
    else:
        db.session.commit()
        flash(_("The two meetings were swapped; their parties were told."), "success")
    return redirect(url_for("sessions.detail", session_id=session.id) + "#agenda")


@bp.get("/<int:session_id>/agenda/print")
@login_required
def print_agenda(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.view")
    return render_template("sessions/print.html", session=session, meetings=own_meetings(session), **LABELS)


@bp.get("/<int:session_id>/agenda.ics")
@login_required
def ics(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.view")
    return Response(session_calendar.agenda_ics(current_user, session), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="session-{session.id}.ics"'})


@bp.post("/<int:session_id>/<action>")
@login_required
def transition(session_id: int, action: str):
    if action not in service.TRANSITIONS:
        abort(404)
    session = load_or_404(MatchmakingSession, session_id, "session.manage")
    if not ActionForm().validate():
        flash(_("The form expired: please try again."), "error")
        return redirect(url_for("sessions.detail", session_id=session.id))
    if action in ("cancel", "close") and session.status in service.TRANSITIONS[action][0] and not confirmed():
        return confirm_transition(session, action)
    try:
        service.transition(current_user, session, action)
    except DomainError as error:
        fail(error)
    else:
        db.session.commit()
        flash(_("Done: the session is now “%(status)s”.", status=SESSION_STATUS_LABELS[session.status]), "success")
    return redirect(url_for("sessions.detail", session_id=session.id))


@bp.post("/<int:session_id>/outcome")
@login_required
def outcome(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.manage")
    form = outcome_form(session)
    if not form.validate():
        flash(_("Choose a meeting and its outcome (and keep the note under 2,000 characters)."), "error")
        return redirect(url_for("sessions.detail", session_id=session.id) + "#outcomes")
    meeting = next((m for m in session.meetings if m.match_id == form.match.data), None)
    if meeting is not None and meeting.match.status in ("approved", "accepted") and not confirmed() \
            and match_service.progress_target("meeting_held", form.outcome.data) in FINAL_MATCH_STATUSES:
        return confirmation_page(
            _("Record that the meeting of match #%(n)d found too little interest?", n=meeting.match_id),
            _("The match %(meeting)s ends without result and both parties are told; it cannot be reopened.",
              meeting=short_name(meeting)),
            _("Record the outcome and close the match"),
            url_for("sessions.detail", session_id=session.id) + "#outcomes")
    try:
        fed = service.record_outcome(current_user, session, meeting_of(session, form.match.data),
                                     form.outcome.data, form.note.data)
    except DomainError as error:
        fail(error)
    else:
        db.session.commit()
        flash(_("Outcome recorded; the match moved on accordingly.") if fed else
              _("Outcome recorded for the session (the match itself was not at a stage this outcome follows)."),
              "success")
    return redirect(url_for("sessions.detail", session_id=session.id) + "#outcomes")


@bp.route("/<int:session_id>/summary", methods=["GET", "POST"])
@login_required
def summary(session_id: int):
    session = load_or_404(MatchmakingSession, session_id, "session.manage")
    form = SummaryForm(obj=session)
    if request.method == "GET" and (request.args.get("draft") == "1" or not session.public_summary):
        form.public_summary.data = session_summary.draft_public_summary(session)
    if form.is_submitted() and stale(form, session):
        flash(_("This session was changed by someone else while you were editing it, so your changes were not "
                "saved. Compare with the current version and save again."), "error")
        form.version.data = str(session.version)
        return render_template("sessions/summary.html", session=session, form=form,
                               figures=session_summary.summary_figures(session), **LABELS), 409
    status = 200
    if form.validate_on_submit():
        try:
            service.save_summary(current_user, session, form.summary.data, form.public_summary.data)
        except DomainError as error:
            fail(error)
            status = 422 if error.status_code == 400 else error.status_code
        else:
            db.session.commit()
            flash(_("The summaries were saved."), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    elif request.method == "POST":
        status = 422
    return render_template("sessions/summary.html", session=session, form=form,
                           figures=session_summary.summary_figures(session), **LABELS), status
