"""The bridge between the database and the matching engine: rows in, proposals out, stored as matches.

Each worker keeps one engine index (``services/match_index.py``): loaded from the saved index when it starts,
fitted in the background only when no usable index is saved, then kept current by applying the needs and
offerings changed since the last sync (one upsert or removal each), so a request never waits for a refit.
Only commitments (approved matches and later) take an offering's places, read from the database when proposals
are made; pending proposals take none, and competition for the places is shown to facilitators (competition()).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from flask import current_app
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix
from sqlalchemy import func, or_, select

from matchmaker.engine import ENGINE_VERSION, Engine, Proposal, Record
from matchmaker.engine.labels import label_match_terms
from matchmaker.extensions import db
from matchmaker.models import Match, MatchingRun, Member, Need, Offering, User
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


# A need has a proposal while one of its matches waits for a decision or was approved (or went further): the one
# definition behind the run's message and record, the need page and benchmarks/proposals.py.
LIVE_STATUSES = ("proposed", *CAPACITY_STATUSES)


@dataclass
class RunResult:
    """What a run did, for the flash message and the run's record."""

    proposed: int = 0       # new proposals, and superseded ones proposed again
    updated: int = 0        # pending proposals scored again because one of their inputs changed
    superseded: int = 0
    kept: int = 0           # pending proposals left as they were: none of their inputs changed
    needs: int = 0
    without_proposal: list[int] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)   # what changed and why (MatchingRun.changes)

    def add(self, other: RunResult) -> None:
        self.proposed += other.proposed
        self.updated += other.updated
        self.superseded += other.superseded
        self.kept += other.kept
        self.needs += other.needs
        self.without_proposal += other.without_proposal
        self.changes += other.changes


def _settings() -> tuple[float, int, int]:
    config = current_app.config
    return config["MATCH_THRESHOLD"], config["MATCH_PER_NEED"], config["MATCH_CANDIDATES"]


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _by_id(model, ids) -> dict:
    """Rows of ``model`` by id, a few queries for many ids."""
    return {row.id: row for chunk in _chunks(sorted(set(ids))) for row in
            db.session.scalars(select(model).where(model.id.in_(chunk)))}


def _has_room(places: int | None) -> bool:
    """Whether an offering can take another engagement: its capacity is unlimited or not all taken by commitments."""
    return places is None or places > 0


def needs_without_proposal(need_ids) -> list[int]:
    """Of these needs, those without a live match (none pending, none approved or further on)."""
    ids = sorted(set(need_ids))
    live = {n for chunk in _chunks(ids) for n in db.session.scalars(
        select(Match.need_id).where(Match.need_id.in_(chunk), Match.status.in_(LIVE_STATUSES)).distinct())}
    return [n for n in ids if n not in live]


def proposal_inputs(need: Need, offering: Offering) -> dict:
    """What an engine proposal depends on besides the corpus: the two records' versions, the member's LDC status and
    region (eligibility), the engine's version and the settings."""
    threshold, per_need, _candidates = _settings()
    return {"need": need.version, "offering": offering.version,
            "member": [bool(need.member.is_ldc), need.member.region], "engine": ENGINE_VERSION,
            "settings": [threshold, per_need]}


# The reason recorded when a pending proposal is looked at again: the first of its inputs that changed.
_INPUT_REASONS = (("engine", "engine_changed"), ("settings", "settings_changed"), ("need", "need_changed"),
                  ("member", "member_changed"), ("offering", "offering_changed"))


def _changed_input(match: Match, now: dict) -> str | None:
    if not match.inputs:
        return "inputs_unknown"
    return next((reason for key, reason in _INPUT_REASONS if match.inputs.get(key) != now[key]), None)


@dataclass
class _Step:
    """One write a run makes for a need."""

    change: str                   # proposed | proposed_again | rescored | superseded
    reason: str
    offering_id: int
    proposal: Proposal | None = None
    match: Match | None = None
    by: int | None = None         # a proposal replaced by a better one: that one's offering


