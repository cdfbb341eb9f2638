"""Proposals, review decisions, introductions, the parties' answers and the follow-up of a match."""
from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from matchmaker.errors import DomainError, NotPermitted, TransitionNotAllowed
from matchmaker.extensions import db
from matchmaker.models import AuditEvent, Match, MatchingRun, Need, Notification
from matchmaker.models.matches import MATCH_STATUSES
from matchmaker.services import allocation, match_index, matching
from matchmaker.services import matches as match_service
from matchmaker.services import needs as needs_service
from matchmaker.services.diagnosis import diagnose
from tests.fixtures.records import approved_match
from tests.helpers import wait_for
from tests.samples import PAYMENT_OFFERING, SIGNATURE_NEED, SIGNATURE_OFFERING


@pytest.fixture(autouse=True)
def fresh_index():
    """Each test fits its own engine index from the test database."""
    matching.INDEX.reset()
    yield
    matching.INDEX.reset()


def _run(actor=None):
    result = matching.run_matching(actor)
    db.session.commit()
    return result


def test_opening_a_need_proposes_at_once_and_explains(app, make, signed_in):
    org = make.organisation()
    # indexed first: the engine labels the stems of "electronic" and "transactions" with its words
    make.need("SN", "open", title="Transacting", description="Electronically transacting; judging bids.")
    offering = make.offering(org, "published", **SIGNATURE_OFFERING)
    make.offering(org, "published", **PAYMENT_OFFERING)
    need = make.need("BJ", "submitted", **SIGNATURE_NEED)
    facilitator = make.user("facilitator")
    needs_service.transition(facilitator, need, "open")
    db.session.commit()
    matches = db.session.scalars(select(Match).where(Match.need_id == need.id)).all()
    assert [m.offering_id for m in matches] == [offering.id]
    match = matches[0]
    assert match.status == "proposed" and match.origin == "engine" and match.engine_version
    labels = [label for label, _share in match.terms]
    assert any("signatur" in label for label in labels)
    assert abs(sum(share for _l, share in match.terms) - match.text_score) < 0.02
    assert match.shared_facets["policy_areas"] == ["e_transactions"]
    # every word term is a word of the two texts, whatever word of the corpus the engine labelled its stem with
    words = set(re.findall(r"\w+", " ".join([need.title, need.description, offering.title,
                                             offering.description]).lower()))
    assert all(label in words for label in labels if not label.startswith("concept:") and " " not in label)
    # The match page highlights the terms in both texts.
    client = signed_in(facilitator)
    page = client.get(f"/matches/{match.id}").get_data(as_text=True)
    assert page.count("<mark>") >= 4


def test_publishing_an_offering_proposes_it_to_open_needs(make):
    org = make.organisation()
    need = make.need("BJ", "open", **SIGNATURE_NEED)
    partner = make.user("partner", organisation=org)
    offering = make.offering(org, "draft", **SIGNATURE_OFFERING)
    from matchmaker.services import offerings as offerings_service

    offerings_service.transition(partner, offering, "publish", today=date.today())
    db.session.commit()
    assert db.session.scalar(select(Match).where(Match.need_id == need.id)).offering_id == offering.id


def test_reruns_never_duplicate_and_never_overwrite_decisions(make):
    org = make.organisation()
    signature = make.offering(org, "published", **SIGNATURE_OFFERING)
    need = make.need("BJ", "open", **SIGNATURE_NEED)
    facilitator = make.user("facilitator")
    first = _run(facilitator)
    assert first.proposed == 1
    again = _run(facilitator)
    # nothing it depends on changed: the proposal is kept as it is, not rewritten
    assert again.proposed == 0 and again.updated == 0 and again.kept == 1
    assert db.session.scalar(select(func.count(Match.id))) == 1
    match = db.session.scalar(select(Match))
    match_service.reject(facilitator, match, "Already covered by a bilateral project")
    db.session.commit()
    _run(facilitator)
    db.session.refresh(match)
    assert match.status == "rejected" and db.session.scalar(select(func.count(Match.id))) == 1
    # A proposal the new run no longer makes is superseded, not deleted.
    other = make.need("SN", "open", **SIGNATURE_NEED)
    _run(facilitator)
    pending = db.session.scalar(select(Match).where(Match.need_id == other.id))
    assert pending.status == "proposed"
    signature.status = "closed"
    db.session.commit()
    _run(facilitator)
    db.session.refresh(pending)
    assert pending.status == "superseded"
    assert db.session.scalar(select(func.count(MatchingRun.id))) == 5
    assert db.session.scalar(select(Match.status).where(Match.need_id == need.id)) == "rejected"


