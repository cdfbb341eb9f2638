"""Reference data (WTO members and observers) and the demo content loaded by `flask seed-demo`."""
from __future__ import annotations

from collections import Counter

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
    assert "0 organisations added, 0 users added, 0 offerings added, 0 needs added" in again.output
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
