"""The API's reference endpoints: who the token belongs to, the WTO members and the controlled vocabularies."""
from __future__ import annotations

from sqlalchemy import select

from matchmaker.api import schemas
from matchmaker.api.common import Seen, actor, bp, document_errors
from matchmaker.extensions import db
from matchmaker.models import Member
from matchmaker.reference import POLICY_AREAS, VOCABULARIES

VocabulariesSchema = schemas.ma.Schema.from_dict(
    {name: schemas.fields.List(schemas.fields.Nested(schemas.VocabularyItemSchema), required=True)
     for name in VOCABULARIES}, name="Vocabularies")


def _items(vocabulary: dict) -> list[dict[str, str]]:
    return [{"code": code, "label": str(label)} for code, label in vocabulary.items()]


@bp.route("/me", methods=["GET"])
@bp.response(200, schemas.MeSchema)
@document_errors(401)
def me():
    """The user the token belongs to."""
    user = actor()
    return Seen(user, member=user.member.code if user.member else None)


@bp.route("/members", methods=["GET"])
@bp.response(200, schemas.MemberSchema(many=True))
@document_errors(401)
def members():
    """WTO members and observers, with their LDC and developing status and region."""
    return list(db.session.scalars(select(Member).order_by(Member.code)))


@bp.route("/policy-areas", methods=["GET"])
@bp.response(200, schemas.VocabularyItemSchema(many=True))
@document_errors(401)
def policy_areas():
    """The policy areas (UNCTAD eTrade for all), labelled in the request's language."""
    return _items(POLICY_AREAS)


@bp.route("/vocabularies", methods=["GET"])
@bp.response(200, VocabulariesSchema)
@document_errors(401)
def vocabularies():
    """Every controlled vocabulary the fields of needs and offerings use."""
    return {name: _items(vocabulary) for name, vocabulary in VOCABULARIES.items()}
