"""The bridge between the database and the matching engine: rows in, proposals out, stored as matches.

Each worker keeps one engine index (``services/match_index.py``): loaded from the saved index when it starts,
fitted in the background only when no usable index is saved, then kept current by applying the needs and
offerings changed since the last sync (one upsert or removal each), so a request never waits for a refit.
Only commitments (approved matches and later) take an offering's places, read from the database when proposals
are made; pending proposals take none, and competition for the places is shown to facilitators
(services/allocation.py). What matching reads is in services/match_inputs.py; why a need has no proposal in
services/diagnosis.py.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from matchmaker.engine import ENGINE_VERSION, Engine, Proposal
from matchmaker.extensions import db
from matchmaker.models import Match, MatchingRun, Need, Offering, User
from matchmaker.models.base import utcnow
from matchmaker.services.audit import record
from matchmaker.services.match_index import INDEX, INDEXED_NEED_STATUSES, SYNC_OVERLAP, IndexHolder  # noqa: F401
from matchmaker.services.match_inputs import (
    capacity_left,
    chunks,
    has_room,
    labelled_terms,
    match_settings,
    need_record,
    needs_without_proposal,
    offering_record,
    proposal_inputs,
    rows_by_id,
)


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
    threshold, per_need, _candidates = match_settings()
    blocked = {m.offering_id for m in existing if m.origin != "engine" or m.status not in ("proposed", "superseded")}
    superseded = {m.offering_id: m for m in existing if m.origin == "engine" and m.status == "superseded"}
    steps, held, reopened = _sort_pending(need, existing, places, offerings, today, partial)
    taken = blocked | {m.offering_id for m in held}
    candidates = [p for p in ranked if p.score >= threshold and p.offering_id not in taken
                  and offerings[p.offering_id].is_open(today) and has_room(places.get(p.offering_id))]
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
        elif not has_room(places.get(match.offering_id)):
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



def _proposal_fields(need: Need, offering: Offering, proposal: Proposal) -> dict:
    return {"score": round(proposal.score, 6), "text_score": round(proposal.text_score, 6),
            "engine_version": ENGINE_VERSION, "terms": labelled_terms(need, offering, proposal),
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
    for chunk in chunks(sorted(need_ids)):
        for match in db.session.scalars(select(Match).where(Match.need_id.in_(chunk)).order_by(Match.id)):
            existing.setdefault(match.need_id, []).append(match)
    offering_ids = sorted({p.offering_id for proposals in ranked.values() for p in proposals}
                          | {m.offering_id for matches in existing.values() for m in matches})
    offerings = rows_by_id(Offering, offering_ids)
    places = capacity_left(offering_ids if len(offering_ids) <= 500 else None)
    for need in sorted(needs, key=lambda n: n.id):
        steps, kept = _plan(need, ranked.get(need.id, []), existing.get(need.id, []), places, offerings, today,
                            partial)
        _apply(need, steps, actor, result, offerings)
        result.kept += kept


def propose_for_need(need: Need, actor: User | None = None, today: date | None = None) -> RunResult:
    """Proposals for one need (when it is opened): its best eligible offerings with a place left."""
    today = today or date.today()
    _threshold, _per_need, candidates = match_settings()
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
    threshold, _per_need, candidates = match_settings()
    db.session.flush()
    left = capacity_left([offering.id]).get(offering.id)
    ranking = engine.propose_for_offering(offering_record(offering, left), k=candidates, today=today)
    ranked = {p.need_id: [p] for p in ranking.proposals if p.score >= threshold}
    needs = [n for n in rows_by_id(Need, ranked).values() if n.status in INDEXED_NEED_STATUSES]
    result = RunResult(needs=len(needs))
    _propose(needs, ranked, actor, today, result, partial=True)
    return result



def run_matching(actor: User | None, need_ids: list[int] | None = None, today: date | None = None) -> RunResult:
    """Re-run matching for every open need (or a selection); the run's record says what changed and why."""
    today = today or date.today()
    started_at, started = utcnow(), time.perf_counter()
    _threshold, _per_need, candidates = match_settings()
    db.session.flush()
    engine = INDEX.current(today)
    query = select(Need).where(Need.status.in_(INDEXED_NEED_STATUSES))
    if need_ids is not None:
        query = query.where(Need.id.in_(need_ids))
    needs = {n.id: n for n in db.session.scalars(query)}
    rankings = {}
    if need_ids is None:
        rankings = {nid: r.proposals for nid, r in engine.all_pairs(k=candidates, today=today).items() if nid in needs}
    # a need the index does not hold (it lags: a change applied but rolled back, a restore) is ranked on its own
    for nid in sorted(needs.keys() - rankings.keys()):
        rankings[nid] = engine.propose_for_need(need_record(needs[nid]), k=candidates, today=today).proposals
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