def test_capacity_is_taken_by_commitments_not_by_proposals(make):
    """One place left and two needs: both are proposed the programme (a proposal takes no place) and told they compete;
    the allocation gives the place to the LDC's need, and the other need has another good option."""
    org = make.organisation()
    scarce = make.offering(org, "published", capacity=1, **SIGNATURE_OFFERING)
    plenty = make.offering(org, "published", capacity=None, **dict(
        SIGNATURE_OFFERING, title="Training judges on electronic evidence and electronic signatures"))
    ldc_need = make.need("BJ", "open", **SIGNATURE_NEED)        # Benin: LDC
    other_need = make.need("PE", "open", **SIGNATURE_NEED)      # Peru: not an LDC
    _run()
    by_need = {}
    for m in db.session.scalars(select(Match).where(Match.status == "proposed")):
        by_need.setdefault(m.need_id, set()).add(m.offering_id)
    assert by_need == {ldc_need.id: {scarce.id, plenty.id}, other_need.id: {scarce.id, plenty.id}}
    race = allocation.competition([scarce.id, plenty.id])
    assert set(race) == {scarce.id}
    assert (race[scarce.id].needs, race[scarce.id].places, race[scarce.id].first) == (2, 1, {ldc_need.id})


def test_allocation_covers_as_many_needs_as_possible():
    """A greedy pass by score would give offering 1 to need A and leave need B with nothing."""
    pairs = [(1, 10, 0.9), (1, 11, 0.5), (2, 10, 0.8)]
    chosen = allocation.allocate(pairs, {1: False, 2: False}, {10: 1, 11: 1}, per_need=1)
    assert chosen == [(1, 11), (2, 10)]
    # With room for both, each need keeps its best.
    assert allocation.allocate(pairs, {1: False, 2: False}, {10: 2, 11: 1}, per_need=1) == [(1, 10), (2, 10)]
    # Ties in coverage go to the LDC.
    tie = [(1, 10, 0.9), (2, 10, 0.5)]
    assert allocation.allocate(tie, {1: False, 2: True}, {10: 1}, per_need=1) == [(2, 10)]


def test_need_without_proposal_is_explained(app, make, signed_in):
    org = make.organisation()
    make.offering(org, "published", eligibility="regions", eligible_regions=["asia"], **SIGNATURE_OFFERING)
    make.offering(org, "published", **dict(SIGNATURE_OFFERING, title="Signatures law, Spanish only",
                                           delivery_languages=["es"]))
    need = make.need("BJ", "open", **SIGNATURE_NEED)
    result = _run()
    assert result.without_proposal == [need.id]
    diagnosis = diagnose(need)
    assert diagnosis.excluded == {"not_eligible": 1, "no_common_language": 1}
    client = signed_in(make.user("facilitator"))
    page = client.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "the member is not eligible" in page and "no common language" in page


def test_full_life_cycle_and_need_status(make):
    match, delegate, partner, facilitator = approved_match(make)
    assert match.status == "approved" and match.need.status == "matched"
    match_service.respond(delegate, match, accept=True)
    assert match.status == "approved" and match.need_response == "accepted"
    with pytest.raises(TransitionNotAllowed):
        match_service.respond(delegate, match, accept=False)
    match_service.respond(partner, match, accept=True)
    assert match.status == "accepted"
    with pytest.raises(DomainError):
        match_service.progress(partner, match, "meeting_held")  # outcome required
    match_service.progress(partner, match, "meeting_held", outcome="cooperation_possible")
    match_service.progress(delegate, match, "agreement")
    assert match.status == "agreement_reached" and match.need.status == "in_progress"
    match_service.progress(partner, match, "delivery")
    match_service.progress(facilitator, match, "complete", note="Law adopted")
    db.session.commit()
    assert match.status == "completed" and match.need.status == "fulfilled"
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "match", AuditEvent.object_id == match.id).order_by(AuditEvent.id))]
    assert actions == ["match.approve", "match.accept", "match.accept", "match.meeting_held", "match.agreement",
                       "match.delivery", "match.complete"]


def test_meeting_without_interest_closes_and_the_need_reopens(make):
    match, delegate, partner, _f = approved_match(make)
    match_service.respond(delegate, match, True)
    match_service.respond(partner, match, True)
    match_service.progress(delegate, match, "meeting_held", outcome="insufficient_interest")
    assert match.status == "closed_no_result" and match.need.status == "open"
    with pytest.raises(TransitionNotAllowed):
        match_service.progress(delegate, match, "agreement")


