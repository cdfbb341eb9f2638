"""The need life cycle: draft -> submitted -> open -> ... ; every change checked and audited."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from matchmaker.errors import DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.models import Need, User
from matchmaker.models.base import utcnow
from matchmaker.permissions import can
from matchmaker.services import identification
from matchmaker.services.audit import record
from matchmaker.services.life_cycle import Steps, allowed_steps, step_target, write_changes
from matchmaker.services.matching import propose_for_need

EDITABLE_FIELDS = (
    "title", "description", "language", "policy_areas", "support_kinds", "delivery_languages",
    "beneficiaries", "start_date", "end_date", "priority", "attributed",
)

# action -> (statuses it may start from, status it leads to, permission it needs)
TRANSITIONS: Steps = {
    "submit": (("draft",), "submitted", "need.submit"),
    "withdraw": (("draft", "submitted", "open", "matched", "in_progress"), "withdrawn", "need.withdraw"),
    "open": (("submitted",), "open", "need.screen"),
    "return": (("submitted",), "draft", "need.screen"),
    "close": (("submitted", "open", "matched", "in_progress"), "closed", "need.close"),
}


def _check_fields(fields: dict[str, Any]) -> None:
    start, end = fields.get("start_date"), fields.get("end_date")
    if start and end and end < start:
        raise DomainError(_("The end date must be after the start date."), field="end_date")


def create_need(actor: User, fields: dict[str, Any]) -> Need:
    """A delegate drafts a need for their member."""
    if not can(actor, "need.create"):
        raise NotPermitted(_("Only delegates can describe needs for their member."))
    _check_fields(fields)
    need = Need(member_id=actor.member_id, created_by=actor, status="draft",
                **{k: fields[k] for k in EDITABLE_FIELDS if k in fields})
    db.session.add(need)
    db.session.flush()
    record(actor, "need.created", need)
    return need


def update_need(actor: User, need: Need, fields: dict[str, Any]) -> None:
    """A delegate edits their member's need while it is not closed."""
    if not can(actor, "need.edit", need):
        raise NotPermitted(_("You may not edit this need."))
    if need.is_final:
        raise TransitionNotAllowed(_("This need is closed and can no longer be edited."))
    _check_fields(fields)
    write_changes(actor, need, fields, EDITABLE_FIELDS, "need.updated")


def allowed_transitions(actor: User, need: Need) -> list[str]:
    """The actions this user can take on this need now (for buttons)."""
    return allowed_steps(actor, need, TRANSITIONS)


def transition(actor: User, need: Need, action: str, reason: str | None = None) -> None:
    """Move a need along its life cycle; refuses skipped or illegal steps."""
    target = step_target(actor, need, action, TRANSITIONS, refused=_("You may not do this to this need."),
                         too_late=_("This need is no longer in a state where that can be done."))
    reason = (reason or "").strip() or None
    if action == "return" and not reason:
        raise DomainError(_("Say why the need is returned, so that the delegation can improve it."), field="reason")
    previous = need.status
    need.status = target
    now = utcnow()
    if action == "submit":
        need.submitted_at = now
    elif action == "open":
        need.opened_at = now
        need.screening_comment = reason
    elif action == "return":
        need.screening_comment = reason
    record(actor, f"need.{action}", need, reason=reason, **{"from": previous, "to": target})
    if action == "open":
        # Proposals for the newly opened need, from the kept-current index (one query, no refit).
        propose_for_need(need, actor)


def names_shown_to(user: User, need: Need) -> list[str]:
    """The names by which the text names its member although it is not to be named: flagged to the delegation
    (before it submits, it can reword) and to facilitators (at screening, they can return it); nothing is
    rewritten. Nobody else is told."""
    if need.is_final or not (can(user, "need.edit", need) or can(user, "need.screen", need)):
        return []
    return identification.need_names_its_member(need)
