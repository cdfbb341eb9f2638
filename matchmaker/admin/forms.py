"""Forms for administration."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, EmailField, HiddenField, SelectField, StringField, SubmitField, URLField
from wtforms.validators import URL, AnyOf, DataRequired, Email, InputRequired, Length, Optional

from matchmaker.forms import BaseForm, strip_filter, with_scheme
from matchmaker.reference import ORGANISATION_KINDS, TEXT_LANGUAGES, choices


class InviteForm(BaseForm):
    email = EmailField(_l("E-mail address"), filters=[strip_filter],
                       validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)])
    name = StringField(_l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[], validators=[InputRequired()])
    member = SelectField(_l("Member (for delegates)"), choices=[], validators=[Optional()])
    organisation = SelectField(_l("Organisation (for partners)"), choices=[], validators=[Optional()])
    language = SelectField(_l("Language"), choices=choices(TEXT_LANGUAGES), validators=[InputRequired()])
    submit = SubmitField(_l("Send invitation"))


class UserForm(BaseForm):
    name = StringField(_l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[], validators=[InputRequired()])
    member = SelectField(_l("Member (for delegates)"), choices=[], validators=[Optional()])
    organisation = SelectField(_l("Organisation (for partners)"), choices=[], validators=[Optional()])
    language = SelectField(_l("Language"), choices=choices(TEXT_LANGUAGES), validators=[InputRequired()])
    active = BooleanField(_l("Active (may sign in)"))
    submit = SubmitField(_l("Save"))


class OrganisationForm(BaseForm):
    name = StringField(_l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=200)])
    acronym = StringField(_l("Acronym"), filters=[strip_filter], validators=[DataRequired(), Length(max=30)])
    kind = SelectField(_l("Kind"), choices=choices(ORGANISATION_KINDS), validators=[InputRequired()])
    website = URLField(_l("Website"), filters=[strip_filter, with_scheme],
                       validators=[Optional(), Length(max=300),
                                   URL(require_tld=True, message=_l("Enter a web address such as https://www.example.org."))])
    submit = SubmitField(_l("Save"))


class AuditFilterForm(BaseForm):
    """The filters above the audit log and the sign-ins (GET, no CSRF); the choices come from the view."""

    class Meta:
        csrf = False

    person = SelectField(_l("Person"), choices=[], validators=[Optional()])
    action = SelectField(_l("Action"), choices=[], validators=[Optional()])
    type = SelectField(_l("Record"), choices=[], validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])


class ClearLockForm(BaseForm):
    """Lift one sign-in lock (the hidden fields say which)."""

    kind = HiddenField(validators=[AnyOf(("account", "device", "address"))])
    subject = HiddenField(validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Lift the lock"))
