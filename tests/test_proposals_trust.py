"""Proposals a facilitator can trust (issue 20, the service's half): only commitments take an offering's places and
competition is said; every need without proposal shows its near misses, an LDC's need always one of its policy area;
the page and the run count needs without proposal alike; re-runs change a proposal only when its inputs changed, and
the run's record says what changed, why, and when, in order."""
from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import AuditEvent, Match, MatchingRun
from matchmaker.models.base import utcnow
from matchmaker.services import allocation, matching
from matchmaker.services import matches as match_service
from matchmaker.services import needs as needs_service
from matchmaker.services import offerings as offerings_service
from matchmaker.services.diagnosis import diagnose
from tests.samples import SIGNATURE_NEED, SIGNATURE_OFFERING


@pytest.fixture(autouse=True)
def fresh_index():
    matching.INDEX.reset()
    yield
    matching.INDEX.reset()


def _run(actor=None, need_ids=None):
    result = matching.run_matching(actor, need_ids=need_ids)
    db.session.commit()
    return result


def _pending(need) -> set[int]:
    return set(db.session.scalars(select(Match.offering_id).where(Match.need_id == need.id,
                                                                   Match.status == "proposed")))


def _page(client, path: str) -> str:
    """A page as the user ``client`` is signed in as reads it."""
    return html.unescape(client.get(path).get_data(as_text=True))


