"""Why a need has no proposal, for facilitators: what the engine saw for it, and the offerings closest to one."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import or_, select

from matchmaker.engine import Proposal
from matchmaker.extensions import db
from matchmaker.models import Match, Need, Offering
from matchmaker.services.match_index import INDEX
from matchmaker.services.match_inputs import (
    capacity_left,
    has_room,
    labelled_terms,
    match_settings,
    need_record,
    rows_by_id,
)


@dataclass
class NearMiss:
    """An eligible offering with a place left that the engine did not propose: shown on the need's page."""

    offering: Offering
    score: float
    terms: list
    shared_facets: dict
    above_threshold: bool      # not proposed yet: matching has not run for the need since
    by_policy_area: bool       # an LDC's need: shown for the policy area they share, whatever its score


@dataclass
class Diagnosis:
    """Why a need has no proposal (shown to facilitators), and the offerings closest to one."""

    best_score: float | None         # the best score under the threshold
    threshold: float
    below_threshold: int
    full: int
    decided: int                     # above the threshold, but already decided for this need (or paired by hand)
    excluded: dict[str, int]
    indexed_offerings: int
    near_misses: list[NearMiss] = field(default_factory=list)
    preparing: bool = False          # this worker's index is being fitted: the page does not wait for it


def _near_misses(need: Need, candidates: list[Proposal], floor: float, count: int) -> list[tuple[Proposal, bool]]:
    """The best ``count`` candidates scoring at least ``floor``; for an LDC's need, also its best candidate sharing a
    policy area when none of those does (whatever its score): such a need is never left with nothing to pair."""
    shown = [(p, False) for p in candidates if p.score >= floor][:count]
    if need.member.is_ldc and not any(p.shared_facets.get("policy_areas") for p, _ in shown):
        sharing = next((p for p in candidates if p.shared_facets.get("policy_areas")), None)
        if sharing is not None:
            shown.append((sharing, True))
    return shown


def diagnose(need: Need, today: date | None = None) -> Diagnosis:
    """Look at everything the engine saw for this need: scores under the threshold, full offerings, decided pairs,
    exclusions; and the near misses, each with its score and explanation, for a facilitator to pair by hand.
    The page does not wait for an index being fitted: it says so."""
    today = today or date.today()
    threshold, per_need, _candidates = match_settings()
    engine = INDEX.ready(today)
    if engine is None:
        return Diagnosis(None, threshold, 0, 0, 0, {}, 0, preparing=True)
    ranking = engine.propose_for_need(need_record(need), k=50, today=today)
    room = capacity_left([p.offering_id for p in ranking.proposals])
    paired = set(db.session.scalars(select(Match.offering_id).where(
        Match.need_id == need.id, or_(Match.origin != "engine", Match.status != "superseded"))))
    with_room = [p for p in ranking.proposals if has_room(room.get(p.offering_id))]
    below = [p for p in with_room if p.score < threshold]
    excluded: dict[str, int] = {}
    for exclusion in ranking.exclusions:
        excluded[exclusion.reason] = excluded.get(exclusion.reason, 0) + 1
    candidates = [p for p in with_room if p.offering_id not in paired]
    shown = _near_misses(need, candidates, current_app.config["MATCH_NEAR_MISS"], per_need)
    offerings = rows_by_id(Offering, [p.offering_id for p, _ in shown])
    shown = [(p, ldc) for p, ldc in shown if p.offering_id in offerings]    # a worker's index may lag a restore
    near = [NearMiss(offerings[p.offering_id], p.score, labelled_terms(need, offerings[p.offering_id], p),
                     {key: sorted(values) for key, values in p.shared_facets.items()}, p.score >= threshold, ldc)
            for p, ldc in shown]
    return Diagnosis(
        best_score=below[0].score if below else None, threshold=threshold, below_threshold=len(below),
        full=sum(1 for p in ranking.proposals if p.score >= threshold and not has_room(room.get(p.offering_id))),
        decided=sum(1 for p in with_room if p.score >= threshold and p.offering_id in paired), excluded=excluded,
        indexed_offerings=len(engine.ids("offering")), near_misses=near,
    )
