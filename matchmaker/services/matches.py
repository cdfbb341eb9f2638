"""The match life cycle: decisions, introductions, the parties' responses and the outcome, with notifications."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError

from matchmaker.engine import ENGINE_VERSION
from matchmaker.errors import ConcurrentUpdate, DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.mail import send_after_commit
from matchmaker.models import Match, Need, Notification, Offering, User
from matchmaker.models.base import utcnow
from matchmaker.models.matches import OUTCOMES
from matchmaker.permissions import can, match_parties_condition, match_side
from matchmaker.services.accounts import link as absolute
from matchmaker.services.audit import record
from matchmaker.services.matching import capacity_left

# Steps after the introduction: action -> (statuses it may start from, status it leads to).
PROGRESS = {
    "meeting_held": (("accepted",), "meeting_held"),
    "agreement": (("meeting_held",), "agreement_reached"),
    "delivery": (("agreement_reached",), "in_delivery"),
    "complete": (("in_delivery",), "completed"),
    "close": (("accepted", "meeting_held", "agreement_reached", "in_delivery"), "closed_no_result"),
}
FOLLOWING_NEED_STATUSES = ("open", "matched", "in_progress", "fulfilled")


def _flush_decision(match: Match) -> None:
    """Write now, so that a concurrent decision on the same match is detected here and not at commit."""
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise ConcurrentUpdate(_("Another facilitator decided this match first. Reload it to see the decision.")) \
            from error


def sync_need_status(need: Need, actor: User | None) -> None:
    """A need's status follows its matches: matched, in progress, fulfilled (or open again)."""
    if need.status not in FOLLOWING_NEED_STATUSES:
        return
    statuses = set(db.session.scalars(select(Match.status).where(Match.need_id == need.id)))
    if "completed" in statuses:
        target = "fulfilled"
    elif statuses & {"agreement_reached", "in_delivery"}:
        target = "in_progress"
    elif statuses & {"approved", "accepted", "meeting_held"}:
        target = "matched"
    else:
        target = "open"
    if target != need.status:
        previous, need.status = need.status, target
        record(actor, "need.status_followed_matches", need, **{"from": previous, "to": target})


def approve(actor: User, match: Match, today: date | None = None, reason: str | None = None) -> None:
    """A facilitator approves a proposal: the parties are introduced and notified."""
    if not can(actor, "match.review", match):
        raise NotPermitted(_("Only facilitators decide on proposals."))
    if not match.awaits_decision:
        raise TransitionNotAllowed(_("This match was already decided."))
    today = today or date.today()
    if not match.need.is_matchable:
        raise DomainError(_("The need is no longer open."))
    if not match.offering.is_open(today):
        raise DomainError(_("The offering is closed or past its deadline."))
    if match.offering.capacity is not None:
        # Two approvals for the last place of one offering: the row lock makes the second wait, then count the
        # first (PostgreSQL; SQLite writers are already serialised by BEGIN IMMEDIATE).
        db.session.execute(select(Offering.id).where(Offering.id == match.offering_id).with_for_update())
    left = capacity_left([match.offering_id]).get(match.offering_id)
    if left is not None and left <= 0:
        raise DomainError(_("The offering has no capacity left for another engagement."))
    match.status, match.decided_by, match.decided_at = "approved", actor, utcnow()
    match.decision_reason = (reason or "").strip() or None
    _flush_decision(match)
    record(actor, "match.approve", match, reason=match.decision_reason)
    sync_need_status(match.need, actor)
    notify_parties(match, "introduced", exclude=actor)


