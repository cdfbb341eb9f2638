"""What the create and edit pages of needs and offerings share: call the service with the form's fields, show a
refusal on the form, or commit, say so and go to the record's page."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect
from flask_babel import gettext as _
from flask_login import current_user

from matchmaker.errors import DomainError
from matchmaker.extensions import db
from matchmaker.forms import show_refusal
from matchmaker.services import submissions


def create_once(form, kind: str, create: Callable, *, replayed: str, saved: str, page_of: Callable[[int], str],
                after: Callable[[Any], None] | None = None):
    """Create a ``kind`` record with ``create(user, fields)``, once per form key: a form sent again goes to the
    record the first one created (``replayed``). A refusal is shown on the form (None: the page shows it again)."""
    claimed, first = submissions.claim(current_user, form.submission.data, kind)
    if first is not None:
        flash(replayed, "info")
        return redirect(page_of(first))
    try:
        created = create(current_user, form.fields_dict())
    except DomainError as error:
        db.session.rollback()
        show_refusal(form, error)
        return None
    submissions.settle(claimed, created)
    db.session.commit()
    flash(saved, "success")
    if after is not None:
        after(created)
    return redirect(page_of(created.id))


def save_edit(form, record, update: Callable, *, page_of: Callable[[int], str],
              after: Callable[[Any], None] | None = None):
    """Save the form's fields with ``update(user, record, fields)``; a refusal is shown on the form (None)."""
    try:
        update(current_user, record, form.fields_dict())
    except DomainError as error:
        show_refusal(form, error)
        return None
    db.session.commit()
    flash(_("Your changes were saved."), "success")
    if after is not None:
        after(record)
    return redirect(page_of(record.id))
