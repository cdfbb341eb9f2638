"""Forms for offerings."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField, EmailField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from matchmaker.forms import BaseForm, MultiCheckboxField, strip_filter, submission_key
from matchmaker.reference import (
    BENEFICIARIES, DELIVERY_LANGUAGES, ELIGIBILITY, OFFERING_STATUS_LABELS, POLICY_AREAS, REGIONS, SUPPORT_KINDS,
    TEXT_LANGUAGES, choices, options, with_any,
)


class OfferingForm(BaseForm):
    """Create or edit an offering."""

    title = StringField(_l("Title"), filters=[strip_filter], validators=[DataRequired(), Length(min=5, max=200)])
    description = TextAreaField(
        _l("Description"), filters=[strip_filter], validators=[DataRequired(), Length(min=30, max=10000)],
        description=_l("What the programme does, how it works and what a beneficiary receives."))
    language = SelectField(_l("Language of this text"), choices=choices(TEXT_LANGUAGES), validators=[InputRequired()])
    policy_areas = MultiCheckboxField(_l("Policy areas"), choices=choices(POLICY_AREAS),
                                      validators=[DataRequired(message=_l("Choose at least one policy area."))])
    support_kinds = MultiCheckboxField(_l("Kinds of support offered"), choices=choices(SUPPORT_KINDS),
                                       validators=[DataRequired(message=_l("Choose at least one kind of support."))])
    delivery_languages = MultiCheckboxField(
        _l("Delivery languages"), choices=choices(DELIVERY_LANGUAGES),
        validators=[DataRequired(message=_l("Choose at least one language."))])
    beneficiaries = MultiCheckboxField(_l("Target beneficiaries"), choices=choices(BENEFICIARIES), validators=[Optional()])
    eligibility = SelectField(_l("Who is eligible"), choices=choices(ELIGIBILITY), default="all_developing",
                              validators=[InputRequired()])
    eligible_regions = MultiCheckboxField(_l("Eligible regions (when limited to regions)"), choices=choices(REGIONS),
                                          validators=[Optional()])
    eligible_members = SelectMultipleField(_l("Eligible members (when limited to members)"), choices=[],
                                           validators=[Optional()])
    capacity = IntegerField(_l("Capacity (number of engagements it can take on; empty if not limited)"),
                            validators=[Optional(), NumberRange(min=1, max=10000)])
    deadline = DateField(_l("Application deadline"), validators=[Optional()])
    contact_name = StringField(_l("Contact name"), filters=[strip_filter], validators=[Optional(), Length(max=120)])
    contact_email = EmailField(_l("Contact e-mail"), filters=[strip_filter],
                               validators=[Optional(), Length(max=254), Email(check_deliverability=False)])
    # The version the user started from: a save over someone else's newer change is refused.
    version = HiddenField()
    submission = submission_key()
    submit = SubmitField(_l("Save"))

    def fields_dict(self) -> dict:
        fields = {
            name: getattr(self, name).data
            for name in ("title", "description", "language", "policy_areas", "support_kinds", "delivery_languages",
                         "beneficiaries", "eligibility", "eligible_regions", "eligible_members", "capacity",
                         "deadline", "contact_name", "contact_email")
        }
        fields["contact_name"] = fields["contact_name"] or None
        fields["contact_email"] = (fields["contact_email"] or "").lower() or None
        return fields


class OfferingFilterForm(BaseForm):
    """Filters above the list of offerings (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[strip_filter], validators=[Optional(), Length(max=200)])
    status = SelectField(_l("Status"), choices=with_any(choices(OFFERING_STATUS_LABELS)),
                         validators=[Optional()])
    policy_area = SelectField(_l("Policy area"), choices=with_any(choices(POLICY_AREAS)),
                              validators=[Optional()])
    language = SelectField(_l("Delivery language"), choices=with_any(choices(DELIVERY_LANGUAGES)),
                           validators=[Optional()])
    organisation = SelectField(_l("Organisation"), choices=[], validators=[Optional()])