def reject(actor: User, match: Match, reason: str) -> None:
    """A facilitator rejects a proposal, saying why."""
    if not can(actor, "match.review", match):
        raise NotPermitted(_("Only facilitators decide on proposals."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the proposal is rejected."))
    if not match.awaits_decision:
        raise TransitionNotAllowed(_("This match was already decided."))
    match.status, match.decided_by, match.decided_at, match.decision_reason = "rejected", actor, utcnow(), reason
    _flush_decision(match)
    record(actor, "match.reject", match, reason=reason)


def withdraw(actor: User, match: Match, reason: str | None) -> None:
    """A facilitator withdraws a proposal or an introduction that should not go on."""
    if not can(actor, "match.review", match):
        raise NotPermitted(_("Only facilitators withdraw matches."))
    if not match.may_be_withdrawn:
        raise TransitionNotAllowed(_("This match can no longer be withdrawn."))
    previous, match.status = match.status, "withdrawn"
    _flush_decision(match)
    record(actor, "match.withdraw", match, reason=(reason or "").strip() or None, **{"from": previous})
    sync_need_status(match.need, actor)
    if previous == "approved":
        notify_parties(match, "withdrawn", exclude=actor)


def create_manual(actor: User, need: Need, offering: Offering, reason: str | None) -> Match:
    """A facilitator pairs a need with an offering the engine did not propose."""
    if not can(actor, "match.review"):
        raise NotPermitted(_("Only facilitators create matches."))
    if not need.is_matchable:
        raise DomainError(_("Only open needs can be matched."))
    if offering.status != "published":
        raise DomainError(_("Only published offerings can be matched."))
    if db.session.scalar(select(Match).where(Match.need_id == need.id, Match.offering_id == offering.id)):
        raise DomainError(_("These two are already paired: open the existing match instead."))
    match = Match(need=need, offering=offering, score=0.0, text_score=0.0, engine_version=ENGINE_VERSION,
                  origin="manual", status="proposed", terms=[], shared_facets=_shared_facets(need, offering))
    db.session.add(match)
    db.session.flush()
    record(actor, "match.created_by_hand", match, reason=(reason or "").strip() or None)
    return match


def _shared_facets(need: Need, offering: Offering) -> dict:
    shared = {}
    for key in ("policy_areas", "support_kinds", "delivery_languages"):
        common = sorted(set(getattr(need, key) or ()) & set(getattr(offering, key) or ()))
        if common:
            shared[key] = common
    return shared


def respond(actor: User, match: Match, accept: bool, note: str | None = None) -> None:
    """A party accepts or declines the introduction; both accepting makes it accepted, one declining ends it."""
    side = match_side(actor, match)
    if side is None:
        raise NotPermitted(_("Only the two parties answer an introduction."))
    if match.status != "approved":
        raise TransitionNotAllowed(_("This introduction is no longer waiting for an answer."))
    field = "need_response" if side == "need" else "offering_response"
    if getattr(match, field) != "pending":
        raise TransitionNotAllowed(_("Your side has already answered."))
    setattr(match, field, "accepted" if accept else "declined")
    setattr(match, f"{field[:-9]}_responded_at", utcnow())
    if not accept:
        match.status = "declined"
    elif match.need_response == "accepted" and match.offering_response == "accepted":
        match.status = "accepted"
    _flush_decision(match)
    record(actor, "match.accept" if accept else "match.decline", match, side=side,
           reason=(note or "").strip() or None)
    sync_need_status(match.need, actor)
    notify_parties(match, "accepted" if match.status == "accepted" else "declined" if not accept else "answered",
                   exclude=actor)


def progress_target(action: str, outcome: str | None) -> str:
    """The status a follow-up step leads to: a meeting that did not take place, or found too little interest, ends
    the match without result."""
    if action == "meeting_held" and outcome in ("did_not_take_place", "insufficient_interest"):
        return "closed_no_result"
    return PROGRESS[action][1]


def progress(actor: User, match: Match, action: str, outcome: str | None = None, note: str | None = None) -> None:
    """Record what happened after the introduction: meeting and its outcome, agreement, delivery, completion."""
    if action not in PROGRESS:
        raise TransitionNotAllowed(_("Unknown action."))
    if not can(actor, "match.progress", match):
        raise NotPermitted(_("Only the parties and facilitators follow up a match."))
    sources, _target = PROGRESS[action]
    if match.status not in sources:
        raise TransitionNotAllowed(_("This step does not follow from the match's current state."))
    note = (note or "").strip() or None
    if action == "meeting_held":
        if outcome not in OUTCOMES:
            raise DomainError(_("Choose the outcome of the meeting."))
        match.outcome = outcome
    target = progress_target(action, outcome)
    if action == "agreement" and match.outcome != "cooperation_possible":
        raise DomainError(_("An agreement follows a meeting where cooperation was found possible."))
    if action == "close" and not note:
        raise DomainError(_("Say briefly why the match ends without result."))
    previous, match.status = match.status, target
    if note:
        match.outcome_note = note
    _flush_decision(match)
    record(actor, f"match.{action}", match, reason=note, outcome=outcome, **{"from": previous, "to": target})
    sync_need_status(match.need, actor)
    notify_parties(match, "progress", exclude=actor)


def party_users(match: Match) -> list[User]:
    """The active delegates of the need's member and partners of the offering's organisation."""
    return db.session.scalars(select(User).where(User.active.is_(True), match_parties_condition(match))
                              .order_by(User.id)).all()


@dataclass(frozen=True)
class Contact:
    """Someone to write to about a match, and for which side."""

    name: str
    email: str
    side: str  # need, offering, or programme (the offering's own contact)
    acts_for: str  # the member's or the organisation's name


def contacts(match: Match) -> list[Contact]:
    """The parties' users, then the programme's contact when the offering gives one (see "match.see_contacts")."""
    organisation = match.offering.organisation
    people = [Contact(user.name, user.email, side, match.need.member.name_en if side == "need" else organisation.name)
              for user in party_users(match) for side in [match_side(user, match)]]
    if match.offering.contact_email:
        people.append(Contact(match.offering.contact_name or "", match.offering.contact_email, "programme",
                              organisation.name))
    return people


def open_steps(match: Match) -> list[str]:
    """The follow-up steps that may start from the match's status."""
    return [action for action, (sources, _target) in PROGRESS.items() if match.status in sources]


_MESSAGES = {
    "introduced": lambda m: (
        _("Introduction: %(need)s ↔ %(offering)s", need=m.need.title, offering=m.offering.title),
        _("A facilitator of the e-commerce work programme has introduced a need and a programme that fit each "
          "other. Open the match to see the other party's contact and to accept or decline the introduction.")),
    "accepted": lambda m: (
        _("Both parties accepted: %(need)s ↔ %(offering)s", need=m.need.title, offering=m.offering.title),
        _("Both sides accepted the introduction. Contact each other to plan a first meeting, then record its "
          "outcome on the match page.")),
    "declined": lambda m: (
        _("Introduction declined: %(need)s ↔ %(offering)s", need=m.need.title, offering=m.offering.title),
        _("One of the parties declined the introduction. The facilitators will look for another match.")),
    "answered": lambda m: (
        _("One party accepted: %(need)s ↔ %(offering)s", need=m.need.title, offering=m.offering.title),
        _("The other party accepted the introduction. Please give your answer on the match page.")),
    "progress": lambda m: (
        _("Update on the match %(need)s ↔ %(offering)s", need=m.need.title, offering=m.offering.title),
        _("The match moved to a new stage. Open it to see its timeline.")),
    "withdrawn": lambda m: (
        _("Introduction withdrawn: %(need)s ↔ %(offering)s", need=m.need.title, offering=m.offering.title),
        _("A facilitator withdrew this introduction.")),
}


def _mark_emailed(notification_id: int, ok: bool) -> None:
    """After the commit: record on the inbox message that its e-mail went out."""
    if ok:
        with db.engine.begin() as connection:
            connection.execute(update(Notification).where(Notification.id == notification_id).values(emailed=True))


def notify_parties(match: Match, kind: str, exclude: User | None = None) -> int:
    """Put a message in each party's inbox (and the deciding facilitator's), in their language; e-mail it if SMTP is
    set."""
    recipients = {u.id: u for u in party_users(match)}
    if match.decided_by is not None and kind != "introduced":
        recipients.setdefault(match.decided_by.id, match.decided_by)
    if exclude is not None:
        recipients.pop(exclude.id, None)
    # A path, built without a request (notifications are also sent from commands and background work).
    link = current_app.url_map.bind("localhost").build("matches.detail", {"match_id": match.id})
    return notify_users(recipients.values(), lambda _user: _MESSAGES[kind](match), link, match_id=match.id)


def notify_users(users, message, link: str, match_id: int | None = None) -> int:
    """Write ``message(user)`` -> (subject, body) in each user's language to their inbox; e-mail it if SMTP is set."""
    sent = 0
    for user in users:
        with force_locale(user.language or "en"):
            subject, body = message(user)
            subject, body = str(subject)[:300], str(body)
        note = Notification(user=user, match_id=match_id, subject=subject, body=body, link=link)
        db.session.add(note)
        if current_app.config.get("MAIL_SERVER"):
            with force_locale(user.language or "en"):
                footer = _("Open it here: %(url)s", url=absolute(link))
            db.session.flush([note])
            send_after_commit(db.session, user.email, subject, f"{body}\n\n{footer}\n",
                              on_sent=functools.partial(_mark_emailed, note.id))
        sent += 1
    return sent
