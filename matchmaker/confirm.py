"""Asking before an action that cannot be undone: one rule and one page for every such button, without JavaScript.

The rule: an action that leads a record to a final state (a need withdrawn or closed, an offering closed, a match
rejected, withdrawn, declined, completed or closed without result, a session cancelled or closed) asks first. The
button posts its form as usual; without ``confirm=1`` the view answers with a page saying what will happen, which
posts the same form again with ``confirm=1`` (Confirm) or goes back (Cancel). What was typed (a reason, a note)
travels with it and is shown, so nothing is lost. The JSON API does not ask: its clients decide for themselves.
"""
from __future__ import annotations

from flask import render_template, request

CONFIRM_FIELD = "confirm"


def confirmed() -> bool:
    """Whether the posted form came from the confirmation page."""
    return request.form.get(CONFIRM_FIELD) == "1"


def confirmation_page(question: str, consequence: str, confirm_label: str, cancel_url: str,
                      typed_label: str | None = None):
    """The page asking ``question`` before the posted action; ``consequence`` says what will happen."""
    fields = [(name, value) for name, values in request.form.lists() for value in values
              if name not in ("csrf_token", CONFIRM_FIELD)]
    typed = [value for name, value in fields if name in ("reason", "note") and value.strip()]
    return render_template("confirm.html", question=question, consequence=consequence, confirm_label=confirm_label,
                           cancel_url=cancel_url, fields=fields, typed=typed, typed_label=typed_label,
                           action=request.path)