def _plan(need: Need, ranked: list[Proposal], existing: list[Match], places: dict[int, int | None],
          offerings: dict[int, Offering], today: date, partial: bool = False) -> tuple[list[_Step], int]:
    """One need's proposals from its ranking (eligible offerings, best first, ties by id): the writes to make, and how
    many pending proposals stay as they are.

    A pair a facilitator decided or paired by hand is never proposed by the engine. A pending proposal whose inputs
    did not change stays as it is, score and explanation included (so a re-run on the same data changes nothing,
    whichever worker's index scored it); it goes when its programme closes or has no place left, or when a programme
    published or edited since it was made ranks above it. A pending proposal whose inputs changed is ranked again
    like any candidate. The need's free places (MATCH_PER_NEED) go to the best candidates at or above the threshold;
    pending proposals of other needs take no place of the offering, only commitments do (capacity_left).
    ``partial``: only the ranked offerings are considered (one just published); the need's other proposals stay.
    """
    threshold, per_need, _candidates = _settings()
    blocked = {m.offering_id for m in existing if m.origin != "engine" or m.status not in ("proposed", "superseded")}
    superseded = {m.offering_id: m for m in existing if m.origin == "engine" and m.status == "superseded"}
    steps, held, reopened = _sort_pending(need, existing, places, offerings, today, partial)
    taken = blocked | {m.offering_id for m in held}
    candidates = [p for p in ranked if p.score >= threshold and p.offering_id not in taken
                  and offerings[p.offering_id].is_open(today) and _has_room(places.get(p.offering_id))]
    fresh = {p.offering_id: p for p in ranked}
    chosen = _choose(candidates, held, fresh, offerings, per_need, steps)
    for proposal, reason in chosen:
        oid = proposal.offering_id
        if oid in reopened:
            match, why = reopened.pop(oid)
            steps.append(_Step("rescored", why, oid, proposal=proposal, match=match))
        elif oid in superseded:
            steps.append(_Step("proposed_again", reason, oid, proposal=proposal, match=superseded[oid]))
        else:
            steps.append(_Step("proposed", reason, oid, proposal=proposal))
    steps += [_Step("superseded", why, match.offering_id, match=match) for match, why in reopened.values()]
    return steps, len(held)


def _sort_pending(need: Need, existing: list[Match], places: dict[int, int | None], offerings: dict[int, Offering],
                  today: date, partial: bool) -> tuple[list[_Step], list[Match], dict[int, tuple[Match, str]]]:
    """The need's pending engine proposals sorted into those that go (their steps), those held as they are, and
    those whose inputs changed (ranked again, with the reason)."""
    steps: list[_Step] = []
    held: list[Match] = []
    reopened: dict[int, tuple[Match, str]] = {}
    for match in sorted((m for m in existing if m.origin == "engine" and m.status == "proposed"),
                        key=lambda m: m.offering_id):
        offering = offerings.get(match.offering_id)
        if partial:
            held.append(match)
        elif not offering.is_open(today):
            steps.append(_Step("superseded", "offering_closed", match.offering_id, match=match))
        elif not _has_room(places.get(match.offering_id)):
            steps.append(_Step("superseded", "offering_full", match.offering_id, match=match))
        elif (reason := _changed_input(match, proposal_inputs(need, offering))) is None:
            held.append(match)
        else:
            reopened[match.offering_id] = (match, reason)
    return steps, held, reopened


def _choose(candidates: list[Proposal], held: list[Match], fresh: dict[int, Proposal], offerings: dict[int, Offering],
            per_need: int, steps: list[_Step]) -> list[tuple[Proposal, str]]:
    """The candidates that take the need's free places, or replace its weakest held proposal (which leaves
    ``held``, with its step added to ``steps``); each with why it was chosen."""

    def score_now(match: Match) -> float:
        return fresh[match.offering_id].score if match.offering_id in fresh else match.score

    chosen: list[tuple[Proposal, str]] = []
    for proposal in candidates:
        if len(held) + len(chosen) < per_need:
            chosen.append((proposal, "room"))
            continue
        if not held:
            break
        weakest = min(held, key=lambda m: (score_now(m), -m.offering_id))
        # only a programme new to the comparison (published or edited since) replaces a proposal: a re-scored corpus
        # does not swap two proposals whose records did not change
        if proposal.score > score_now(weakest) and offerings[proposal.offering_id].updated_at > weakest.updated_at:
            held.remove(weakest)
            steps.append(_Step("superseded", "better_proposal", weakest.offering_id, match=weakest,
                               by=proposal.offering_id))
            chosen.append((proposal, "better_proposal"))
    return chosen


def _labelled_terms(need: Need, offering: Offering, proposal: Proposal) -> list[list]:
    """The proposal's terms, each shown by a word of the two texts (the engine's label is a word of the corpus)."""
    need_texts = [(need.title, need.language), (need.description, need.language)]
    offering_texts = [(offering.title, offering.language), (offering.description, offering.language)]
    return [[label, round(float(share), 6)]
            for label, share in label_match_terms(proposal.terms, need_texts, offering_texts)]


