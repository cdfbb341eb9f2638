"""The audit log reads as sentences (no internal codes), filters by person, action, record and date, and leaves the
sign-ins to a page of their own."""
from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import AuditEvent
from matchmaker.reference import AUDIT_SENTENCES

CODE = re.compile(r"\b(?:user|need|offering|match|matching|session|import|api_token|organisation)\.[a-z_]+\b")


def _rows(page: str) -> str:
    return page.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in page else ""


def _dated(action: str, when: datetime, actor, obj_type="need", obj_id=None, reason=None):
    db.session.add(AuditEvent(action=action, at=when, actor_id=actor.id, object_type=obj_type, object_id=obj_id,
                              reason=reason, detail={}))


def test_sentences_filters_and_sign_ins_apart(app, make, signed_in):
    facilitator, delegate = make.user("facilitator"), make.user("delegate", member="BJ")
    need = make.need("BJ", "open", title="Electronic signatures law")
    _dated("need.submit", datetime(2026, 3, 2, 9, tzinfo=UTC), delegate, obj_id=need.id)
    _dated("need.open", datetime(2026, 3, 9, 9, tzinfo=UTC), facilitator, obj_id=need.id,
           reason="Clear and complete.")
    _dated("user.login", datetime(2026, 3, 9, 8, tzinfo=UTC), facilitator, "user", facilitator.id)
    db.session.commit()
    client = signed_in(facilitator)
    page = client.get("/admin/audit").get_data(as_text=True)
    rows = _rows(page)
    assert f'{delegate.name} submitted the need <a href="/needs/{need.id}">“Electronic signatures law”</a> for ' \
           "screening" in rows
    assert f"{facilitator.name} opened the need" in rows and "Clear and complete." in rows
    assert "signed in" not in rows and not CODE.search(rows), CODE.search(rows)
    # Filters: by person, by action, by dates (inclusive), by record.
    assert "submitted" not in _rows(client.get(f"/admin/audit?person={facilitator.id}").get_data(as_text=True))
    assert "opened" not in _rows(client.get("/admin/audit?action=need.submit").get_data(as_text=True))
    by_date = _rows(client.get("/admin/audit?since=2026-03-09&until=2026-03-09").get_data(as_text=True))
    assert "opened" in by_date and "submitted" not in by_date
    assert "opened" not in _rows(client.get("/admin/audit?until=2026-03-08").get_data(as_text=True))
    assert "opened" not in _rows(client.get("/admin/audit?type=match").get_data(as_text=True))
    # Nonsense in the filters is ignored, never an error.
    assert client.get("/admin/audit?person=abc&since=yesterday&action=drop").status_code == 200
    # The action filter offers the kinds of action in words.
    assert "… submitted the need … for screening" in page
    sign_ins = _rows(client.get("/admin/sign-ins").get_data(as_text=True))
    assert f"{facilitator.name} signed in" in sign_ins and "submitted" not in sign_ins


def test_a_published_edition_reads_by_its_number(app, make, signed_in):
    facilitator = make.user("facilitator")
    db.session.add(AuditEvent(action="report.publish", at=datetime(2026, 4, 1, 9, tzinfo=UTC),
                              actor_id=facilitator.id, object_type="reportedition", object_id=7, detail={"number": 2}))
    db.session.commit()
    client = signed_in(facilitator)
    rows = _rows(client.get("/admin/audit").get_data(as_text=True))
    assert f"{facilitator.name} published edition 2 of the public report" in rows


def test_a_lifted_sign_in_lock_names_the_address(app, make, signed_in):
    admin = make.user("admin")
    db.session.add(AuditEvent(action="sign_in.lock_cleared", at=datetime(2026, 4, 1, 9, tzinfo=UTC),
                              actor_id=admin.id, object_type="signinlock", object_id=None,
                              detail={"kind": "address", "address": "203.0.113.9", "failures": 20}))
    db.session.commit()
    client = signed_in(admin)
    rows = _rows(client.get("/admin/audit").get_data(as_text=True))
    assert f"{admin.name} lifted the sign-in lock on 203.0.113.9" in rows


def test_every_action_the_code_records_has_a_sentence():
    """A new kind of audit event without words fails here (the page would fall back to a vaguer sentence)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "matchmaker"
    found = set()
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'record\([^,]+,\s*"([a-z_]+\.[a-z_]+)"', text))
        found |= set(re.findall(r'action="(user\.[a-z_]+)"', text))
        for prefix, actions in (("need", "needs"), ("offering", "offerings"), ("session", "sessions")):
            if f'f"{prefix}.{{action}}"' in text:
                module = __import__(f"matchmaker.services.{actions}", fromlist=["TRANSITIONS"])
                found |= {f"{prefix}.{a}" for a in module.TRANSITIONS}
        if 'f"match.{action}"' in text:
            from matchmaker.services.matches import PROGRESS

            found |= {f"match.{a}" for a in PROGRESS}
    assert len(found) > 50
    assert found - set(AUDIT_SENTENCES) == set()


def test_the_match_history_says_who_started_the_engine_not_that_they_proposed(app, make, signed_in):
    from matchmaker.services.matching import propose_for_need

    facilitator = make.user("facilitator")
    org = make.organisation("ITC")
    make.offering(org, "published", title="Electronic signature laws", description="Advice on electronic signature "
                  "laws and training of regulators on electronic transactions and signatures.")
    need = make.need("BJ", "open")
    propose_for_need(need, facilitator)
    db.session.commit()
    match_id = db.session.scalar(select(AuditEvent.object_id).where(AuditEvent.action == "match.proposed"))
    client = signed_in(facilitator)
    page = " ".join(client.get(f"/matches/{match_id}").get_data(as_text=True).split())
    assert "Proposed by the engine by" not in page
    assert f"Proposed by the engine · matching started by {facilitator.name}" in page