def test_a_decline_ends_the_introduction(make):
    match, delegate, partner, _f = approved_match(make)
    match_service.respond(partner, match, accept=False, note="Programme fully booked this year")
    assert match.status == "declined" and match.need.status == "open"


STEPS = {
    "approve": lambda m, a: match_service.approve(a["facilitator"], m),
    "reject": lambda m, a: match_service.reject(a["facilitator"], m, "not a fit"),
    "withdraw": lambda m, a: match_service.withdraw(a["facilitator"], m, None),
    "accept": lambda m, a: match_service.respond(a["delegate"], m, True),
    "decline": lambda m, a: match_service.respond(a["partner"], m, False),
    "meeting_held": lambda m, a: match_service.progress(a["partner"], m, "meeting_held", "informative"),
    "agreement": lambda m, a: match_service.progress(a["partner"], m, "agreement"),
    "delivery": lambda m, a: match_service.progress(a["partner"], m, "delivery"),
    "complete": lambda m, a: match_service.progress(a["partner"], m, "complete"),
    "close": lambda m, a: match_service.progress(a["partner"], m, "close", note="no funds"),
}
ALLOWED = {
    "approve": {"proposed"}, "reject": {"proposed"}, "withdraw": {"proposed", "approved"},
    "accept": {"approved"}, "decline": {"approved"}, "meeting_held": {"accepted"}, "agreement": set(),
    "delivery": {"agreement_reached"}, "complete": {"in_delivery"},
    "close": {"accepted", "meeting_held", "agreement_reached", "in_delivery"},
}


@pytest.mark.parametrize("status", MATCH_STATUSES)
@pytest.mark.parametrize("step", sorted(STEPS))
def test_every_step_from_every_status(make, status, step):
    """Allowed steps move the match on; every other one is refused and changes nothing."""
    org = make.organisation()
    match = make.match(make.need("BJ", "open"), make.offering(org, "published"), status,
                       outcome="cooperation_possible" if status == "meeting_held" else None)
    actors = {"facilitator": make.user("facilitator"), "delegate": make.user("delegate", member="BJ"),
              "partner": make.user("partner", organisation=org)}
    if step == "agreement" and status == "meeting_held":
        STEPS[step](match, actors)  # cooperation was found possible at the meeting
        assert match.status == "agreement_reached"
        return
    if status in ALLOWED[step]:
        STEPS[step](match, actors)
        assert match.status != status or step == "accept"
    else:
        with pytest.raises(DomainError):
            STEPS[step](match, actors)
        db.session.rollback()
        db.session.refresh(match)
        assert match.status == status


def test_only_the_right_people_act(make):
    org, other_org = make.organisation(), make.organisation()
    match = make.match(make.need("BJ", "open"), make.offering(org, "published"), "approved")
    with pytest.raises(NotPermitted):
        match_service.approve(make.user("delegate", member="BJ"), make.match(
            make.need("BJ", "open"), make.offering(org, "published"), "proposed"))
    with pytest.raises(NotPermitted):
        match_service.respond(make.user("partner", organisation=other_org), match, True)
    with pytest.raises(NotPermitted):
        match_service.respond(make.user("delegate", member="SN"), match, True)
    with pytest.raises(NotPermitted):
        match_service.respond(make.user("facilitator"), match, True)
    with pytest.raises(DomainError):
        match_service.reject(make.user("facilitator"), make.match(make.need("SN", "open"),
                                                                   make.offering(org, "published")), "  ")


def test_approval_respects_capacity(make):
    org = make.organisation()
    offering = make.offering(org, "published", capacity=1)
    facilitator = make.user("facilitator")
    first = make.match(make.need("BJ", "open"), offering)
    second = make.match(make.need("SN", "open"), offering)
    match_service.approve(facilitator, first)
    db.session.commit()
    with pytest.raises(DomainError, match="no capacity"):
        match_service.approve(facilitator, second)