def _proposal_fields(need: Need, offering: Offering, proposal: Proposal) -> dict:
    return {"score": round(proposal.score, 6), "text_score": round(proposal.text_score, 6),
            "engine_version": ENGINE_VERSION, "terms": _labelled_terms(need, offering, proposal),
            "shared_facets": {key: sorted(values) for key, values in proposal.shared_facets.items()},
            "inputs": proposal_inputs(need, offering)}


def _apply(need: Need, steps: list[_Step], actor: User | None, result: RunResult,
           offerings: dict[int, Offering]) -> None:
    """Write one need's steps, each with its audit event and its line in the run's record."""
    for step in steps:
        match = step.match
        if step.change == "superseded":
            match.status = "superseded"
            record(actor, "match.superseded", match, reason_code=step.reason,
                   **({"by_offering": step.by} if step.by else {}))
            result.superseded += 1
        elif match is None:
            match = Match(need_id=need.id, offering_id=step.offering_id, origin="engine", status="proposed",
                          **_proposal_fields(need, offerings[step.offering_id], step.proposal))
            db.session.add(match)
            db.session.flush()
            record(actor, "match.proposed", match, score=match.score, engine_version=ENGINE_VERSION,
                   reason_code=step.reason)
            result.proposed += 1
        else:
            for key, value in _proposal_fields(need, offerings[step.offering_id], step.proposal).items():
                setattr(match, key, value)
            if step.change == "proposed_again":
                match.status = "proposed"
                record(actor, "match.proposed_again", match, score=match.score, reason_code=step.reason)
                result.proposed += 1
            else:
                result.updated += 1
        change = {"match": match.id, "need": need.id, "offering": step.offering_id, "change": step.change,
                  "reason": step.reason}
        result.changes.append({**change, "by": step.by} if step.by else change)


def _propose(needs: list[Need], ranked: dict[int, list[Proposal]], actor: User | None, today: date,
             result: RunResult, partial: bool = False) -> None:
    """Plan and write the proposals of these needs, in order of id (the same data give the same writes)."""
    need_ids = [n.id for n in needs]
    existing: dict[int, list[Match]] = {}
    for chunk in _chunks(sorted(need_ids)):
        for match in db.session.scalars(select(Match).where(Match.need_id.in_(chunk)).order_by(Match.id)):
            existing.setdefault(match.need_id, []).append(match)
    offering_ids = sorted({p.offering_id for proposals in ranked.values() for p in proposals}
                          | {m.offering_id for matches in existing.values() for m in matches})
    offerings = _by_id(Offering, offering_ids)
    places = capacity_left(offering_ids if len(offering_ids) <= 500 else None)
    for need in sorted(needs, key=lambda n: n.id):
        steps, kept = _plan(need, ranked.get(need.id, []), existing.get(need.id, []), places, offerings, today,
                            partial)
        _apply(need, steps, actor, result, offerings)
        result.kept += kept


def propose_for_need(need: Need, actor: User | None = None, today: date | None = None) -> RunResult:
    """Proposals for one need (when it is opened): its best eligible offerings with a place left."""
    today = today or date.today()
    _threshold, _per_need, candidates = _settings()
    db.session.flush()
    ranking = INDEX.current(today).propose_for_need(need_record(need), k=candidates, today=today)
    result = RunResult(needs=1)
    _propose([need], {need.id: ranking.proposals}, actor, today, result)
    result.without_proposal = needs_without_proposal([need.id])
    return result


