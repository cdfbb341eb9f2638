"""The API's offerings: list (with the list page's filters), create, read, change, publish and close."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from matchmaker.api import schemas
from matchmaker.api.common import (
    Seen,
    actor,
    apply_patch,
    bp,
    check_members_exist,
    check_version,
    create_once,
    document_errors,
    load,
    paginate,
)
from matchmaker.extensions import db
from matchmaker.models import Offering
from matchmaker.services import offering_list
from matchmaker.services import offerings as offerings_service
from matchmaker.services.offering_list import OfferingFilters


def offering_seen(offering: Offering) -> Seen:
    """An offering with the status its readers see (expired after the deadline)."""
    return Seen(offering, display_status=offering.display_status(date.today()))


@bp.route("/offerings", methods=["GET"])
@bp.arguments(schemas.OfferingFilterArgs, location="query", unknown=schemas.ma.RAISE)
@bp.response(200, schemas.OfferingPageSchema)
@document_errors(401, 422)
def list_offerings(args):
    """Offerings this token's user may see: everyone's published and closed ones, and their organisation's drafts."""
    query = offering_list.offerings_query(actor(), OfferingFilters.from_mapping(args), date.today(),
                                          order=offering_list.BY_ID)
    return paginate(query, args, offering_seen)


@bp.route("/offerings", methods=["POST"])
@bp.arguments(schemas.OfferingInSchema)
@bp.response(201, schemas.OfferingSchema)
@document_errors(400, 401, 403, 422)
def create_offering(data):
    """A partner creates a draft offering for their organisation. Send an `Idempotency-Key` header (12 to 76
    characters) to make the request safe to retry: the same key gives back the offering the first request created."""
    check_members_exist(data.get("eligible_members", []))
    return create_once("offering", Offering, lambda user: offerings_service.create_offering(user, dict(data)),
                       offering_seen)


@bp.route("/offerings/<int:offering_id>", methods=["GET"])
@bp.response(200, schemas.OfferingSchema)
@document_errors(401, 403, 404)
def get_offering(offering_id: int):
    """One offering."""
    return offering_seen(load(Offering, offering_id, "offering.view"))


@bp.route("/offerings/<int:offering_id>", methods=["PATCH"])
@bp.arguments(schemas.OfferingPatchSchema(partial=True))
@bp.response(200, schemas.OfferingSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def update_offering(data, offering_id: int):
    """Change some fields of one of your organisation's offerings (not once it is closed)."""
    offering = load(Offering, offering_id, "offering.edit")
    check_version(offering, data, lambda stored: _(
        "The offering was changed since you read it (version %(stored)d); read it again and send the new version.",
        stored=stored))
    check_members_exist(data.get("eligible_members", []))
    apply_patch(offering, data, offerings_service.EDITABLE_FIELDS, schemas.OfferingInSchema,
                offerings_service.update_offering)
    return offering_seen(offering)


@bp.route("/offerings/<int:offering_id>/transitions", methods=["POST"])
@bp.arguments(schemas.OfferingTransitionSchema)
@bp.response(200, schemas.OfferingSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def transition_offering(data, offering_id: int):
    """Publish a draft, or close a published offering."""
    offering = load(Offering, offering_id, "offering.view")
    offerings_service.transition(actor(), offering, data["action"], today=date.today(), reason=data.get("reason"))
    db.session.commit()
    return offering_seen(offering)
