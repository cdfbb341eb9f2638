"""What the match pages say: the follow-up steps' labels, the history's sentences, and the question asked before a
step that ends a match."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from matchmaker.confirm import confirmation_page
from matchmaker.models import AuditEvent, Match
from matchmaker.reference import MATCH_EVENT_LABELS, OUTCOME_LABELS, PROGRESS_LABELS

# The follow-up steps offered on the match page. "not_held" is the web page's name for a meeting that did not take
# place: the service records it as the meeting step with that outcome (as matchmaking sessions do), which closes the
# match, so its button says so.
STEP_LABELS = {**PROGRESS_LABELS, "not_held": _l("The meeting did not take place: close the match")}


def history_label(event: AuditEvent) -> str:
    """What one event of a match's history says; a meeting's outcome never contradicts the step that recorded it."""
    detail = event.detail or {}
    outcome = detail.get("outcome")
    if event.action == "match.meeting_held" and outcome:
        if outcome == "did_not_take_place":
            return _("The meeting did not take place: the match was closed without result")
        label = OUTCOME_LABELS.get(outcome, outcome)
        closed = detail.get("to", "closed_no_result" if outcome == "insufficient_interest" else None)
        if closed == "closed_no_result":
            return _("Meeting held (%(outcome)s): the match was closed without result", outcome=label)
        return _("Meeting held (%(outcome)s)", outcome=label)
    return str(MATCH_EVENT_LABELS.get(event.action, event.action))



def _confirm_texts(match: Match, step: str) -> tuple[str, str, str]:
    """The question, its consequence and the button's label before ``step``."""
    pair = _("“%(need)s” ↔ “%(offering)s”", need=match.need.title, offering=match.offering.title)
    if step == "reject":
        return (_("Reject the proposal %(pair)s?", pair=pair),
                _("The proposal is closed with your reason; the parties never hear of it. The engine will not "
                  "propose this pair again."), _("Reject the proposal"))
    if step == "withdraw" and match.status == "approved":
        return (_("Withdraw the introduction %(pair)s?", pair=pair),
                _("Both parties are told that the introduction is withdrawn, and the match ends."),
                _("Withdraw the introduction"))
    if step == "withdraw":
        return (_("Withdraw the proposal %(pair)s?", pair=pair),
                _("The proposal is taken out of the review queue and the match ends."), _("Withdraw the proposal"))
    if step == "decline":
        return (_("Decline the introduction %(pair)s?", pair=pair),
                _("The match ends: the other party and the facilitators are told, and your answer cannot be "
                  "changed. The facilitators may look for another match."), _("Decline the introduction"))
    if step == "complete":
        return (_("Mark the match %(pair)s as completed?", pair=pair),
                _("The match ends as completed: nothing more can be recorded on it, and both parties are told."),
                _("Mark as completed"))
    # close, a meeting that did not take place, or one that found too little interest
    reason = {"not_held": _("The meeting did not take place."),
              "meeting_held": _("The meeting found too little interest.")}.get(step, "")
    return (_("Close the match %(pair)s without result?", pair=pair),
            " ".join(filter(None, [reason, _("The match ends without result and both parties are told; it "
                                             "cannot be reopened.")])), _("Close without result"))


def confirm_step(match: Match, step: str):
    """A step that ends the match: say what happens before doing it."""
    question, consequence, label = _confirm_texts(match, step)
    return confirmation_page(question, consequence, label, url_for("matches.detail", match_id=match.id))
