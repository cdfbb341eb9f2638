"""Writing audit events."""
from __future__ import annotations

from typing import Any

from matchmaker.extensions import db
from matchmaker.models import AuditEvent, User


def record(actor: User | None, action: str, obj: Any, reason: str | None = None, **detail: Any) -> AuditEvent:
    """Add an audit event for ``action`` on ``obj`` to the current transaction."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=type(obj).__name__.lower(),
        object_id=getattr(obj, "id", None),
        reason=reason,
        detail=detail,
    )
    db.session.add(event)
    return event
