"""Forms of the API token section of the account page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from matchmaker.forms import BaseForm, strip_filter


class ApiTokenForm(BaseForm):
    """Name a new personal API token."""

    name = StringField(_l("Token name"), filters=[strip_filter], validators=[DataRequired(), Length(max=80)],
                       description=_l("What the token is for, e.g. “Programme database sync”."))
    submit = SubmitField(_l("Create token"))


class RevokeTokenForm(BaseForm):
    """The revoke button (CSRF only)."""