def test_manual_match(app, make, signed_in):
    org = make.organisation()
    need, offering = make.need("BJ", "open"), make.offering(org, "published")
    client = signed_in(make.user("facilitator"))
    response = client.post("/matches/new", data={"need": str(need.id), "offering": str(offering.id),
                                                 "reason": "Met them in Geneva"})
    assert response.status_code == 302
    match = db.session.scalar(select(Match))
    assert match.origin == "manual" and match.status == "proposed"
    assert "paired by hand" in client.get(f"/matches/{match.id}").get_data(as_text=True)
    again = client.post("/matches/new", data={"need": str(need.id), "offering": str(offering.id)})
    assert again.status_code == 422 and "already paired" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Match.id))) == 1
    forged = client.post("/matches/new", data={"need": "999999", "offering": str(offering.id)})
    assert forged.status_code == 422


def test_queue_filters_sorting_and_bulk_approve(app, make, signed_in):
    org = make.organisation()
    offering = make.offering(org, "published", capacity=None)
    low = make.match(make.need("PE", "open", language="es"), offering, score=0.2)
    high = make.match(make.need("BJ", "open"), offering, score=0.8)
    make.match(make.need("HT", "open"), offering, "rejected", score=0.6)
    client = signed_in(make.user("facilitator"))
    page = client.get("/matches/").get_data(as_text=True)
    assert "2 matches" in page and page.index(f"/matches/{high.id}") < page.index(f"/matches/{low.id}")
    assert "1 match" in client.get("/matches/?language=es").get_data(as_text=True)
    assert "1 match" in client.get("/matches/?min_score=0.5").get_data(as_text=True)
    assert "1 match" in client.get("/matches/?ldc=yes").get_data(as_text=True)
    assert "3 matches" in client.get("/matches/?status=").get_data(as_text=True)
    assert "0 matches" in client.get("/matches/?age=30").get_data(as_text=True)
    assert client.get("/matches/?min_score=abc&sort=evil&status=zz&page=-1").status_code == 200
    refused = client.get("/matches/?age=-4").get_data(as_text=True)   # said by the field, not ignored silently
    assert 'id="age-error"' in refused and 'aria-invalid="true"' in refused
    response = client.post("/matches/bulk-approve", data={"ids": [str(low.id), str(high.id), "99999"]})
    assert response.status_code == 302
    assert {m.status for m in db.session.scalars(select(Match).where(Match.id.in_([low.id, high.id])))} == {"approved"}


def test_parties_see_their_matches_and_what_to_do(app, make, signed_in):
    match, delegate, partner, _f = approved_match(make)
    client = signed_in(partner)
    mine = client.get("/matches/mine").get_data(as_text=True)
    assert match.need.title in mine and "accept or decline" in mine
    page = client.get(f"/matches/{match.id}").get_data(as_text=True)
    assert delegate.email in page  # after approval both parties see each other's contact
    assert client.post(f"/matches/{match.id}/respond", data={"answer": "accept"}).status_code == 302
    db.session.refresh(match)
    assert match.offering_response == "accepted"
    inbox = signed_in(delegate)
    assert "One party accepted" in inbox.get("/inbox").get_data(as_text=True) or \
        db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == delegate.id)) >= 2


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_partner_never_sees_who_posted_a_need_before_approval(app, make, signed_in):
    org = make.organisation()
    offering = make.offering(org, "published", **SIGNATURE_OFFERING)
    need = make.need("BJ", "open", **SIGNATURE_NEED)
    delegate = make.user("delegate", member="BJ", email="awa.secret@gouv.example")
    make.match(need, offering, "proposed")
    partner = make.user("partner", organisation=org)
    client = signed_in(partner)
    member = make.member("BJ")
    forbidden = [member.name_en, member.name_fr, member.name_es, delegate.name, delegate.email]
    pages = ["/", "/needs/", f"/needs/{need.id}", "/offerings/", f"/offerings/{offering.id}", "/matches/mine",
             "/inbox", "/account", "/needs/?region=africa", f"/needs/?q={need.title[:10]}"]
    for path in pages:
        response = client.get(path)
        text = _visible_text(response.get_data(as_text=True))
        for identity in forbidden:
            assert identity not in text, (path, identity)
        assert not re.search(r"\bBJ\b", text), path
    assert client.get(f"/matches/{db.session.scalar(select(Match.id))}").status_code == 403
    # After approval the partner sees who it is.
    match = db.session.scalar(select(Match))
    match_service.approve(make.user("facilitator"), match)
    db.session.commit()
    assert member.name_en in client.get(f"/needs/{need.id}").get_data(as_text=True)