def _text(page: str) -> str:
    """The page's words, tags and line breaks gone."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


# 1. Capacity counts commitments: a proposal takes no place, competition is said, LDCs first then fit.

def test_a_pending_proposal_takes_no_place_from_a_need_opened_later(make):
    org = make.organisation()
    offering = make.offering(org, "published", capacity=1, **SIGNATURE_OFFERING)
    first = make.need("PE", "open", **SIGNATURE_NEED)
    _run()
    assert _pending(first) == {offering.id}
    later = make.need("BJ", "submitted", **SIGNATURE_NEED)
    needs_service.transition(make.user("facilitator"), later, "open")
    db.session.commit()
    assert _pending(later) == {offering.id}
    # a full run and a run for the one need agree
    _run()
    _run(need_ids=[later.id])
    assert _pending(first) == _pending(later) == {offering.id}


def test_a_programme_published_is_proposed_to_every_need_it_serves_and_they_are_told_they_compete(app, make, signed_in):
    org = make.organisation()
    needs = [make.need(code, "open", **SIGNATURE_NEED) for code in ("PE", "BJ")]
    offering = make.offering(org, "draft", capacity=1, **SIGNATURE_OFFERING)
    offerings_service.transition(make.user("partner", organisation=org), offering, "publish", today=date.today())
    db.session.commit()
    assert all(_pending(need) == {offering.id} for need in needs)
    facilitator = make.user("facilitator")
    for need in needs:
        match = db.session.scalar(select(Match).where(Match.need_id == need.id))
        page = _text(_page(signed_in(facilitator), f"/matches/{match.id}"))
        assert "2 needs compete for 1 place:" in page
        # Benin (an LDC) is first in line; Peru's proposal says the place goes to another need first
        if need.member.code == "BJ":
            assert "the allocation gives this need one of them" in page
        else:
            assert "the allocation gives them to other needs first" in page


def test_the_queue_says_how_many_needs_compete_for_how_many_places(app, make, signed_in):
    org = make.organisation()
    offering = make.offering(org, "published", capacity=2, **SIGNATURE_OFFERING)
    needs = [make.need(code, "open", **SIGNATURE_NEED) for code in ("PE", "BJ", "CO")]
    _run()
    assert all(_pending(need) == {offering.id} for need in needs)
    page = _text(_page(signed_in(make.user("facilitator")), "/matches/"))
    assert page.count("3 needs compete for 2 places:") == 3
    race = allocation.competition([offering.id])[offering.id]
    assert (race.needs, race.places) == (3, 2)
    assert next(n for n in needs if n.member.code == "BJ").id in race.first
    # an approval takes a place: 2 needs left for 1 place
    match_service.approve(make.user("facilitator"), db.session.scalar(
        select(Match).where(Match.need_id == needs[0].id)))
    db.session.commit()
    race = allocation.competition([offering.id])[offering.id]
    assert (race.needs, race.places) == (2, 1)


def test_the_allocation_is_solved_once_per_state_of_the_data(make, monkeypatch):
    """The queue asks on every page; the integer programme runs again only when a match or an offering changed."""
    org = make.organisation()
    offering = make.offering(org, "published", capacity=1, **SIGNATURE_OFFERING)
    for code in ("PE", "BJ"):
        make.need(code, "open", **SIGNATURE_NEED)
    _run()
    solved = []
    solve = allocation.allocate
    monkeypatch.setattr(allocation, "allocate", lambda *args, **kw: solved.append(1) or solve(*args, **kw))
    first = allocation.competition([offering.id])
    assert allocation.competition([offering.id]) == first and len(solved) == 1
    offering.capacity = 2                       # a change of the offering: solved again, with the new room
    db.session.commit()
    assert allocation.competition([offering.id]) == {} and len(solved) == 1  # no contest left: nothing to solve
    offering.capacity = 1
    db.session.commit()
    assert allocation.competition([offering.id]) == first and len(solved) == 2


def test_a_programme_whose_places_are_all_committed_is_no_longer_proposed(make):
    org = make.organisation()
    offering = make.offering(org, "published", capacity=1, **SIGNATURE_OFFERING)
    approved, waiting = make.need("PE", "open", **SIGNATURE_NEED), make.need("BJ", "open", **SIGNATURE_NEED)
    match_service.approve(make.user("facilitator"), make.match(approved, offering))
    pending = make.match(waiting, offering)
    _run()
    assert _pending(waiting) == set() and pending.status == "superseded"
    reason = db.session.scalar(select(AuditEvent.detail).where(
        AuditEvent.object_type == "match", AuditEvent.object_id == pending.id, AuditEvent.action == "match.superseded"))
    assert reason["reason_code"] == "offering_full"
    run = db.session.scalar(select(MatchingRun).order_by(MatchingRun.id.desc()))
    assert [(c["need"], c["change"], c["reason"]) for c in run.changes] == [(waiting.id, "superseded", "offering_full")]


def test_the_allocation_gives_a_contested_place_to_the_ldc_then_to_the_best_fit():
    # Both needs have another option; the one place of offering 10 goes to the LDC's need (2), not the better fit.
    pairs = [(1, 10, 0.9), (1, 11, 0.5), (2, 10, 0.6), (2, 11, 0.4)]
    assert allocation.allocate(pairs, {1: False, 2: True}, {10: 1, 11: None}, per_need=1) == [(1, 11), (2, 10)]
    # Between two needs of LDCs, the better fit.
    assert allocation.allocate(pairs, {1: True, 2: True}, {10: 1, 11: None}, per_need=1) == [(1, 10), (2, 11)]
    # Covering one more need still comes first.
    only = [(1, 10, 0.9), (2, 10, 0.6), (2, 11, 0.4)]
    assert allocation.allocate(only, {1: False, 2: True}, {10: 1, 11: 1}, per_need=1) == [(1, 10), (2, 11)]


# 2. Every need gets its best chance.

def test_a_need_without_proposal_shows_its_near_misses_and_pairs_one_in_one_click(app, make, monkeypatch, signed_in):
    monkeypatch.setitem(app.config, "MATCH_THRESHOLD", 0.99)
    org = make.organisation()
    offering = make.offering(org, "published", **SIGNATURE_OFFERING)
    need = make.need("PE", "open", **SIGNATURE_NEED)
    facilitator = make.user("facilitator")
    assert _run(facilitator).without_proposal == [need.id]
    page = _page(signed_in(facilitator), f"/needs/{need.id}")
    near = page[page.index('id="near-misses"'):]
    assert "Closest programmes" in page and offering.title in near
    score = db.session.scalar(select(Match.id).where(Match.need_id == need.id))
    assert score is None
    diagnosis = diagnose(need)
    assert [n.offering.id for n in diagnosis.near_misses] == [offering.id]
    shown = diagnosis.near_misses[0]
    assert f"{shown.score:.2f}" in near and any(label in near for label, _share in shown.terms)
    # one click: a form that posts the pair, and the form by hand is prefilled with it
    form = re.search(r'<form method="post" action="/matches/new".*?</form>', near, re.S).group(0)
    assert f'name="need" value="{need.id}"' in form and f'name="offering" value="{offering.id}"' in form
    assert f"/matches/new?need={need.id}&offering={offering.id}" in page
    client = signed_in(facilitator)
    response = client.post("/matches/new", data={"need": str(need.id), "offering": str(offering.id)})
    match = db.session.scalar(select(Match).where(Match.need_id == need.id))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/matches/{match.id}")
    assert match.origin == "manual" and match.status == "proposed"


def test_an_ldc_need_is_always_shown_a_programme_of_its_policy_area(app, make, monkeypatch, signed_in):
    """Even when no score reaches the near-miss floor; a need of another member is not."""
    monkeypatch.setitem(app.config, "MATCH_THRESHOLD", 0.99)
    monkeypatch.setitem(app.config, "MATCH_NEAR_MISS", 0.98)
    org = make.organisation()
    same_area = make.offering(org, "published", **SIGNATURE_OFFERING)
    make.offering(org, "published", **dict(SIGNATURE_OFFERING, title="Signatures in customs declarations",
                                           policy_areas=["trade_logistics"]))
    ldc_need = make.need("HT", "open", **SIGNATURE_NEED)       # Haiti, an LDC
    other = make.need("JM", "open", **SIGNATURE_NEED)          # Jamaica
    facilitator = make.user("facilitator")
    assert _run(facilitator).without_proposal == sorted([ldc_need.id, other.id])
    shown = diagnose(ldc_need).near_misses
    assert [(n.offering.id, n.by_policy_area) for n in shown] == [(same_area.id, True)]
    assert diagnose(other).near_misses == []
    page = _text(_page(signed_in(facilitator), f"/needs/{ldc_need.id}"))
    assert "Shown because the member is a least developed country and they share a policy area." in page


def test_the_page_and_the_run_count_needs_without_proposal_alike(app, make, signed_in):
    """The only programme above the threshold was rejected: the run says the need got no proposal, and the page
    says why, its best score under the threshold."""
    org = make.organisation()
    offering = make.offering(org, "published", **SIGNATURE_OFFERING)
    need = make.need("PE", "open", **SIGNATURE_NEED)
    facilitator = make.user("facilitator")
    _run(facilitator)
    match_service.reject(facilitator, db.session.scalar(select(Match).where(Match.need_id == need.id)),
                         "Already covered")
    db.session.commit()
    client = signed_in(facilitator)
    message = _text(client.post("/matches/run", data={"scope": "all"}, follow_redirects=True).get_data(as_text=True))
    assert "1 need got no proposal" in message
    assert db.session.scalar(select(MatchingRun.needs_without_proposal).order_by(MatchingRun.id.desc())) == 1
    page = _text(_page(signed_in(facilitator), f"/needs/{need.id}"))
    assert "Why this need has no proposal" in page
    assert "1 programme above the threshold was already decided for this need, or paired by hand." in page
    assert matching.needs_without_proposal([need.id]) == [need.id]
    diagnosis = diagnose(need)
    assert diagnosis.decided == 1 and offering.id not in {n.offering.id for n in diagnosis.near_misses}
    assert diagnosis.best_score is None or diagnosis.best_score < diagnosis.threshold


def test_a_rejected_pair_leaves_its_place_to_the_next_best_programme(app, make, monkeypatch):
    monkeypatch.setitem(app.config, "MATCH_PER_NEED", 1)
    org = make.organisation()
    best = make.offering(org, "published", **SIGNATURE_OFFERING)
    second = make.offering(org, "published", **dict(
        SIGNATURE_OFFERING, title="Training judges on electronic evidence and electronic signatures"))
    need = make.need("PE", "open", **SIGNATURE_NEED)
    facilitator = make.user("facilitator")
    _run(facilitator)
    first = db.session.scalar(select(Match).where(Match.need_id == need.id, Match.status == "proposed"))
    match_service.reject(facilitator, first, "Not this one")
    db.session.commit()
    _run(facilitator)
    assert _pending(need) == {best.id, second.id} - {first.offering_id}


# 3. Stable runs.

def test_a_rerun_changes_nothing_whose_inputs_did_not_change_even_in_a_fresh_index(app, make, monkeypatch):
    """Two programmes tie for one place (the lower id wins); a record elsewhere changes the corpus statistics, and a
    worker whose index is fitted afresh scores the second higher: the proposal stays, nothing is written."""
    monkeypatch.setitem(app.config, "MATCH_PER_NEED", 1)
    org = make.organisation()
    need = make.need("PE", "open", title="Orchards and vineyards", description="Training on orchards and vineyards.",
                     policy_areas=["skills"])
    first = make.offering(org, "published", title="Orchards course", description="A course on orchards.",
                          policy_areas=["skills"])
    make.offering(org, "published", title="Vineyards course", description="A course on vineyards.",
                  policy_areas=["skills"])
    _run()
    assert _pending(need) == {first.id}
    proposal = db.session.scalar(select(Match).where(Match.need_id == need.id))
    stored = (proposal.score, proposal.terms, proposal.updated_at)
    make.need("KE", "open", title="Orchards cooperatives", description="Orchards for the cooperatives.")
    for _worker in range(2):
        matching.INDEX.reset()
        again = _run(need_ids=[need.id])
        assert _pending(need) == {first.id}
        assert (again.proposed, again.updated, again.superseded) == (0, 0, 0)
        assert again.kept == 1 and again.changes == []
    db.session.refresh(proposal)
    assert _pending(need) == {first.id} and (proposal.score, proposal.terms, proposal.updated_at) == stored


def test_the_runs_record_says_what_changed_and_why(app, make, monkeypatch):
    monkeypatch.setitem(app.config, "MATCH_PER_NEED", 1)
    org = make.organisation()
    need = make.need("PE", "open", **SIGNATURE_NEED)
    weaker = make.offering(org, "published", **dict(SIGNATURE_OFFERING, title="Electronic signatures",
                                                    description="Advice on electronic signatures."))
    _run()
    held = db.session.scalar(select(Match).where(Match.need_id == need.id))
    assert held.offering_id == weaker.id

    def last_changes():
        run = db.session.scalar(select(MatchingRun).order_by(MatchingRun.id.desc()))
        return sorted((c["offering"], c["change"], c["reason"], c.get("by")) for c in run.changes)

    better = make.offering(org, "published", **SIGNATURE_OFFERING)
    _run()
    assert last_changes() == sorted([(weaker.id, "superseded", "better_proposal", better.id),
                                     (better.id, "proposed", "better_proposal", None)])
    better.status = "closed"
    db.session.commit()
    _run()
    assert last_changes() == sorted([(better.id, "superseded", "offering_closed", None),
                                     (weaker.id, "proposed_again", "room", None)])
    need.description += " Our regulators also need training."
    db.session.commit()
    _run()
    assert last_changes() == [(weaker.id, "rescored", "need_changed", None)]
    _run()
    assert last_changes() == []
    run = db.session.scalar(select(MatchingRun).order_by(MatchingRun.id.desc()))
    assert (run.kept, run.proposed, run.updated, run.superseded) == (1, 0, 0, 0)


def test_a_runs_times_are_recorded_in_order(make):
    org = make.organisation()
    make.offering(org, "published", **SIGNATURE_OFFERING)
    make.need("PE", "open", **SIGNATURE_NEED)
    before = utcnow()
    _run()
    after = utcnow()
    run = db.session.scalar(select(MatchingRun))
    assert before <= run.started_at <= run.finished_at <= after


def test_ties_are_broken_by_id_run_after_run(app, make, monkeypatch):
    monkeypatch.setitem(app.config, "MATCH_PER_NEED", 1)
    org = make.organisation()
    twins = [make.offering(org, "published", **SIGNATURE_OFFERING) for _ in range(3)]
    need = make.need("PE", "open", **SIGNATURE_NEED)
    for _ in range(3):
        matching.INDEX.reset()
        _run()
        assert _pending(need) == {min(t.id for t in twins)}