def propose_for_offering(offering: Offering, actor: User | None = None, today: date | None = None) -> RunResult:
    """Proposals for a newly published offering: the open needs it serves best.

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
        if offering.status == "published":
            total.add(_propose_for_offering(engine, offering, actor, today))
    return total


def _propose_for_offering(engine: Engine, offering: Offering, actor: User | None, today: date) -> RunResult:
    threshold, _per_need, candidates = _settings()
    db.session.flush()
    left = capacity_left([offering.id]).get(offering.id)
    ranking = engine.propose_for_offering(offering_record(offering, left), k=candidates, today=today)
    ranked = {p.need_id: [p] for p in ranking.proposals if p.score >= threshold}
    needs = [n for n in _by_id(Need, ranked).values() if n.status in INDEXED_NEED_STATUSES]
    result = RunResult(needs=len(needs))
    _propose(needs, ranked, actor, today, result, partial=True)
    return result


def _flow_matrix(pairs: list[tuple[int, int, float]], n_index: dict[int, int], o_index: dict[int, int]):
    """The constraints of allocate() over x_p (pairs), a_i and b_i (first and further places of need i): flow
    conservation at each need (a_i + b_i - sum_p x_p = 0), then the room at each offering (sum_p x_p <= room)."""
    P, N = len(pairs), len(n_index)
    rows, cols, vals = [], [], []
    for p, (n, _, _) in enumerate(pairs):
        rows.append(n_index[n])
        cols.append(p)
        vals.append(-1.0)
    for i in range(N):
        rows += [i, i]
        cols += [P + i, P + N + i]
        vals += [1.0, 1.0]
    for p, (_, o, _) in enumerate(pairs):
        rows.append(N + o_index[o])
        cols.append(p)
        vals.append(1.0)
    return coo_matrix((vals, (rows, cols)), shape=(N + len(o_index), P + 2 * N)).tocsr()


def allocate(pairs: list[tuple[int, int, float]], need_is_ldc: dict[int, bool], room: dict[int, int | None],
             per_need: int) -> list[tuple[int, int]]:
    """Give places globally: as many needs as possible get one; where more needs want an offering than it has room
    for, LDCs' needs first; then the best fit.

    A min-cost flow written as an integer programme (its constraint matrix is a network matrix, so the
    LP optimum is integral; HiGHS solves it at the root): source -> need (one "first place" arc
    carrying the coverage bonus, and per_need-1 further arcs) -> offering (one arc per candidate pair,
    worth its score, plus a bonus when the offering is contested and the need is an LDC's) -> sink (the
    offering's room). The weights are lexicographic: one more need placed outweighs every LDC bonus, and one
    contested place given to an LDC outweighs every score.
    """
    if not pairs:
        return []
    needs = sorted({n for n, _, _ in pairs})
    offerings = sorted({o for _, o, _ in pairs})
    n_index = {n: i for i, n in enumerate(needs)}
    o_index = {o: i for i, o in enumerate(offerings)}
    P, N = len(pairs), len(needs)
    # Variables: x_p (pairs), a_i (first place of need i), b_i (further places of need i).
    n_vars = P + 2 * N
    max_score = max(s for _, _, s in pairs) or 1.0
    ldc = float(P + 1)                  # more than the scores of all pairs together
    coverage = float(P + 1) * (ldc + 1.0)  # more than every LDC bonus and score together
    wanted = Counter(o for _n, o in {(n, o) for n, o, _ in pairs})
    contested = {o for o in offerings if room.get(o) is not None and wanted[o] > room[o]}
    c = np.zeros(n_vars)
    for p, (n, o, score) in enumerate(pairs):
        c[p] = -(score / max_score + (ldc if need_is_ldc.get(n) and o in contested else 0.0))
    c[P:P + N] = -coverage
    A = _flow_matrix(pairs, n_index, o_index)
    lower = np.concatenate([np.zeros(N), np.full(len(offerings), -np.inf)])
    upper_room = [np.inf if room.get(o) is None else float(room[o]) for o in offerings]
    upper = np.concatenate([np.zeros(N), np.array(upper_room)])
    bounds = Bounds(np.zeros(n_vars), np.concatenate([np.ones(P), np.ones(N), np.full(N, max(0, per_need - 1))]))
    solution = milp(c, constraints=LinearConstraint(A, lower, upper), bounds=bounds,
                    integrality=np.ones(n_vars))
    if solution.x is None:
        raise RuntimeError(f"allocation failed: {solution.message}")
    chosen = [(pairs[p][0], pairs[p][1]) for p in range(P) if solution.x[p] > 0.5]
    return sorted(chosen)


@dataclass(frozen=True)
class Competition:
    """More needs have a pending proposal for an offering than it has places left."""

    needs: int
    places: int
    first: frozenset[int]      # the needs the global allocation gives the places to (LDCs first, then the best fit)


def competition(offering_ids) -> dict[int, Competition]:
    """The competition for each of these offerings that has one (pending proposals of more needs than places left).

    Proposals take no place; the allocation says who should get the places if the facilitators approve them: as many
    needs as possible, LDCs' first, then the best fit, over every pending proposal of the needs concerned (and of the
    needs they compete with for a place, and so on).
    """
    offering_ids = set(offering_ids)
    if not offering_ids:
        return {}
    _threshold, per_need, _candidates = _settings()
    pending = db.session.execute(select(Match.need_id, Match.offering_id, Match.score)
                                 .where(Match.status == "proposed").order_by(Match.need_id, Match.offering_id)).all()
    places = capacity_left(sorted({o for _, o, _ in pending}))
    competitors: dict[int, set[int]] = {}
    for n, o, _score in pending:
        if places.get(o) is not None:
            competitors.setdefault(o, set()).add(n)
    contested = {o for o, ns in competitors.items() if len(ns) > places[o]}
    if not contested & offering_ids:
        return {}
    # the component of the contested offerings: their needs, these needs' other limited offerings, and so on
    by_need: dict[int, list[tuple[int, int, float]]] = {}
    for n, o, score in pending:
        by_need.setdefault(n, []).append((n, o, score))
    seen_offerings, seen_needs, todo = set(contested), set(), list(contested)
    while todo:
        for n in competitors[todo.pop()] - seen_needs:
            seen_needs.add(n)
            for _, o, _score in by_need[n]:
                if o in competitors and o not in seen_offerings:
                    seen_offerings.add(o)
                    todo.append(o)
    pairs = [pair for n in sorted(seen_needs) for pair in by_need[n]]
    ldc = dict(db.session.execute(select(Need.id, Member.is_ldc).join(Member, Need.member_id == Member.id)
                                  .where(Need.id.in_(sorted(seen_needs)))).all())
    given: dict[int, set[int]] = {}
    for n, o in allocate(pairs, ldc, places, per_need):
        given.setdefault(o, set()).add(n)
    return {o: Competition(len(competitors[o]), places[o], frozenset(given.get(o, ())))
            for o in contested & offering_ids}


def run_matching(actor: User | None, need_ids: list[int] | None = None, today: date | None = None) -> RunResult:
    """Re-run matching for every open need (or a selection); the run's record says what changed and why."""
    today = today or date.today()
    started_at, started = utcnow(), time.perf_counter()
    _threshold, _per_need, candidates = _settings()
    db.session.flush()
    engine = INDEX.current(today)
    query = select(Need).where(Need.status.in_(INDEXED_NEED_STATUSES))
    if need_ids is not None:
        query = query.where(Need.id.in_(need_ids))
    needs = {n.id: n for n in db.session.scalars(query)}
    if need_ids is None:
        rankings = {nid: r.proposals for nid, r in engine.all_pairs(k=candidates, today=today).items() if nid in needs}
    else:
        rankings = {nid: engine.propose_for_need(need_record(n), k=candidates, today=today).proposals
                    for nid, n in needs.items()}
    result = RunResult(needs=len(needs))
    _propose(list(needs.values()), rankings, actor, today, result)
    result.without_proposal = needs_without_proposal(needs)
    run = MatchingRun(started_at=started_at, actor_id=actor.id if actor else None,
                      scope="all" if need_ids is None else "selection", engine_version=ENGINE_VERSION,
                      needs_considered=len(needs), proposed=result.proposed, updated=result.updated,
                      superseded=result.superseded, kept=result.kept, changes=result.changes,
                      needs_without_proposal=len(result.without_proposal))
    run.finished_at, run.seconds = utcnow(), round(time.perf_counter() - started, 3)
    db.session.add(run)
    db.session.flush()
    record(actor, "matching.run", run, needs=len(needs), proposed=result.proposed, superseded=result.superseded)
    return result


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
    threshold, per_need, _candidates = _settings()
    engine = INDEX.ready(today)
    if engine is None:
        return Diagnosis(None, threshold, 0, 0, 0, {}, 0, preparing=True)
    ranking = engine.propose_for_need(need_record(need), k=50, today=today)
    room = capacity_left([p.offering_id for p in ranking.proposals])
    paired = set(db.session.scalars(select(Match.offering_id).where(
        Match.need_id == need.id, or_(Match.origin != "engine", Match.status != "superseded"))))
    with_room = [p for p in ranking.proposals if _has_room(room.get(p.offering_id))]
    below = [p for p in with_room if p.score < threshold]
    excluded: dict[str, int] = {}
    for exclusion in ranking.exclusions:
        excluded[exclusion.reason] = excluded.get(exclusion.reason, 0) + 1
    candidates = [p for p in with_room if p.offering_id not in paired]
    shown = _near_misses(need, candidates, current_app.config["MATCH_NEAR_MISS"], per_need)
    offerings = _by_id(Offering, [p.offering_id for p, _ in shown])
    near = [NearMiss(offerings[p.offering_id], p.score, _labelled_terms(need, offerings[p.offering_id], p),
                     {key: sorted(values) for key, values in p.shared_facets.items()}, p.score >= threshold, ldc)
            for p, ldc in shown]
    return Diagnosis(
        best_score=below[0].score if below else None, threshold=threshold, below_threshold=len(below),
        full=sum(1 for p in ranking.proposals if p.score >= threshold and not _has_room(room.get(p.offering_id))),
        decided=sum(1 for p in with_room if p.score >= threshold and p.offering_id in paired), excluded=excluded,
        indexed_offerings=len(engine.ids("offering")), near_misses=near,
    )
