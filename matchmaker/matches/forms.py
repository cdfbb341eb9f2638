"""Forms for reviewing and following matches."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional

from matchmaker.forms import BaseForm, TextLimit, strip_filter
from matchmaker.reference import (
    MATCH_STATUS_LABELS,
    OUTCOME_LABELS,
    POLICY_AREAS,
    REGIONS,
    TEXT_LANGUAGES,
    choices,
    options,
    with_any,
)

# The outcomes of a meeting that was held. "Did not take place" is not one of them: it has its own step ("not_held"),
# which records that outcome through the same service (as matchmaking sessions do).
HELD_OUTCOMES = ("cooperation_possible", "informative", "insufficient_interest")
CLOSING_OUTCOMES = ("insufficient_interest",)


def held_outcome_choices() -> list[SelectChoice]:
    """The outcome list under "Meeting held", each choice that closes the match saying so."""
    return [SelectChoice("", "—")] + [
        SelectChoice(code, _("%(outcome)s (closes the match without result)", outcome=OUTCOME_LABELS[code])
                     if code in CLOSING_OUTCOMES else OUTCOME_LABELS[code]) for code in HELD_OUTCOMES]


class QueueFilterForm(BaseForm):
    """Filters above the review queue (GET, no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=with_any(choices(MATCH_STATUS_LABELS)), default="proposed",
                         validators=[Optional()])
    policy_area = SelectField(_l("Policy area"), choices=with_any(choices(POLICY_AREAS)), validators=[Optional()])
    region = SelectField(_l("Region"), choices=with_any(choices(REGIONS)), validators=[Optional()])
    ldc = SelectField(_l("LDC"), choices=with_any(options([("yes", _l("LDCs only")), ("no", _l("Not LDCs"))])),
                      validators=[Optional()])
    language = SelectField(_l("Language of the need"), choices=with_any(choices(TEXT_LANGUAGES)),
                           validators=[Optional()])
    min_score = DecimalField(_l("Score from"), places=2, validators=[Optional(), NumberRange(min=0, max=10)])
    max_score = DecimalField(_l("Score up to"), places=2, validators=[Optional(), NumberRange(min=0, max=10)])
    age = IntegerField(_l("Proposed more than … days ago"), validators=[Optional(), NumberRange(min=0, max=3650)])
    sort = SelectField(_l("Sort by"), choices=options([
        ("score", _l("Highest score first")), ("oldest", _l("Oldest first")), ("newest", _l("Newest first")),
        ("ldc", _l("LDCs first")),
    ]), default="score", validators=[Optional()])


class DecisionForm(BaseForm):
    """Approve, reject (with a reason) or withdraw."""

    action = SelectField(choices=options([("approve", "approve"), ("reject", "reject"), ("withdraw", "withdraw")]),
                         validators=[InputRequired()])
    reason = TextAreaField(_l("Reason"), filters=[strip_filter], validators=[Optional(), TextLimit()])


class RespondForm(BaseForm):
    answer = SelectField(choices=options([("accept", "accept"), ("decline", "decline")]), validators=[InputRequired()])
    note = TextAreaField(_l("Note (optional)"), filters=[strip_filter], validators=[Optional(), TextLimit()])


class ProgressForm(BaseForm):
    """One step of the follow-up; "not_held" is the meeting that did not take place (it closes the match)."""

    action = SelectField(choices=options([(a, a) for a in ("meeting_held", "not_held", "agreement", "delivery",
                                                          "complete", "close")]), validators=[InputRequired()])
    outcome = SelectField(_l("Outcome of the meeting"), choices=held_outcome_choices, validators=[Optional()])
    note = TextAreaField(_l("Note"), filters=[strip_filter], validators=[Optional(), TextLimit()])


class ManualMatchForm(BaseForm):
    """A facilitator's own pairing: both lists start on an empty choice, so nothing is paired by accident."""

    need = SelectField(_l("Need"), choices=[], validators=[InputRequired(message=_l("Choose the need to pair."))])
    offering = SelectField(_l("Offering"), choices=[],
                           validators=[InputRequired(message=_l("Choose the offering to pair."))])
    reason = TextAreaField(_l("Why these two fit (for the record)"), filters=[strip_filter],
                           validators=[Optional(), TextLimit()])

    def set_choices(self, needs, offerings) -> None:
        """Fill both lists, each led by an empty "choose" option."""
        self.need.choices = [SelectChoice("", _l("— Choose a need —"))] + options(
            (str(n.id), f"#{n.id} {n.title}") for n in needs)
        self.offering.choices = [SelectChoice("", _l("— Choose an offering —"))] + options(
            (str(o.id), f"#{o.id} {o.organisation.acronym}: {o.title}") for o in offerings)


class BulkApproveForm(BaseForm):
    reason = StringField(_l("Comment (optional)"), filters=[strip_filter],
                         validators=[Optional(), TextLimit("queue_comment")])
