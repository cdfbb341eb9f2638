"""Marshmallow schemas of the API: strict types in, the same shapes out; the OpenAPI description is made from them."""
from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate, validates_schema

from matchmaker.api.schema_fields import Strict, StrictBoolean, StrictInteger, codes, text
from matchmaker.field_rules import ApiEmail, ApiLength, ApiRange
from matchmaker.models.matches import MATCH_STATUSES, OUTCOMES
from matchmaker.reference import (
    AREA_OPTIONS,
    BENEFICIARIES,
    DELIVERY_LANGUAGES,
    ELIGIBILITY,
    NEED_STATUS_LABELS,
    OFFERING_STATUS_LABELS,
    POLICY_AREAS,
    PRIORITIES,
    REGIONS,
    SUPPORT_KINDS,
    TEXT_LANGUAGES,
)
from matchmaker.services.matches import PROGRESS as MATCH_PROGRESS
from matchmaker.services.needs import TRANSITIONS as NEED_TRANSITIONS
from matchmaker.services.offerings import TRANSITIONS as OFFERING_TRANSITIONS
from matchmaker.services.suppression import MIN_MEMBERS


class ErrorSchema(ma.Schema):
    error = fields.String(required=True, metadata={"description": "The HTTP status name"})
    message = fields.String(required=True, metadata={"description": "What went wrong, for a person"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Messages per field (400 and 422)"})


# ---- reference data -------------------------------------------------------------------------------------------

class VocabularyItemSchema(ma.Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class MemberSchema(ma.Schema):
    code = fields.String(required=True)
    name_en = fields.String(required=True)
    name_fr = fields.String(required=True)
    name_es = fields.String(required=True)
    wto_status = fields.String(required=True)
    is_ldc = fields.Boolean(required=True)
    is_developing = fields.Boolean(required=True)
    region = fields.String(required=True)
    languages = fields.List(fields.String(), required=True, metadata={
        "description": "Official languages and those in common official use (codes of delivery_languages)"})


class OrganisationRefSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    acronym = fields.String(required=True)


class MeSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True)
    member = fields.String(allow_none=True, metadata={"description": "ISO code of the member a delegate acts for"})
    organisation = fields.Nested(OrganisationRefSchema, allow_none=True)


# ---- pagination and filters --------------------------------------------------------------------------------------

class PageArgs(Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class OfferingFilterArgs(PageArgs):
    q = text("search")
    status = fields.String(validate=validate.OneOf(list(OFFERING_STATUS_LABELS)))
    policy_area = fields.String(validate=validate.OneOf(list(POLICY_AREAS)))
    language = fields.String(validate=validate.OneOf(list(DELIVERY_LANGUAGES)),
                             metadata={"description": "A delivery language"})
    organisation = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    mine = fields.Boolean(truthy={"true"}, falsy={"false"},
                          metadata={"description": "Only my organisation's offerings (true or false)"})


class NeedFilterArgs(PageArgs):
    q = text("search")
    status = fields.String(validate=validate.OneOf(list(NEED_STATUS_LABELS)))
    policy_area = fields.String(validate=validate.OneOf(list(POLICY_AREAS)))
    region = fields.String(validate=validate.OneOf(list(AREA_OPTIONS)), metadata={
        "description": "A region or a wider area (americas, asia_pacific, europe_cis); for partners, as the needs "
                       "read (an anonymous need is found under the area it is described by)"})
    ldc = fields.Boolean(truthy={"true"}, falsy={"false"}, metadata={
        "description": "Only needs from LDCs (true) or the others (false); for partners, as the needs read"})
    language = fields.String(validate=validate.OneOf(list(TEXT_LANGUAGES)))


class PaginationSchema(ma.Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


class Page(ma.Schema):
    """One page of a list: the subclass says what its items are."""

    pagination = fields.Nested(PaginationSchema, required=True)


class Transition(Strict):
    """A life-cycle step: the subclass says which actions there are."""

    reason = text("comment", allow_none=True)


def version_sent():
    """The version a PATCH was read at (services compare it with the stored one)."""
    return StrictInteger(validate=validate.Range(min=1, max=2**31 - 1),
                         metadata={"description": "The version you read; a newer stored version gives 409"})


# ---- offerings -----------------------------------------------------------------------------------------------------

class DescriptionIn(Strict):
    """What offerings and needs both start with: the text and what it is about."""

    title = text("title", required=True)
    description = text("description", required=True)
    language = fields.String(required=True, validate=validate.OneOf(list(TEXT_LANGUAGES)))
    policy_areas = codes(POLICY_AREAS, 1, required=True)
    support_kinds = codes(SUPPORT_KINDS, 1, required=True)
    delivery_languages = codes(DELIVERY_LANGUAGES, 1, required=True)
    beneficiaries = codes(BENEFICIARIES)


class OfferingInSchema(DescriptionIn):
    """A new offering (saved as a draft), or the fields to change with PATCH."""

    eligibility = fields.String(validate=validate.OneOf(list(ELIGIBILITY)))
    eligible_regions = codes(REGIONS)
    eligible_members = fields.List(fields.String(validate=validate.Regexp(r"^[A-Z]{2}$")),
                                   validate=ApiLength("eligible_members"),
                                   metadata={"description": "ISO codes of WTO members (see /members)"})
    capacity = StrictInteger(allow_none=True, validate=ApiRange("capacity"))
    deadline = fields.Date(allow_none=True)
    contact_name = text("contact_name", allow_none=True)
    contact_email = fields.Email(allow_none=True, validate=[ApiLength("email"), ApiEmail()])

    @validates_schema
    def check_eligibility(self, data, **kwargs):
        if data.get("eligibility") == "regions" and not data.get("eligible_regions"):
            raise ma.ValidationError(_l("Choose at least one region, or another kind of eligibility."),
                                     "eligible_regions")
        if data.get("eligibility") == "members" and not data.get("eligible_members"):
            raise ma.ValidationError(_l("Choose at least one member, or another kind of eligibility."),
                                     "eligible_members")


class OfferingPatchSchema(OfferingInSchema):
    version = version_sent()


class OfferingSchema(ma.Schema):
    id = fields.Integer(required=True)
    organisation = fields.Nested(OrganisationRefSchema, required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    language = fields.String(required=True)
    policy_areas = fields.List(fields.String(), required=True)
    support_kinds = fields.List(fields.String(), required=True)
    delivery_languages = fields.List(fields.String(), required=True)
    beneficiaries = fields.List(fields.String(), required=True)
    eligibility = fields.String(required=True)
    eligible_regions = fields.List(fields.String(), required=True)
    eligible_members = fields.List(fields.String(), required=True)
    capacity = fields.Integer(allow_none=True, required=True)
    deadline = fields.Date(allow_none=True, required=True)
    contact_name = fields.String(allow_none=True, required=True)
    contact_email = fields.String(allow_none=True, required=True)
    status = fields.String(required=True, metadata={"description": "draft, published or closed"})
    display_status = fields.String(required=True, metadata={"description": "as shown: published turns expired "
                                                                           "after the deadline"})
    iati_identifier = fields.String(allow_none=True, required=True)
    start_date = fields.Date(allow_none=True, required=True)
    end_date = fields.Date(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    published_at = fields.DateTime(allow_none=True, required=True)
    version = fields.Integer(required=True)


class OfferingPageSchema(Page):
    items = fields.List(fields.Nested(OfferingSchema), required=True)


class OfferingTransitionSchema(Transition):
    action = fields.String(required=True, validate=validate.OneOf(list(OFFERING_TRANSITIONS)))


# ---- needs ---------------------------------------------------------------------------------------------------------

class NeedInSchema(DescriptionIn):
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    priority = fields.String(validate=validate.OneOf(list(PRIORITIES)))
    attributed = StrictBoolean(metadata={"description": "Partners may see the member's name before a match"})

    @validates_schema
    def check_dates(self, data, **kwargs):
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            raise ma.ValidationError(_l("The end date must be after the start date."), "end_date")


class NeedPatchSchema(NeedInSchema):
    version = version_sent()


ORIGIN_REGION = ("The member's region; when the member is not named, the region or wider area (americas, "
                 f"asia_pacific, europe_cis) that at least {MIN_MEMBERS} members fit, or null")
ORIGIN_LDC = "Whether the member is an LDC; when it is not named, true or null (not stated)"


class NeedSchema(ma.Schema):
    id = fields.Integer(required=True)
    member = fields.String(allow_none=True, required=True,
                           metadata={"description": "ISO code of the member; null when it is not to be named"})
    member_name = fields.String(allow_none=True, required=True)
    region = fields.String(allow_none=True, required=True, metadata={"description": ORIGIN_REGION})
    is_ldc = fields.Boolean(allow_none=True, required=True, metadata={"description": ORIGIN_LDC})
    title = fields.String(required=True)
    description = fields.String(required=True)
    language = fields.String(required=True)
    policy_areas = fields.List(fields.String(), required=True)
    support_kinds = fields.List(fields.String(), required=True)
    delivery_languages = fields.List(fields.String(), required=True, metadata={
        "description": "When the member is not named, a language that too few members speak may be left out"})
    beneficiaries = fields.List(fields.String(), required=True)
    start_date = fields.Date(allow_none=True, required=True)
    end_date = fields.Date(allow_none=True, required=True)
    priority = fields.String(required=True)
    status = fields.String(required=True)
    attributed = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    version = fields.Integer(required=True)
    names_member = fields.List(fields.String(), required=True, metadata={
        "description": "For the delegation and facilitators: the words by which the title or description names the "
                       "member although partners are not to know it (reword, or return for rewording); else []"})


class NeedPageSchema(Page):
    items = fields.List(fields.Nested(NeedSchema), required=True)


class NeedTransitionSchema(Transition):
    action = fields.String(required=True, validate=validate.OneOf(list(NEED_TRANSITIONS)))


# ---- matches -------------------------------------------------------------------------------------------------------

class MatchFilterArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(list(MATCH_STATUSES)))
    need = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), metadata={"description": "A need's id"})
    offering = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                              metadata={"description": "An offering's id"})
    policy_area = fields.String(validate=validate.OneOf(list(POLICY_AREAS)),
                                metadata={"description": "A policy area of the need"})
    region = fields.String(validate=validate.OneOf(list(REGIONS)), metadata={"description": "The need's region"})
    waiting = fields.Boolean(truthy={"true"}, falsy={"false"},
                             metadata={"description": "Only introductions still waiting for my side's answer "
                                                      "(true), or only the others (false)"})


class MatchNeedSchema(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    member = fields.String(allow_none=True, required=True,
                           metadata={"description": "ISO code of the member; null when it is not to be named"})
    member_name = fields.String(allow_none=True, required=True)
    region = fields.String(allow_none=True, required=True, metadata={"description": ORIGIN_REGION})
    is_ldc = fields.Boolean(allow_none=True, required=True, metadata={"description": ORIGIN_LDC})


class MatchOfferingSchema(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    organisation = fields.Nested(OrganisationRefSchema, required=True)


class MatchTermSchema(ma.Schema):
    term = fields.String(required=True)
    share = fields.Float(required=True, metadata={"description": "The term's share of the score"})


class ContactSchema(ma.Schema):
    name = fields.String(required=True)
    email = fields.String(required=True)
    side = fields.String(required=True, metadata={"description": "need, offering, or programme (the offering's "
                                                                 "contact)"})
    acts_for = fields.String(required=True, metadata={"description": "The member or organisation"})


class MatchSchema(ma.Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "proposed, approved (parties introduced), "
                                                                   "rejected, accepted, declined, meeting_held, "
                                                                   "agreement_reached, in_delivery, completed, "
                                                                   "closed_no_result, superseded or withdrawn"})
    need = fields.Nested(MatchNeedSchema, required=True)
    offering = fields.Nested(MatchOfferingSchema, required=True)
    score = fields.Float(required=True)
    origin = fields.String(required=True, metadata={"description": "engine, or manual (paired by a facilitator)"})
    engine_version = fields.String(required=True)
    terms = fields.List(fields.Nested(MatchTermSchema), required=True,
                        metadata={"description": "The terms that carried the score"})
    shared_facets = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)
    decision_reason = fields.String(allow_none=True, required=True,
                                    metadata={"description": "The facilitator's note on the decision"})
    need_response = fields.String(required=True, metadata={"description": "pending, accepted or declined"})
    need_responded_at = fields.DateTime(allow_none=True, required=True)
    offering_response = fields.String(required=True, metadata={"description": "pending, accepted or declined"})
    offering_responded_at = fields.DateTime(allow_none=True, required=True)
    outcome = fields.String(allow_none=True, required=True, metadata={"description": "The meeting's outcome"})
    outcome_note = fields.String(allow_none=True, required=True)
    my_side = fields.String(allow_none=True, required=True,
                            metadata={"description": "need or offering: the party you act for; null for facilitators"})
    can_respond = fields.Boolean(required=True, metadata={"description": "You may accept or decline now"})
    next_steps = fields.List(fields.String(), required=True,
                             metadata={"description": "Progress actions you may record now"})
    contacts = fields.List(fields.Nested(ContactSchema), required=True,
                           metadata={"description": "The parties' contacts, once they are introduced"})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    version = fields.Integer(required=True)


class MatchPageSchema(Page):
    items = fields.List(fields.Nested(MatchSchema), required=True)


class MatchResponseInSchema(Strict):
    """A party's answer to an introduction."""

    answer = fields.String(required=True, validate=validate.OneOf(["accept", "decline"]))
    note = text("comment", allow_none=True)


class MatchProgressInSchema(Strict):
    """What happened after the introduction."""

    action = fields.String(required=True, validate=validate.OneOf(list(MATCH_PROGRESS)),
                           metadata={"description": "meeting_held (with its outcome), agreement, delivery, complete, "
                                                    "or close (without result, with a note saying why)"})
    outcome = fields.String(allow_none=True, validate=validate.OneOf(list(OUTCOMES)),
                            metadata={"description": "Required with meeting_held, and only there"})
    note = text("comment", allow_none=True)

    @validates_schema
    def check_step(self, data, **kwargs):
        action, outcome, note = data.get("action"), data.get("outcome"), (data.get("note") or "").strip()
        if action == "meeting_held" and not outcome:
            raise ma.ValidationError(_l("Choose the outcome of the meeting."), "outcome")
        if action != "meeting_held" and outcome:
            raise ma.ValidationError(_l("An outcome is recorded with the meeting only."), "outcome")
        if action == "close" and not note:
            raise ma.ValidationError(_l("Say briefly why the match ends without result."), "note")