def test_concurrent_decisions_one_wins(app, make, signed_in):
    """Two facilitators decide the same match at the same moment, many times: exactly one decision wins."""
    org = make.organisation()
    offering = make.offering(org, "published", capacity=None)
    first, second = make.user("facilitator"), make.user("facilitator")
    match_ids = [make.match(make.need("BJ", "open"), offering).id for _ in range(10)]
    clients = []
    for user in (first, second):
        client = signed_in(user)
        clients.append(client)
    db.session.commit()

    for match_id in match_ids:
        answers = []
        barrier = threading.Barrier(2)

        def decide(client, data, match_id=match_id, barrier=barrier, answers=answers):
            barrier.wait()
            response = client.post(f"/matches/{match_id}/decide", data=data, follow_redirects=True)
            answers.append((response.status_code, response.get_data(as_text=True)))

        threads = [threading.Thread(target=decide, args=(clients[0], {"action": "approve"})),
                   threading.Thread(target=decide, args=(clients[1], {"action": "reject", "reason": "duplicate",
                                                                      "confirm": "1"}))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert [status for status, _ in answers] == [200, 200]
        won = sum(("Approved: both parties" in html) or ("Rejected." in html) for _, html in answers)
        lost = sum(("already decided" in html) or ("decided this match first" in html) for _, html in answers)
        assert (won, lost) == (1, 1), [html[:0] for _, html in answers]
    db.session.expire_all()
    db.session.rollback()
    decided = db.session.scalars(select(Match).where(Match.id.in_(match_ids))).all()
    assert all(m.status in ("approved", "rejected") for m in decided)
    for m in decided:
        events = db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.object_type == "match", AuditEvent.object_id == m.id))
        assert events == 1


def test_need_status_is_not_touched_when_withdrawn(make):
    match, delegate, _p, facilitator = approved_match(make)
    needs_service.transition(delegate, match.need, "withdraw")
    match_service.withdraw(facilitator, match, "need withdrawn")
    assert match.need.status == "withdrawn"


def test_index_stays_current_without_refit(make):
    org = make.organisation()
    make.offering(org, "published", **SIGNATURE_OFFERING)
    engine = matching.INDEX.current(date.today())
    assert len(engine.ids("offering")) == 1
    added = make.offering(org, "published", **PAYMENT_OFFERING)
    engine2 = matching.INDEX.current(date.today())
    assert engine2 is engine and added.id in engine.ids("offering")
    added.status = "closed"
    db.session.commit()
    assert added.id not in matching.INDEX.current(date.today()).ids("offering")
    expired = make.offering(org, "published", deadline=date.today() - timedelta(days=1), **PAYMENT_OFFERING)
    assert expired.id not in matching.INDEX.current(date.today()).ids("offering")
    assert db.session.scalar(select(func.count(Need.id))) == 0


def test_a_drift_refit_reads_the_records_in_its_own_thread(make, monkeypatch):
    """The request that notices the drift starts the refit and returns; the records are read in the refit's
    thread (with its own application context and session), and the new vocabulary is swapped in."""
    org = make.organisation()
    make.offering(org, "published", **SIGNATURE_OFFERING)
    engine = matching.INDEX.current(date.today())
    readers = []
    real = match_index.read_records

    def spy(today, seen=None):
        readers.append(threading.current_thread().name)
        return real(today, seen)

    monkeypatch.setattr(match_index, "read_records", spy)
    added = make.offering(org, "published", title="Blockchain traceability of coffee exports",
                          description="Blockchain ledgers for coffee traceability, customs and certificates.",
                          policy_areas=["trade_facilitation"], support_kinds=["technical_assistance"],
                          delivery_languages=["en"])
    assert "w:blockchain" not in engine.vocabulary.col
    assert matching.INDEX.current(date.today()) is engine        # one new offering of two: drift
    thread = matching.INDEX._refitting
    assert thread is not None
    thread.join(timeout=60)
    assert readers == ["matchmaker-refit"]
    assert "w:blockchain" in engine.vocabulary.col and added.id in engine.ids("offering")
    assert not thread.is_alive()


