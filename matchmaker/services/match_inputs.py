"""What matching reads from the database: needs and offerings as engine records, the places left, the settings,
and what a proposal depends on. Shared by the runs (services/matching.py), the engine index
(services/match_index.py), the competition for places (services/allocation.py) and the diagnosis of a need without
proposals (services/diagnosis.py).
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from matchmaker.engine import ENGINE_VERSION, Proposal, Record
from matchmaker.engine.labels import label_match_terms
from matchmaker.extensions import db
from matchmaker.models import Match, Need, Offering
from matchmaker.models.matches import CAPACITY_STATUSES


def need_record(need: Need) -> Record:
    return Record(
        id=need.id, title=need.title, description=need.description, language=need.language,
        policy_areas=frozenset(need.policy_areas or ()), support_kinds=frozenset(need.support_kinds or ()),
        delivery_languages=frozenset(need.delivery_languages or ()), member=need.member.code,
        member_is_ldc=need.member.is_ldc, member_region=need.member.region,
    )


def offering_record(offering: Offering, capacity_left: int | None) -> Record:
    return Record(
        id=offering.id, title=offering.title, description=offering.description, language=offering.language,
        policy_areas=frozenset(offering.policy_areas or ()), support_kinds=frozenset(offering.support_kinds or ()),
        delivery_languages=frozenset(offering.delivery_languages or ()), eligibility=offering.eligibility,
        eligible_regions=frozenset(offering.eligible_regions or ()),
        eligible_members=frozenset(offering.eligible_members or ()), capacity_left=capacity_left,
        deadline=offering.deadline,
    )


def capacity_left(offering_ids: list[int] | None = None) -> dict[int, int | None]:
    """Engagements each offering can still take on: its capacity less its approved (or later) matches."""
    taken = dict(db.session.execute(
        select(Match.offering_id, func.count(Match.id)).where(Match.status.in_(CAPACITY_STATUSES))
        .group_by(Match.offering_id)).all())
    query = select(Offering.id, Offering.capacity)
    if offering_ids is not None:
        query = query.where(Offering.id.in_(offering_ids))
    return {oid: (None if cap is None else max(0, cap - taken.get(oid, 0))) for oid, cap in db.session.execute(query)}


# A need has a proposal while one of its matches waits for a decision or was approved (or went further): the one
# definition behind the run's message and record, the need page and benchmarks/proposals.py.
LIVE_STATUSES = ("proposed", *CAPACITY_STATUSES)

def match_settings() -> tuple[float, int, int]:
    """The threshold, the proposals per need and the candidates the engine ranks (configuration)."""
    config = current_app.config
    return config["MATCH_THRESHOLD"], config["MATCH_PER_NEED"], config["MATCH_CANDIDATES"]


def chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def rows_by_id(model, ids) -> dict:
    """Rows of ``model`` by id, a few queries for many ids."""
    return {row.id: row for chunk in chunks(sorted(set(ids))) for row in
            db.session.scalars(select(model).where(model.id.in_(chunk)))}


def has_room(places: int | None) -> bool:
    """Whether an offering can take another engagement: its capacity is unlimited or not all taken by commitments."""
    return places is None or places > 0


def needs_without_proposal(need_ids) -> list[int]:
    """Of these needs, those without a live match (none pending, none approved or further on)."""
    ids = sorted(set(need_ids))
    live = {n for chunk in chunks(ids) for n in db.session.scalars(
        select(Match.need_id).where(Match.need_id.in_(chunk), Match.status.in_(LIVE_STATUSES)).distinct())}
    return [n for n in ids if n not in live]


def proposal_inputs(need: Need, offering: Offering) -> dict:
    """What an engine proposal depends on besides the corpus: the two records' versions, the member's LDC status and
    region (eligibility), the engine's version and the settings."""
    threshold, per_need, _candidates = match_settings()
    return {"need": need.version, "offering": offering.version,
            "member": [bool(need.member.is_ldc), need.member.region], "engine": ENGINE_VERSION,
            "settings": [threshold, per_need]}


def labelled_terms(need: Need, offering: Offering, proposal: Proposal) -> list[list]:
    """The proposal's terms, each shown by a word of the two texts (the engine's label is a word of the corpus)."""
    need_texts = [(need.title, need.language), (need.description, need.language)]
    offering_texts = [(offering.title, offering.language), (offering.description, offering.language)]
    return [[label, round(float(share), 6)]
            for label, share in label_match_terms(proposal.terms, need_texts, offering_texts)]

