"""The offering life cycle: draft -> published -> closed (or expired at its deadline)."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from matchmaker.errors import DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.models import Offering, User
from matchmaker.models.base import today, utcnow
from matchmaker.permissions import can
from matchmaker.services.audit import record
from matchmaker.services.life_cycle import Steps, allowed_steps, step_target, write_changes
from matchmaker.services.matching import propose_for_offering

EDITABLE_FIELDS = (
    "title", "description", "language", "policy_areas", "support_kinds", "delivery_languages",
    "beneficiaries", "eligibility", "eligible_regions", "eligible_members", "capacity", "deadline",
    "contact_name", "contact_email",
)

TRANSITIONS: Steps = {
    "publish": (("draft",), "published", "offering.publish"),
    "close": (("published",), "closed", "offering.close"),
}


def _check_fields(fields: dict[str, Any]) -> None:
    eligibility = fields.get("eligibility")
    if eligibility == "regions" and not fields.get("eligible_regions"):
        raise DomainError(_("Choose at least one region, or another kind of eligibility."), field="eligible_regions")
    if eligibility == "members" and not fields.get("eligible_members"):
        raise DomainError(_("Choose at least one member, or another kind of eligibility."), field="eligible_members")
    if eligibility not in ("regions", None):
        fields["eligible_regions"] = []
    if eligibility not in ("members", None):
        fields["eligible_members"] = []


def deadline_passed(deadline: date | None, today: date) -> bool:
    """An application deadline before today: refused when an offering is saved with it, and at publication."""
    return deadline is not None and deadline < today


def _check_deadline(deadline: date | None) -> None:
    if deadline_passed(deadline, today()):
        raise DomainError(_("The application deadline has passed: choose a later date, or leave it empty."),
                          field="deadline")


def create_offering(actor: User, fields: dict[str, Any]) -> Offering:
    """A partner drafts an offering for their organisation."""
    if not can(actor, "offering.create"):
        raise NotPermitted(_("Only partners can list offerings for their organisation."))
    _check_fields(fields)
    _check_deadline(fields.get("deadline"))
    offering = Offering(organisation_id=actor.organisation_id, created_by=actor, status="draft",
                        **{k: fields[k] for k in EDITABLE_FIELDS if k in fields})
    db.session.add(offering)
    db.session.flush()
    record(actor, "offering.created", offering)
    return offering


def update_offering(actor: User, offering: Offering, fields: dict[str, Any]) -> None:
    """A partner edits their organisation's offering until it is closed."""
    if not can(actor, "offering.edit", offering):
        raise NotPermitted(_("You may not edit this offering."))
    if offering.is_final:
        raise TransitionNotAllowed(_("This offering is closed and can no longer be edited."))
    _check_fields(fields)
    if "deadline" in fields and fields["deadline"] != offering.deadline:
        # A deadline that passed while the offering was listed stays; a new one must be in the future.
        _check_deadline(fields["deadline"])
    write_changes(actor, offering, fields, EDITABLE_FIELDS, "offering.updated")


def allowed_transitions(actor: User, offering: Offering) -> list[str]:
    return allowed_steps(actor, offering, TRANSITIONS)


def transition(actor: User, offering: Offering, action: str, today: date, reason: str | None = None,
               propose: bool = True) -> None:
    """Publish or close an offering; an offering whose deadline has passed cannot be published.

    A publication proposes the offering to open needs at once, unless ``propose`` is False: an import publishes
    many and proposes them together afterwards (services.matching.propose_for_offerings)."""
    target = step_target(actor, offering, action, TRANSITIONS, refused=_("You may not do this to this offering."),
                         too_late=_("This offering is no longer in a state where that can be done."))
    if action == "publish" and deadline_passed(offering.deadline, today):
        raise DomainError(_("The application deadline has passed; set a later one before publishing."))
    previous = offering.status
    offering.status = target
    if action == "publish":
        offering.published_at = utcnow()
    else:
        offering.closed_at = utcnow()
    record(actor, f"offering.{action}", offering, reason=(reason or "").strip() or None,
           **{"from": previous, "to": target})
    if action == "publish" and propose:
        propose_for_offering(offering, actor, today=today)
