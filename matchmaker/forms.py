"""Form building blocks shared by every blueprint."""
from __future__ import annotations

from flask import flash
from flask_babel import format_number
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import HiddenField, SelectMultipleField, StringField, TextAreaField, ValidationError, widgets
from wtforms.validators import Optional, Regexp

from matchmaker.field_rules import LIMITS
from matchmaker.i18n import form_translations
from matchmaker.safe_text import text_problem
from matchmaker.services.submissions import KEY_PATTERN


class BaseForm(FlaskForm):
    """A CSRF-protected form that also refuses, in every text field, what no text may hold (safe_text.py)."""

    class Meta:
        def render_field(self, field, render_kw):
            # The CSRF field without an id: a page with several forms would otherwise repeat id="csrf_token".
            if field.type == "CSRFTokenField":
                return Markup('<input type="hidden" name="%s" value="%s">') % (field.name, field._value())
            return super().render_field(field, render_kw)

        def get_translations(self, form):
            return form_translations(super().get_translations(form))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for field in self:
            if isinstance(field, (StringField, TextAreaField)) and isinstance(field.data, str):
                problem = text_problem(field.data)
                if problem:
                    field.errors = list(field.errors) + [problem]
                    ok = False
        return ok


def submission_key() -> HiddenField:
    """A create form's one-time key: the same form posted twice gives back the first record (services/submissions)."""

    return HiddenField(validators=[Optional(), Regexp(KEY_PATTERN)])


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes (works without JavaScript)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def strip_filter(value):
    return value.strip() if isinstance(value, str) else value


def with_scheme(value):
    """A web address typed without its scheme ("example.org", "www.example.org/x") gets https:// in front."""
    if isinstance(value, str) and value and "://" not in value and not any(c.isspace() for c in value) \
            and "." in value.split("/")[0] and not value.startswith(("/", "mailto:", "javascript:")):
        return "https://" + value
    return value


def show_refusal(form, error) -> None:
    """A service's refusal (a DomainError) at the top of the page, and by its field when it names one of the form's."""
    flash(error.message, "error")
    if error.field and error.field in form:
        form[error.field].errors = list(form[error.field].errors) + [error.message]


class TextLimit:
    """At most as many characters as ``field_rules.LIMITS[name]`` allows (read when checking); a refusal gives the
    text's length and the limit, written the user's way."""

    def __init__(self, name: str = "comment"):
        self.name = name

    @property
    def max(self) -> int:
        return LIMITS[self.name].max

    @property
    def field_flags(self) -> dict:
        return {"maxlength": self.max}

    def __call__(self, form, field) -> None:
        length = len(field.data or "")
        if length > self.max:
            raise ValidationError(_("This text is too long: %(length)s characters, the limit is %(max)s.",
                                    length=format_number(length), max=format_number(self.max)))
