"""Forms for reviewing and following matches."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from matchmaker.forms import BaseForm, strip_filter
from matchmaker.reference import (
    MATCH_STATUS_LABELS, OUTCOME_LABELS, POLICY_AREAS, REGIONS, TEXT_LANGUAGES, choices, options, with_any,
)


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
    reason = TextAreaField(_l("Reason"), filters=[strip_filter], validators=[Optional(), Length(max=2000)])


class RespondForm(BaseForm):
    answer = SelectField(choices=options([("accept", "accept"), ("decline", "decline")]), validators=[InputRequired()])
    note = TextAreaField(_l("Note (optional)"), filters=[strip_filter], validators=[Optional(), Length(max=2000)])


class ProgressForm(BaseForm):
    action = SelectField(choices=options([(a, a) for a in ("meeting_held", "agreement", "delivery", "complete",
                                                          "close")]), validators=[InputRequired()])
    outcome = SelectField(_l("Outcome of the meeting"), choices=with_any(choices(OUTCOME_LABELS)),
                          validators=[Optional()])
    note = TextAreaField(_l("Note"), filters=[strip_filter], validators=[Optional(), Length(max=2000)])


class ManualMatchForm(BaseForm):
    need = SelectField(_l("Need"), choices=[], validators=[InputRequired()])
    offering = SelectField(_l("Offering"), choices=[], validators=[InputRequired()])
    reason = TextAreaField(_l("Why these two fit (for the record)"), filters=[strip_filter],
                           validators=[Optional(), Length(max=2000)])


class BulkApproveForm(BaseForm):
    reason = StringField(_l("Comment (optional)"), filters=[strip_filter], validators=[Optional(), Length(max=500)])
