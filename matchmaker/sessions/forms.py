"""Forms for matchmaking sessions."""
from __future__ import annotations

from datetime import date
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from matchmaker.forms import BaseForm, MultiCheckboxField, strip_filter
from matchmaker.reference import OUTCOME_LABELS, POLICY_AREAS, SESSION_MODE_LABELS, choices, options
from matchmaker.services.suppression import MIN_MEMBERS

MAX_DAY_MINUTES = 16 * 60


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """The IANA time zone names this system knows."""
    return frozenset(available_timezones())


def is_web_link(value: str) -> bool:
    """An http(s) address with a host and no spaces: what a participant can open to join."""
    if not value or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port_ok


class SessionForm(BaseForm):
    """Create or edit a session."""

    title = StringField(_l("Title"), filters=[strip_filter], validators=[DataRequired(), Length(min=5, max=200)])
    theme = TextAreaField(_l("Theme"), filters=[strip_filter], validators=[Optional(), Length(max=2000)],
                          description=_l("What the meetings are about, in a sentence or two."))
    policy_areas = MultiCheckboxField(_l("Policy areas"), choices=choices(POLICY_AREAS), validators=[Optional()])
    date = DateField(_l("Date"), validators=[InputRequired()])
    start_time = TimeField(_l("Start time"), validators=[InputRequired()])
    time_zone = StringField(_l("Time zone"), filters=[strip_filter], default="Europe/Zurich",
                            validators=[DataRequired(), Length(max=64)],
                            description=_l("Its IANA name, e.g. Europe/Zurich (Geneva), America/New_York, "
                                           "Africa/Nairobi, Asia/Bangkok."))
    mode = SelectField(_l("Format"), choices=choices(SESSION_MODE_LABELS), default="in_person",
                       validators=[InputRequired()])
    place = StringField(_l("Place (in person)"), filters=[strip_filter], validators=[Optional(), Length(max=300)],
                        description=_l("Building and room, e.g. WTO, Centre William Rappard, Room S1."))
    link = StringField(_l("Link (online)"), filters=[strip_filter], validators=[Optional(), Length(max=500)],
                       description=_l("The address of the video meeting, starting with https://"))
    slot_minutes = IntegerField(_l("Length of a bilateral meeting (minutes)"), default=20,
                                validators=[InputRequired(), NumberRange(min=5, max=240)])
    rounds = IntegerField(_l("Number of time slots"), default=6,
                          validators=[InputRequired(), NumberRange(min=1, max=48)],
                          description=_l("Rounds of bilateral meetings, one after the other."))
    tables = IntegerField(_l("Parallel tables"), default=5, validators=[InputRequired(), NumberRange(min=1, max=100)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    is_new = False

    def validate_date(self, field) -> None:
        if self.is_new and field.data and field.data < date.today():
            raise ValidationError(_l("The date is in the past."))

    def validate_time_zone(self, field) -> None:
        if field.data not in time_zones():
            raise ValidationError(_l("Unknown time zone: use an IANA name such as Europe/Zurich."))

    def validate_place(self, field) -> None:
        if self.mode.data == "in_person" and not field.data:
            raise ValidationError(_l("Say where the session takes place."))

    def validate_link(self, field) -> None:
        if self.mode.data == "online" and not field.data:
            raise ValidationError(_l("Give the link participants use to join."))
        if field.data and not is_web_link(field.data):
            raise ValidationError(_l("Give a web address starting with http:// or https://."))

    def validate_rounds(self, field) -> None:
        if field.data and self.slot_minutes.data and field.data * self.slot_minutes.data > MAX_DAY_MINUTES:
            raise ValidationError(_l("The session would last more than 16 hours: fewer slots or shorter meetings."))

    def fields_dict(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "title", "theme", "policy_areas", "date", "start_time", "time_zone", "mode", "place", "link",
            "slot_minutes", "rounds", "tables")} | {"theme": self.theme.data or None, "place": self.place.data or None,
                                                     "link": self.link.data or None}


class InviteForm(BaseForm):
    # Not "matches": a form control of that name would hide the form element's own matches() in the page's DOM.
    match_ids = MultiCheckboxField(_l("Matches to invite"), coerce=int, choices=[],
                                 validators=[DataRequired(message=_l("Tick at least one match to invite."))])


class AvailabilityForm(BaseForm):
    rounds = MultiCheckboxField(_l("Time slots you can attend"), coerce=int, choices=[], validators=[Optional()])


def match_number(label) -> IntegerField:
    """A match's number as shown on the agenda: small forms instead of lists of every meeting on a large session."""
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=1, max=2**31 - 1)])


class RemoveForm(BaseForm):
    match = match_number(_l("Match number"))


class MoveForm(BaseForm):
    match = match_number(_l("Match number"))
    round = SelectField(_l("Time slot"), coerce=int, choices=[], validators=[InputRequired()])
    table = SelectField(_l("Table"), choices=[], validators=[Optional()])


class SwapForm(BaseForm):
    first = match_number(_l("Match number"))
    second = match_number(_l("Swap with match number"))


class OutcomeForm(BaseForm):
    match = SelectField(_l("Meeting"), coerce=int, choices=[], validators=[InputRequired()])
    outcome = SelectField(_l("Outcome of the meeting"), choices=options([("", "—")] + list(OUTCOME_LABELS.items())),
                          validators=[DataRequired(message=_l("Choose the outcome of the meeting."))])
    note = TextAreaField(_l("Note"), filters=[strip_filter], validators=[Optional(), Length(max=2000)])


class SummaryForm(BaseForm):
    summary = TextAreaField(_l("Facilitator's summary (facilitators only)"), filters=[strip_filter],
                            validators=[Optional(), Length(max=20000)],
                            description=_l("What was agreed and who follows up; only facilitators see it."))
    public_summary = TextAreaField(
        _l("Non-attributable summary (shared with the participants)"), filters=[strip_filter],
        validators=[Optional(), Length(max=20000)],
        description=_l("Chatham House rule: name no member and no participant. Figures about fewer than %(min)d "
                       "members are left out.", min=MIN_MEMBERS))
    version = HiddenField()
    submit = SubmitField(_l("Save the summaries"))


class ActionForm(BaseForm):
    """A button that changes the session's state (CSRF only)."""
