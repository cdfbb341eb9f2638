"""Form building blocks shared by every blueprint."""
from __future__ import annotations

from flask import flash
from flask_babel import format_number, get_locale
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import HiddenField, SelectMultipleField, StringField, TextAreaField, ValidationError, widgets
from wtforms.validators import Optional, Regexp

from matchmaker.field_rules import LIMITS
from matchmaker.i18n import form_translations
from matchmaker.safe_text import text_problem
from matchmaker.services.submissions import KEY_PATTERN


class RememberedSelect(widgets.Select):
    """WTForms' drop-down list, the same markup, built once per process for each language, list of choices, choice
    made and attributes: a list page's filters render ~40 options (a translated label, escaping and attributes each,
    ~25% of the page), the same ones on almost every request. Lists whose labels are neither text nor lazily
    translated text, and grouped lists, are built each time."""

    LIMIT = 4096                        # kinds of lists remembered; beyond, the memory starts afresh

    def __init__(self):
        super().__init__()
        self.markup: dict[tuple, Markup] = {}

    def __call__(self, field, **kwargs) -> Markup:
        key = self.key(field, kwargs)
        if key is None:
            return super().__call__(field, **kwargs)
        found = self.markup.get(key)
        if found is None:
            if len(self.markup) >= self.LIMIT:
                self.markup.clear()
            found = self.markup[key] = super().__call__(field, **kwargs)
        return found

    @staticmethod
    def key(field, kwargs: dict) -> tuple | None:
        """What the markup depends on, or None when some of it cannot be told apart by value."""
        if field.has_groups():
            return None
        options = []
        for choice in field.iter_choices():
            if not isinstance(choice.label, str | LazyString):
                return None
            label = str(choice.label)        # translated: the locale is part of the key anyway
            options.append((choice.value, label, choice.selected, tuple(sorted((choice.render_kw or {}).items()))))
        flags = tuple(bool(getattr(field.flags, name, False)) for name in widgets.Select.validation_attrs)
        try:
            key = (str(get_locale()), field.id, field.name, flags, tuple(sorted(kwargs.items())), tuple(options))
            hash(key)
        except TypeError:               # an attribute or a value that is not a plain value
            return None
        return key


REMEMBERED_SELECT = RememberedSelect()


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

        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            if type(field.widget) is widgets.Select and not field.widget.multiple:
                field.widget = REMEMBERED_SELECT
            return field

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
