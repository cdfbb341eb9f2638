"""Forms for needs."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from matchmaker.field_rules import FormLength
from matchmaker.forms import BaseForm, MultiCheckboxField, TextLimit, strip_filter, submission_key
from matchmaker.reference import (
    AREA_OPTIONS,
    BENEFICIARIES,
    DELIVERY_LANGUAGES,
    NEED_STATUS_LABELS,
    POLICY_AREAS,
    PRIORITIES,
    SUPPORT_KINDS,
    TEXT_LANGUAGES,
    choices,
    options,
    with_any,
)
from matchmaker.services.need_list import NeedFilters


class NeedForm(BaseForm):
    """Create or edit a need."""

    title = StringField(_l("Title"), filters=[strip_filter], validators=[DataRequired(), FormLength("title")])
    description = TextAreaField(
        _l("Description"),
        filters=[strip_filter],
        validators=[DataRequired(), FormLength("description")],
        description=_l("The situation today, what is missing, who would benefit and what support you want."),
    )
    language = SelectField(_l("Language of this text"), choices=choices(TEXT_LANGUAGES), validators=[InputRequired()])
    policy_areas = MultiCheckboxField(_l("Policy areas"), choices=choices(POLICY_AREAS),
                                      validators=[DataRequired(message=_l("Choose at least one policy area."))])
    support_kinds = MultiCheckboxField(_l("Kinds of support wanted"), choices=choices(SUPPORT_KINDS),
                                       validators=[DataRequired(message=_l("Choose at least one kind of support."))])
    delivery_languages = MultiCheckboxField(
        _l("Languages the support can be delivered in"), choices=choices(DELIVERY_LANGUAGES),
        validators=[DataRequired(message=_l("Choose at least one language."))])
    beneficiaries = MultiCheckboxField(_l("Who would benefit"), choices=choices(BENEFICIARIES), validators=[Optional()])
    start_date = DateField(_l("Desired start"), validators=[Optional()])
    end_date = DateField(_l("Desired end"), validators=[Optional()])
    priority = SelectField(_l("Priority"), choices=choices(PRIORITIES), default="medium", validators=[InputRequired()])
    attributed = BooleanField(
        _l("Partners may see that this need comes from our member before a match is approved"))
    # The version the user started from: a save over someone else's newer change is refused.
    version = HiddenField()
    submission = submission_key()
    submit = SubmitField(_l("Save"))

    def validate_end_date(self, field) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end date must be after the start date."))

    def fields_dict(self) -> dict:
        return {
            name: getattr(self, name).data
            for name in ("title", "description", "language", "policy_areas", "support_kinds", "delivery_languages",
                         "beneficiaries", "start_date", "end_date", "priority", "attributed")
        }


class TransitionForm(BaseForm):
    """A life-cycle button, with an optional or required reason."""

    reason = TextAreaField(_l("Comment"), filters=[strip_filter], validators=[Optional(), TextLimit()])


class NeedFilterForm(BaseForm):
    """The filters above the list of needs (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[strip_filter], validators=[Optional(), FormLength("search")])
    status = SelectField(_l("Status"), choices=with_any(choices(NEED_STATUS_LABELS)), validators=[Optional()])
    policy_area = SelectField(_l("Policy area"), choices=with_any(choices(POLICY_AREAS)), validators=[Optional()])
    region = SelectField(_l("Region"), choices=with_any(choices(AREA_OPTIONS)), validators=[Optional()])
    ldc = SelectField(_l("LDC"), choices=with_any(options([("yes", _l("LDCs only")), ("no", _l("Not LDCs"))])),
                      validators=[Optional()])
    language = SelectField(_l("Language"), choices=with_any(choices(TEXT_LANGUAGES)), validators=[Optional()])

    def filters(self) -> NeedFilters:
        """The filters chosen (call after validate)."""
        data = self.data
        return NeedFilters(q=data["q"] or None, status=data["status"] or None, policy_area=data["policy_area"] or None,
                           region=data["region"] or None, ldc=(data["ldc"] == "yes") if data["ldc"] else None,
                           language=data["language"] or None)
