"""Reference data (WTO members and observers) and the demo content loaded by `flask seed-demo`."""
from __future__ import annotations

from collections import Counter
from datetime import UTC
from itertools import pairwise

from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import Member, Need, Offering, Organisation, User
from matchmaker.services.reference import load_members, read_members


def test_members_file_is_complete_and_consistent():
    rows = read_members()
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes))
    statuses = Counter(r["wto_status"] for r in rows)
    assert statuses["member"] == 166 and statuses["observer"] >= 20
    ldcs = {r["code"] for r in rows if r["is_ldc"]}
    assert {"BJ", "HT", "BD", "NP", "KH", "SN"} <= ldcs
    assert not {"BT", "ST", "CV", "MV", "WS", "VU"} & ldcs  # graduated
    assert all(r["is_developing"] for r in rows if r["is_ldc"])
    eu = next(r for r in rows if r["code"] == "EU")
    assert not eu["is_developing"] and eu["name_fr"] == "Union européenne"
    assert all(r["name_en"] and r["name_fr"] and r["name_es"] for r in rows)


def test_loading_members_is_idempotent(app, ctx):
    count = db.session.scalar(select(func.count(Member.id)))
    assert count == len(read_members())
    assert load_members() == (0, 0)
    benin = db.session.scalar(select(Member).where(Member.code == "BJ"))
    assert benin.name("fr") == "Bénin" and benin.name("es") == "Benin" and benin.is_ldc


def test_cli_loads_reference_and_demo_idempotently(runner, ctx):
    result = runner.invoke(args=["load-reference"])
    assert result.exit_code == 0 and "0 added, 0 updated" in result.output
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    needs = db.session.scalars(select(Need)).all()
    offerings = db.session.scalars(select(Offering)).all()
    assert len(needs) >= 40 and len({n.member_id for n in needs}) >= 20
    assert sum(n.language in ("fr", "es") for n in needs) >= len(needs) / 3
    assert len(offerings) >= 30 and len({o.organisation_id for o in offerings}) >= 10
    acronyms = set(db.session.scalars(select(Organisation.acronym)))
    assert {"OECD", "ITC", "ITU", "UNCTAD", "UNCITRAL", "UNODC", "UPU"} <= acronyms
    assert {u.role for u in db.session.scalars(select(User))} == {"delegate", "partner", "facilitator", "admin"}
    # Needs never name their member in the text (confidentiality before approval).
    for need in needs:
        for name in (need.member.name_en, need.member.name_fr, need.member.name_es):
            if not need.attributed:
                assert name not in need.title and name not in need.description, (need.title, name)
    again = runner.invoke(args=["seed-demo"])
    assert "0 organisations added, 0 users added, 0 offerings added, 0 needs added, 0 match stories added, " \
           "0 sessions added" in again.output
    accounts = runner.invoke(args=["demo-accounts"])
    assert "delegate@example.org" in accounts.output and "partner@example.org" in accounts.output


def test_demo_accounts_point_at_the_configured_address(app, runner, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "http://127.0.0.1:8123")
    accounts = runner.invoke(args=["demo-accounts"])
    assert "Sign in at http://127.0.0.1:8123/login" in accounts.output


def test_cli_create_user(runner, ctx):
    result = runner.invoke(args=["create-user", "--email", "Boss@Example.org", "--name", "Boss", "--role", "admin",
                                 "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "boss@example.org")).role == "admin"
    again = runner.invoke(args=["create-user", "--email", "boss@example.org", "--name", "Boss", "--role", "admin",
                                "--password", "a long enough password"])
    assert again.exit_code != 0 and "already exists" in again.output
    no_member = runner.invoke(args=["create-user", "--email", "d@example.org", "--name", "D", "--role", "delegate",
                                    "--member", "ZZ", "--password", "a long enough password"])
    assert no_member.exit_code != 0


def test_the_demo_shows_the_whole_life_cycle_in_order_and_in_the_past(ctx):
    """Every stage of a match, a session held with its agenda and outcomes, one planned with availability given;
    written through the services, so the audit trail agrees, with every event dated in order before now."""
    from datetime import datetime

    from matchmaker.models import AuditEvent, Match, MatchmakingSession, Notification, SessionAvailability
    from matchmaker.services import editions
    from matchmaker.services.demo import seed_demo

    started = datetime.now(UTC)
    seed_demo()
    db.session.commit()
    statuses = Counter(db.session.scalars(select(Match.status)))
    for stage in ("proposed", "approved", "accepted", "meeting_held", "in_delivery", "completed",
                  "closed_no_result", "rejected", "declined"):
        assert statuses[stage] >= 1, (stage, statuses)
    held, planned = (db.session.scalar(select(MatchmakingSession).where(MatchmakingSession.status == s))
                     for s in ("closed", "planning"))
    assert held.date < started.date() < planned.date
    assert all(m.is_placed for m in held.meetings) and sum(m.outcome is not None for m in held.meetings) >= 3
    assert held.public_summary and "Chatham House" in held.public_summary
    assert planned.agenda_built_at is not None and db.session.scalar(
        select(func.count(SessionAvailability.id)).where(SessionAvailability.session_id == planned.id)) >= 3
    # The audit trail tells the same story: each match's events end at its status, every event in the past and
    # in the order it was written.
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert all(a.at <= b.at for a, b in pairwise(events))
    assert events[-1].at < started and (started - events[0].at).days > 100
    last = {}
    for event in events:
        if event.object_type == "match":
            last[event.object_id] = event
    completed = db.session.scalar(select(Match).where(Match.status == "completed"))
    assert last[completed.id].action == "match.complete"
    assert {e.action for e in events} >= {"need.created", "need.submit", "need.open", "need.return", "match.proposed",
                                          "match.approve", "match.accept", "match.decline", "match.reject",
                                          "match.meeting_held", "match.agreement", "match.delivery",
                                          "match.complete", "session.held", "session.outcome", "session.close"}
    assert "need.seeded" not in {e.action for e in events}
    # A published edition of the public report, the last thing the story did.
    assert events[-1].action == "report.publish" and editions.latest().published_at == events[-1].at
    # The parties heard of it in their inbox, at the story's dates.
    notes = db.session.scalars(select(Notification)).all()
    assert len(notes) > 20 and max(n.created_at for n in notes) < started
    # The demo accounts have something to do.
    delegate = db.session.scalar(select(User).where(User.email == "delegate@example.org"))
    partner = db.session.scalar(select(User).where(User.email == "partner@example.org"))
    introduced = db.session.scalar(select(Match).where(Match.status == "approved",
                                                       Match.need.has(member_id=delegate.member_id),
                                                       Match.offering.has(organisation_id=partner.organisation_id)))
    assert introduced is not None and introduced.need_response == introduced.offering_response == "pending"
    assert db.session.scalar(select(Need).where(Need.member_id == delegate.member_id, Need.status == "draft",
                                                Need.screening_comment.is_not(None))) is not None
