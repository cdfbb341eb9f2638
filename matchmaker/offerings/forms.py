"""Forms for offerings."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from matchmaker.field_rules import FormEmail, FormLength, FormRange
from matchmaker.forms import BaseForm, MultiCheckboxField, strip_filter, submission_key
from matchmaker.reference import (
    BENEFICIARIES,
    DELIVERY_LANGUAGES,
    ELIGIBILITY,
    OFFERING_STATUS_LABELS,
    POLICY_AREAS,
    REGIONS,
    SUPPORT_KINDS,
    TEXT_LANGUAGES,
    choices,
    with_any,
)
from matchmaker.services.offering_list import OfferingFilters


class OfferingForm(BaseForm):
    """Create or edit an offering."""

    title = StringField(_l("Title"), filters=[strip_filter], validators=[DataRequired(), FormLength("title")])
    description = TextAreaField(
        _l("Description"), filters=[strip_filter], validators=[DataRequired(), FormLength("description")],
        description=_l("What the programme does, how it works and what a beneficiary receives."))
    language = SelectField(_l("Language of this text"), choices=choices(TEXT_LANGUAGES), validators=[InputRequired()])
    policy_areas = MultiCheckboxField(_l("Policy areas"), choices=choices(POLICY_AREAS),
                                      validators=[DataRequired(message=_l("Choose at least one policy area."))])
    support_kinds = MultiCheckboxField(_l("Kinds of support offered"), choices=choices(SUPPORT_KINDS),
                                       validators=[DataRequired(message=_l("Choose at least one kind of support."))])
    delivery_languages = MultiCheckboxField(
        _l("Delivery languages"), choices=choices(DELIVERY_LANGUAGES),
        validators=[DataRequired(message=_l("Choose at least one language."))])
    beneficiaries = MultiCheckboxField(_l("Target beneficiaries"), choices=choices(BENEFICIARIES),
                                       validators=[Optional()])
    eligibility = SelectField(_l("Who is eligible"), choices=choices(ELIGIBILITY), default="all_developing",
                              validators=[InputRequired()])
    eligible_regions = MultiCheckboxField(_l("Eligible regions (when limited to regions)"), choices=choices(REGIONS),
                                          validators=[Optional()])
    eligible_members = MultiCheckboxField(_l("Eligible members (when limited to members)"), choices=[],
                                          validators=[Optional()],
                                          description=_l("Tick them by region, or type their names below."))
    # A searchable way in (the browser suggests names from a <datalist>); the names are added to the ticked ones.
    find_members = StringField(_l("Add members by name"), filters=[strip_filter],
                               validators=[Optional(), FormLength("member_names")],
                               description=_l("Start typing a name and pick it from the suggestions; separate "
                                              "several names with semicolons."))
    capacity = IntegerField(_l("Capacity (number of engagements it can take on; empty if not limited)"),
                            validators=[Optional(), FormRange("capacity")])
    deadline = DateField(_l("Application deadline"), validators=[Optional()])
    contact_name = StringField(_l("Contact name"), filters=[strip_filter],
                               validators=[Optional(), FormLength("contact_name")])
    contact_email = EmailField(_l("Contact e-mail"), filters=[strip_filter],
                               validators=[Optional(), FormLength("email"), FormEmail()])
    # The version the user started from: a save over someone else's newer change is refused.
    version = HiddenField()
    submission = submission_key()
    submit = SubmitField(_l("Save"))

    # Member name (or code), case-folded -> code; set by the view with the current language's names.
    member_lookup: dict[str, str] = {}

    def validate_find_members(self, field) -> None:
        unknown = [name for name in self._typed_names() if name.casefold() not in self.member_lookup]
        if unknown:
            raise ValidationError(_l("No developing member is called %(names)s: pick the names from the suggestions.",
                                     names=", ".join(f"“{name}”" for name in unknown[:5])))

    def _typed_names(self) -> list[str]:
        return [name.strip() for name in (self.find_members.data or "").replace(",", ";").split(";") if name.strip()]

    def fields_dict(self) -> dict:
        fields = {
            name: getattr(self, name).data
            for name in ("title", "description", "language", "policy_areas", "support_kinds", "delivery_languages",
                         "beneficiaries", "eligibility", "eligible_regions", "eligible_members", "capacity",
                         "deadline", "contact_name", "contact_email")
        }
        typed = [self.member_lookup[name.casefold()] for name in self._typed_names()]
        fields["eligible_members"] = list(dict.fromkeys((fields["eligible_members"] or []) + typed))
        fields["contact_name"] = fields["contact_name"] or None
        fields["contact_email"] = (fields["contact_email"] or "").lower() or None
        return fields


class OfferingFilterForm(BaseForm):
    """Filters above the list of offerings (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[strip_filter], validators=[Optional(), FormLength("search")])
    status = SelectField(_l("Status"), choices=with_any(choices(OFFERING_STATUS_LABELS)),
                         validators=[Optional()])
    policy_area = SelectField(_l("Policy area"), choices=with_any(choices(POLICY_AREAS)),
                              validators=[Optional()])
    language = SelectField(_l("Delivery language"), choices=with_any(choices(DELIVERY_LANGUAGES)),
                           validators=[Optional()])
    organisation = SelectField(_l("Organisation"), choices=[], validators=[Optional()])

    def filters(self) -> OfferingFilters:
        """The filters chosen (call after validate)."""
        data = self.data
        return OfferingFilters(q=data["q"] or None, status=data["status"] or None,
                               policy_area=data["policy_area"] or None, language=data["language"] or None,
                               organisation=int(data["organisation"]) if data["organisation"] else None)
