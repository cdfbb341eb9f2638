"""The API's needs: list (with the list page's filters), create, read, change and life-cycle steps."""
from __future__ import annotations

from flask_babel import gettext as _

from matchmaker.api import schemas
from matchmaker.api.common import (
    Seen,
    actor,
    apply_patch,
    bp,
    check_version,
    create_once,
    document_errors,
    load,
    paginate,
)
from matchmaker.extensions import db
from matchmaker.imports.exports import origin_fields
from matchmaker.models import Need
from matchmaker.permissions import can, know_members_of_page
from matchmaker.services import anonymity, need_list
from matchmaker.services import needs as needs_service
from matchmaker.services.need_list import NeedFilters


def need_seen(need: Need) -> Seen:
    """A need as the token's user may read it: the member named only where the web page names it."""
    user = actor()
    named = can(user, "need.see_member", need)
    return Seen(need, **origin_fields(need, named), member_name=need.member.name_en if named else None,
                delivery_languages=list(anonymity.shown_need(need, named).delivery_languages),
                names_member=needs_service.names_shown_to(user, need))


@bp.route("/needs", methods=["GET"])
@bp.arguments(schemas.NeedFilterArgs, location="query", unknown=schemas.ma.RAISE)
@bp.response(200, schemas.NeedPageSchema)
@document_errors(401, 422)
def list_needs(args):
    """Needs this token's user may see: a delegate's member's, the open ones for partners (anonymised unless the
    member chose to be named), all but drafts for facilitators."""
    query = need_list.needs_query(actor(), NeedFilters.from_mapping(args), order=need_list.BY_ID)
    return paginate(query, args, need_seen, prepare=lambda needs: know_members_of_page(actor(), needs))


@bp.route("/needs", methods=["POST"])
@bp.arguments(schemas.NeedInSchema)
@bp.response(201, schemas.NeedSchema)
@document_errors(400, 401, 403, 422)
def create_need(data):
    """A delegate drafts a need for their member. Send an `Idempotency-Key` header (12 to 76 characters) to make the
    request safe to retry: the same key gives back the need the first request created."""
    return create_once("need", Need, lambda user: needs_service.create_need(user, dict(data)), need_seen)


@bp.route("/needs/<int:need_id>", methods=["GET"])
@bp.response(200, schemas.NeedSchema)
@document_errors(401, 403, 404)
def get_need(need_id: int):
    """One need (without the member's name when it is not to be shown to you)."""
    return need_seen(load(Need, need_id, "need.view"))


@bp.route("/needs/<int:need_id>", methods=["PATCH"])
@bp.arguments(schemas.NeedPatchSchema(partial=True))
@bp.response(200, schemas.NeedSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def update_need(data, need_id: int):
    """Change some fields of one of your member's needs (not once it is closed)."""
    need = load(Need, need_id, "need.edit")
    check_version(need, data, lambda stored: _(
        "The need was changed since you read it (version %(stored)d); read it again and send the new version.",
        stored=stored))
    apply_patch(need, data, needs_service.EDITABLE_FIELDS, schemas.NeedInSchema, needs_service.update_need)
    return need_seen(need)


@bp.route("/needs/<int:need_id>/transitions", methods=["POST"])
@bp.arguments(schemas.NeedTransitionSchema)
@bp.response(200, schemas.NeedSchema)
@document_errors(400, 401, 403, 404, 409, 422)
def transition_need(data, need_id: int):
    """Submit, withdraw (delegates), open, return or close (facilitators) a need."""
    need = load(Need, need_id, "need.view")
    needs_service.transition(actor(), need, data["action"], reason=data.get("reason"))
    db.session.commit()
    return need_seen(need)
