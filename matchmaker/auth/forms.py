"""Forms for signing in, setting passwords and the account page."""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, ValidationError

from matchmaker.forms import BaseForm, strip_filter
from matchmaker.reference import TEXT_LANGUAGES, choices


class LoginForm(BaseForm):
    email = EmailField(_l("E-mail address"), filters=[strip_filter], validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Sign in"))


COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 20,000 most common passwords (see matchmaker/data/README.md for the source)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def _password_strength(form, field) -> None:
    value = field.data or ""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(value) < minimum:
        raise ValidationError(_l("Use at least %(n)d characters.", n=minimum))
    if len(set(value)) < 4 or value.lower().strip() in common_passwords():
        raise ValidationError(_l("This password is too easy to guess."))
    email = getattr(getattr(form, "email_for_check", None), "lower", lambda: "")()
    if email and email.split("@")[0] in value.lower():
        raise ValidationError(_l("Do not use your e-mail address in your password."))


class SetPasswordForm(BaseForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256), _password_strength])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])
    submit = SubmitField(_l("Set password"))


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Change password"))


class ResetRequestForm(BaseForm):
    email = EmailField(_l("E-mail address"), filters=[strip_filter],
                       validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)])
    submit = SubmitField(_l("Send me a link"))


class ProfileForm(BaseForm):
    name = StringField(_l("Name"), filters=[strip_filter], validators=[DataRequired(), Length(max=120)])
    language = SelectField(_l("Preferred language"), choices=choices(TEXT_LANGUAGES), validators=[InputRequired()])
    submit = SubmitField(_l("Save"))
