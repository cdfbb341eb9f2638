"""What needs and offerings share: the life-cycle steps a user may take, the checks before a step, and an edit
that writes and audits only the fields that changed."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from matchmaker.errors import NotPermitted, TransitionNotAllowed
from matchmaker.models import User
from matchmaker.permissions import can
from matchmaker.services.audit import record

# action -> (statuses it may start from, status it leads to, permission it needs)
Steps = dict[str, tuple[tuple[str, ...], str, str]]


def allowed_steps(actor: User, subject: Any, steps: Steps) -> list[str]:
    """The actions this user can take on ``subject`` now (for buttons)."""
    return [
        action for action, (sources, _target, permission) in steps.items()
        if subject.status in sources and can(actor, permission, subject)
    ]


def step_target(actor: User, subject: Any, action: str, steps: Steps, *, refused: str, too_late: str) -> str:
    """The status ``action`` leads ``subject`` to; refuses an unknown action, a user without the step's permission
    (``refused``) and a step that does not start from the current status (``too_late``)."""
    if action not in steps:
        raise TransitionNotAllowed(_("Unknown action."))
    sources, target, permission = steps[action]
    if not can(actor, permission, subject):
        raise NotPermitted(refused)
    if subject.status not in sources:
        raise TransitionNotAllowed(too_late)
    return target


def write_changes(actor: User, subject: Any, fields: dict[str, Any], editable: tuple[str, ...], event: str) -> None:
    """Set the ``editable`` fields whose value differs, and audit ``event`` naming them when any did."""
    changed = sorted(k for k in editable if k in fields and getattr(subject, k) != fields[k])
    for key in changed:
        setattr(subject, key, fields[key])
    if changed:
        record(actor, event, subject, fields=changed)