def test_introduction_is_emailed_to_both_parties_in_their_language(app, make, smtp_server, signed_in):
    """Approval through the web page: each party gets an inbox message and an e-mail, in the recipient's language."""
    from email import message_from_bytes, policy

    org = make.organisation()
    offering = make.offering(org, "published", **SIGNATURE_OFFERING)
    need = make.need("BJ", "open", **SIGNATURE_NEED)
    match = make.match(need, offering, "proposed")
    delegate = make.user("delegate", member="BJ", language="fr", email="delegue@gouv.example")
    partner = make.user("partner", organisation=org, language="es", email="socio@itc.example")
    facilitator = make.user("facilitator", language="en")
    db.session.commit()
    client = signed_in(facilitator)
    response = client.post(f"/matches/{match.id}/decide", data={"action": "approve"})
    assert response.status_code == 302
    messages = {m.rcpt_tos[0]: message_from_bytes(m.content, policy=policy.default) for m in
                wait_for(smtp_server, 2)}
    assert set(messages) == {"delegue@gouv.example", "socio@itc.example"}
    french, spanish = messages["delegue@gouv.example"], messages["socio@itc.example"]
    assert french["Subject"].startswith("Mise en contact\u00a0: ")
    assert spanish["Subject"].startswith("Puesta en contacto: ")
    assert "commerce électronique" in french.get_content()
    assert "comercio electrónico" in spanish.get_content()
    for message in (french, spanish):   # the link comes from configuration, not from the request
        assert f"{app.config['BASE_URL']}/matches/{match.id}" in message.get_content()
    db.session.expire_all()
    notes = db.session.scalars(select(Notification).where(Notification.match_id == match.id)).all()
    assert {n.user_id for n in notes} == {delegate.id, partner.id}
    assert all(n.emailed for n in notes)


def test_no_email_leaves_when_the_decision_is_rolled_back(app, make, smtp_server):
    org = make.organisation()
    offering = make.offering(org, "published", **SIGNATURE_OFFERING)
    need = make.need("BJ", "open", **SIGNATURE_NEED)
    match = make.match(need, offering, "proposed")
    make.user("delegate", member="BJ")
    db.session.commit()
    match_service.approve(make.user("facilitator"), match)
    db.session.rollback()
    # The outbox is sent synchronously at the next commit: had the rollback kept the message, it would arrive now.
    db.session.commit()
    assert smtp_server.messages == []


def test_sync_applies_each_change_once(make, monkeypatch):
    """Records changed within the overlap window are not re-applied on every request (only new versions are)."""
    org = make.organisation()
    offerings = [make.offering(org, "published", **SIGNATURE_OFFERING) for _ in range(3)]
    engine = matching.INDEX.current(date.today())
    calls = []
    original = engine.upsert
    monkeypatch.setattr(engine, "upsert", lambda rec, side, **kw: calls.append((side, rec.id)) or original(rec, side,
                                                                                                           **kw))
    matching.INDEX.current(date.today())
    assert calls == []
    offerings[0].title = "Model laws on electronic signatures, second edition"
    db.session.commit()
    matching.INDEX.current(date.today())
    matching.INDEX.current(date.today())
    assert calls == [("offering", offerings[0].id)]


def test_facilitator_runs_matching_for_a_selection_of_needs(app, make, signed_in):
    org = make.organisation()
    make.offering(org, "published", **SIGNATURE_OFFERING)
    chosen = make.need("BJ", "open", **SIGNATURE_NEED)
    other = make.need("PE", "open", **SIGNATURE_NEED)
    db.session.execute(Match.__table__.delete())
    db.session.commit()
    client = signed_in(make.user("facilitator"))
    page = client.get("/needs/?status=open").get_data(as_text=True)
    assert f'name="need_ids" value="{chosen.id}"' in page and "Run matching for the selected open needs" in page
    nothing = client.post("/matches/run", data={}, follow_redirects=True)
    assert "Select at least one open need" in nothing.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Match.id))) == 0
    client.post("/matches/run", data={"need_ids": [str(chosen.id)]})
    assert {m.need_id for m in db.session.scalars(select(Match))} == {chosen.id}
    client.post("/matches/run", data={"scope": "all"})
    assert {m.need_id for m in db.session.scalars(select(Match))} == {chosen.id, other.id}


def test_a_run_proposes_for_an_open_need_missing_from_the_index(make):
    """Whatever made the index lag (a record applied but not committed, a restore), a matching run ranks an open
    need the index lacks on its own rather than leaving it without proposals."""
    offering = make.offering(make.organisation(), "published", **SIGNATURE_OFFERING)
    need = make.need("BJ", "open", **SIGNATURE_NEED)
    matching.INDEX.current(date.today()).remove(need.id, "need")     # the need is unchanged in the database
    result = _run()
    assert result.proposed == 1 and _proposed(need) == [offering.id]


def _proposed(need: Need) -> list[int]:
    return list(db.session.scalars(select(Match.offering_id).where(Match.need_id == need.id,
                                                                   Match.status == "proposed")))
