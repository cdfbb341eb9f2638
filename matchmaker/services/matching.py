"""The bridge between the database and the matching engine: rows in, proposals out, stored as matches.

Each worker keeps one engine index (``services/match_index.py``): loaded from the saved index when it starts,
fitted in the background only when no usable index is saved, then kept current by applying the needs and
offerings changed since the last sync (one upsert or removal each), so a request never waits for a refit.
Capacity is checked again against the database when proposals are stored, because another worker may have
approved a match meanwhile.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from flask import current_app
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix
from sqlalchemy import func, select

from matchmaker.engine import ENGINE_VERSION, Engine, Proposal, Record
from matchmaker.engine import text as engine_text
from matchmaker.extensions import db
from matchmaker.models import Match, MatchingRun, Need, Offering, User
from matchmaker.models.base import utcnow
from matchmaker.models.matches import CAPACITY_STATUSES
from matchmaker.services.audit import record
from matchmaker.services.match_index import INDEX, INDEXED_NEED_STATUSES, SYNC_OVERLAP, IndexHolder  # noqa: F401


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


@dataclass
class RunResult:
    """What a run did, for the flash message and the run log."""

    proposed: int = 0
    updated: int = 0
    superseded: int = 0
    needs: int = 0
    without_proposal: list[int] = field(default_factory=list)


def _settings() -> tuple[float, int, int]:
    config = current_app.config
    return config["MATCH_THRESHOLD"], config["MATCH_PER_NEED"], config["MATCH_CANDIDATES"]


def _pending_by_offering(exclude_needs: set[int] | None = None) -> dict[int, int]:
    """Proposals awaiting a decision, per offering (they count against capacity too)."""
    query = select(Match.offering_id, func.count(Match.id)).where(Match.status == "proposed")
    if exclude_needs:
        query = query.where(Match.need_id.not_in(exclude_needs))
    return dict(db.session.execute(query.group_by(Match.offering_id)).all())


def _store(need_id: int, chosen: list[Proposal], actor: User | None, result: RunResult,
           supersede_others: bool = True, offerings: dict[int, Offering] | None = None) -> None:
    """Write one need's proposals: new ones added, pending ones refreshed, dropped ones superseded.

    Decided matches are never touched, and a pair is never stored twice.
    """
    existing = {m.offering_id: m for m in db.session.scalars(select(Match).where(Match.need_id == need_id))}
    chosen_ids = set()
    need = db.session.get(Need, need_id)
    for proposal in chosen:
        chosen_ids.add(proposal.offering_id)
        offering = (offerings or {}).get(proposal.offering_id) or db.session.get(Offering, proposal.offering_id)
        texts = [(need.title, need.language), (need.description, need.language),
                 (offering.title, offering.language), (offering.description, offering.language)]
        # each term shown by a word of the two texts (the engine's label is a word of the whole corpus)
        terms = [[label, round(float(share), 6)] for label, share in engine_text.label_terms(proposal.terms, texts)]
        facets = {key: sorted(values) for key, values in proposal.shared_facets.items()}
        match = existing.get(proposal.offering_id)
        if match is None:
            match = Match(need_id=need_id, offering_id=proposal.offering_id, score=round(proposal.score, 6),
                          text_score=round(proposal.text_score, 6), engine_version=ENGINE_VERSION, origin="engine",
                          terms=terms, shared_facets=facets, status="proposed")
            db.session.add(match)
            db.session.flush()
            record(actor, "match.proposed", match, score=match.score, engine_version=ENGINE_VERSION)
            result.proposed += 1
        elif match.status in ("proposed", "superseded") and match.origin == "engine":
            revived = match.status == "superseded"
            match.status, match.score, match.text_score = "proposed", round(proposal.score, 6), round(proposal.text_score, 6)
            match.terms, match.shared_facets, match.engine_version = terms, facets, ENGINE_VERSION
            if revived:
                record(actor, "match.proposed_again", match, score=match.score)
            result.updated += 1
    if supersede_others:
        for match in existing.values():
            if match.status == "proposed" and match.origin == "engine" and match.offering_id not in chosen_ids:
                match.status = "superseded"
                record(actor, "match.superseded", match, reason_code="no_longer_proposed")
                result.superseded += 1


def propose_for_need(need: Need, actor: User | None = None, today: date | None = None) -> RunResult:
    """Proposals for one need (when it is opened): its best offerings that still have room."""
    today = today or date.today()
    threshold, per_need, candidates = _settings()
    engine = INDEX.current(today)
    ranking = engine.propose_for_need(need_record(need), k=candidates, today=today)
    room = capacity_left([p.offering_id for p in ranking.proposals])
    pending = _pending_by_offering(exclude_needs={need.id})
    chosen = []
    for proposal in ranking.proposals:
        left = room.get(proposal.offering_id)
        if proposal.score < threshold or (left is not None and pending.get(proposal.offering_id, 0) >= left):
            continue
        chosen.append(proposal)
        if len(chosen) == per_need:
            break
    result = RunResult(needs=1)
    _store(need.id, chosen, actor, result)
    if not chosen:
        result.without_proposal.append(need.id)
    return result


def propose_for_offering(offering: Offering, actor: User | None = None, today: date | None = None) -> RunResult:
    """Proposals for a newly published offering: open needs it serves, within its capacity.

    A need that already has its full number of proposals only takes this one if it beats its weakest.
    """
    today = today or date.today()
    return _propose_for_offering(INDEX.current(today), offering, actor, today)


def propose_for_offerings(offerings: list[Offering], actor: User | None = None,
                          today: date | None = None) -> RunResult:
    """Proposals for many offerings published at once (an import): the index is brought up to date once, then each
    published offering is proposed in turn exactly as propose_for_offering would."""
    today = today or date.today()
    engine = INDEX.current(today)
    total = RunResult()
    for offering in offerings:
        if offering.status != "published":
            continue
        one = _propose_for_offering(engine, offering, actor, today)
        total.proposed += one.proposed
        total.updated += one.updated
        total.superseded += one.superseded
        total.needs += one.needs
    return total


def _propose_for_offering(engine: Engine, offering: Offering, actor: User | None, today: date) -> RunResult:
    threshold, per_need, candidates = _settings()
    left = capacity_left([offering.id]).get(offering.id)
    ranking = engine.propose_for_offering(offering_record(offering, left), k=candidates, today=today)
    room = None if left is None else left - _pending_by_offering().get(offering.id, 0)
    result = RunResult()
    for proposal in ranking.proposals:
        if proposal.score < threshold or (room is not None and room <= 0):
            break
        pending = db.session.scalars(select(Match).where(Match.need_id == proposal.need_id,
                                                          Match.status == "proposed")).all()
        if any(m.offering_id == offering.id for m in pending):
            continue
        if len(pending) >= per_need:
            weakest = min(pending, key=lambda m: (m.score, -m.id))
            if weakest.origin != "engine" or weakest.score >= proposal.score:
                continue
            weakest.status = "superseded"
            record(actor, "match.superseded", weakest, reason_code="better_proposal")
            result.superseded += 1
        _store(proposal.need_id, [proposal], actor, result, supersede_others=False)
        result.needs += 1
        if room is not None:
            room -= 1
    return result


def allocate(pairs: list[tuple[int, int, float]], need_is_ldc: dict[int, bool], room: dict[int, int | None],
             per_need: int) -> list[tuple[int, int]]:
    """Choose proposals globally: as many needs as possible get at least one, LDCs first on ties, then score.

    A min-cost flow written as an integer programme (its constraint matrix is a network matrix, so the
    LP optimum is integral; HiGHS solves it at the root): source -> need (one "first proposal" arc
    carrying the coverage bonus, and per_need-1 further arcs) -> offering (one arc per candidate pair,
    worth its score) -> sink (the offering's room).
    """
    if not pairs:
        return []
    needs = sorted({n for n, _, _ in pairs})
    offerings = sorted({o for _, o, _ in pairs})
    n_index = {n: i for i, n in enumerate(needs)}
    o_index = {o: i for i, o in enumerate(offerings)}
    P, N = len(pairs), len(needs)
    # Variables: x_p (pairs), a_i (first proposal of need i), b_i (further proposals of need i).
    n_vars = P + 2 * N
    max_score = max(s for _, _, s in pairs) or 1.0
    coverage = float(P + 2) * 10.0  # one more need covered outweighs any change in scores
    ldc = float(P + 2)               # an LDC need first when coverage ties
    c = np.zeros(n_vars)
    for p, (_, _, score) in enumerate(pairs):
        c[p] = -score / max_score
    for i, n in enumerate(needs):
        c[P + i] = -(coverage + (ldc if need_is_ldc.get(n) else 0.0))
    rows, cols, vals = [], [], []
    # Flow conservation at each need: a_i + b_i - sum_p x_p = 0.
    for p, (n, _, _) in enumerate(pairs):
        rows.append(n_index[n]); cols.append(p); vals.append(-1.0)
    for i in range(N):
        rows += [i, i]; cols += [P + i, P + N + i]; vals += [1.0, 1.0]
    # Room at each offering: sum_p x_p <= room.
    upper_room = []
    for j, o in enumerate(offerings):
        upper_room.append(np.inf if room.get(o) is None else float(room[o]))
    for p, (_, o, _) in enumerate(pairs):
        rows.append(N + o_index[o]); cols.append(p); vals.append(1.0)
    A = coo_matrix((vals, (rows, cols)), shape=(N + len(offerings), n_vars)).tocsr()
    lower = np.concatenate([np.zeros(N), np.full(len(offerings), -np.inf)])
    upper = np.concatenate([np.zeros(N), np.array(upper_room)])
    bounds = Bounds(np.zeros(n_vars), np.concatenate([np.ones(P), np.ones(N), np.full(N, max(0, per_need - 1))]))
    solution = milp(c, constraints=LinearConstraint(A, lower, upper), bounds=bounds,
                    integrality=np.ones(n_vars))
    if solution.x is None:
        raise RuntimeError(f"allocation failed: {solution.message}")
    chosen = [(pairs[p][0], pairs[p][1]) for p in range(P) if solution.x[p] > 0.5]
    return sorted(chosen)


def run_matching(actor: User | None, need_ids: list[int] | None = None, today: date | None = None) -> RunResult:
    """Re-run matching for every open need (or a selection) and allocate capacity globally."""
    today = today or date.today()
    started = time.perf_counter()
    threshold, per_need, candidates = _settings()
    engine = INDEX.current(today)
    query = select(Need).where(Need.status.in_(INDEXED_NEED_STATUSES))
    if need_ids is not None:
        query = query.where(Need.id.in_(need_ids))
    needs = {n.id: n for n in db.session.scalars(query)}
    if need_ids is None:
        rankings = {nid: r for nid, r in engine.all_pairs(k=candidates, today=today).items() if nid in needs}
    else:
        rankings = {nid: engine.propose_for_need(need_record(n), k=candidates, today=today) for nid, n in needs.items()}
    proposals = {(p.need_id, p.offering_id): p for r in rankings.values() for p in r.proposals if p.score >= threshold}
    room_now = capacity_left(sorted({o for _, o in proposals}))
    held_elsewhere = _pending_by_offering(exclude_needs=set(needs))
    room = {o: (None if left is None else max(0, left - held_elsewhere.get(o, 0))) for o, left in room_now.items()}
    pairs = [(n, o, p.score) for (n, o), p in sorted(proposals.items())]
    chosen = allocate(pairs, {nid: n.member.is_ldc for nid, n in needs.items()}, room, per_need)
    by_need: dict[int, list[Proposal]] = {nid: [] for nid in needs}
    for n, o in chosen:
        by_need[n].append(proposals[(n, o)])
    result = RunResult(needs=len(needs))
    # the chosen offerings in a few queries, not one each: their texts label the stored terms
    offering_ids = sorted({o for _, o in chosen})
    offerings = {o.id: o for i in range(0, len(offering_ids), 500)
                 for o in db.session.scalars(select(Offering).where(Offering.id.in_(offering_ids[i:i + 500])))}
    for nid in sorted(by_need):
        chosen_for_need = sorted(by_need[nid], key=lambda p: (-p.score, p.offering_id))
        _store(nid, chosen_for_need, actor, result, offerings=offerings)
        if not chosen_for_need:
            result.without_proposal.append(nid)
    run = MatchingRun(actor_id=actor.id if actor else None, scope="all" if need_ids is None else "selection",
                      engine_version=ENGINE_VERSION, needs_considered=len(needs), proposed=result.proposed,
                      updated=result.updated, superseded=result.superseded,
                      needs_without_proposal=len(result.without_proposal), finished_at=utcnow(),
                      seconds=round(time.perf_counter() - started, 3))
    db.session.add(run)
    db.session.flush()
    record(actor, "matching.run", run, needs=len(needs), proposed=result.proposed, superseded=result.superseded)
    return result


@dataclass
class Diagnosis:
    """Why a need has no proposal (shown to facilitators); ``preparing`` while this worker's index is fitted."""

    best_score: float | None
    threshold: float
    below_threshold: int
    full: int
    excluded: dict[str, int]
    indexed_offerings: int
    preparing: bool = False


def diagnose(need: Need, today: date | None = None) -> Diagnosis:
    """Look at everything the engine saw for this need: scores under the threshold, full offerings, exclusions.
    The page does not wait for an index being fitted: it says so."""
    today = today or date.today()
    threshold, _per_need, _candidates = _settings()
    engine = INDEX.ready(today)
    if engine is None:
        return Diagnosis(None, threshold, 0, 0, {}, 0, preparing=True)
    ranking = engine.propose_for_need(need_record(need), k=50, today=today)
    room = capacity_left([p.offering_id for p in ranking.proposals])
    pending = _pending_by_offering(exclude_needs={need.id})
    full = sum(1 for p in ranking.proposals if p.score >= threshold and room.get(p.offering_id) is not None
               and pending.get(p.offering_id, 0) >= room[p.offering_id])
    excluded: dict[str, int] = {}
    for exclusion in ranking.exclusions:
        excluded[exclusion.reason] = excluded.get(exclusion.reason, 0) + 1
    return Diagnosis(
        best_score=ranking.proposals[0].score if ranking.proposals else None, threshold=threshold,
        below_threshold=sum(1 for p in ranking.proposals if p.score < threshold), full=full, excluded=excluded,
        indexed_offerings=len(engine.ids("offering")),
    )
