"""Forms of the import pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField
from wtforms.validators import Optional

from matchmaker.forms import BaseForm, MultiCheckboxField
from matchmaker.reference import POLICY_AREAS, SUPPORT_KINDS, choices


class CsvUploadForm(BaseForm):
    """Upload a CSV file of offerings or needs."""

    file = FileField(_l("CSV file (UTF-8)"), validators=[FileRequired(_l("Choose a file to upload."))])
    # Facilitators import needs on a member's behalf; delegates always for their own member.
    member = SelectField(_l("Member the needs are for"), choices=[], validators=[Optional()])
    submit = SubmitField(_l("Check the file"))


class IatiUploadForm(BaseForm):
    """Upload an IATI activity file, with what IATI does not say."""

    file = FileField(_l("IATI activity file (XML)"), validators=[FileRequired(_l("Choose a file to upload."))])
    default_policy_areas = MultiCheckboxField(
        _l("Policy areas for activities whose sectors map to none"), choices=choices(POLICY_AREAS),
        validators=[Optional()])
    support_kinds = MultiCheckboxField(_l("Kinds of support the activities offer"), choices=choices(SUPPORT_KINDS),
                                       default=["technical_assistance"], validators=[Optional()])
    submit = SubmitField(_l("Check the file"))


class ConfirmForm(BaseForm):
    """The confirm and cancel buttons (CSRF only)."""
