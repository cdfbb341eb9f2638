"""`flask backup` while writers run, then `flask restore` into a new database that boots and serves."""
from __future__ import annotations

import threading

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from matchmaker.app import create_app
from matchmaker.extensions import db
from matchmaker.models import LoginAttempt, Need, Offering
from tests.helpers import wait_until


def _counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


@pytest.mark.slow
def test_backup_while_writing_then_restore_boots_and_serves(app, ctx, runner, tmp_path, empty_database_url):
    from matchmaker.services.demo import DEMO_PASSWORD, seed_demo

    seed_demo()
    db.session.commit()
    acknowledged: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []

    def writer(n: int) -> None:
        with app.app_context():
            i = 0
            while not stop.is_set():
                attempt = LoginAttempt(email=f"writer{n}-{i}@example.org", address=f"10.0.0.{n}")
                try:
                    db.session.add(attempt)
                    db.session.flush()  # the id, without a read after the commit (a read-then-write on SQLite)
                    ident = attempt.id
                    db.session.commit()
                except Exception as error:  # noqa: BLE001  (reported below, never swallowed)
                    db.session.rollback()
                    errors.append(repr(error))
                    continue
                with lock:
                    acknowledged.append(ident)
                i += 1
            db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acknowledged) >= 30 or errors)
    with lock:
        before_backup = set(acknowledged)
    db.session.rollback()
    expected = _counts()
    path = tmp_path / "matchmaker.backup"
    result = runner.invoke(args=["backup", str(path)])
    during = len(acknowledged) - len(before_backup)
    wait_until(lambda: len(acknowledged) > len(before_backup) + during or errors)  # writers go on after the backup
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert errors == []
    assert path.stat().st_size > 10_000

    restored = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "WTF_CSRF_ENABLED": False})
    with restored.app_context():  # the CLI runs against the innermost app context: this one
        result = restored.test_cli_runner().invoke(args=["restore", str(path), "--yes"])
        assert result.exit_code == 0, result.output
        counts = _counts()
        kept = set(db.session.scalars(select(LoginAttempt.id)))
        # Every write acknowledged before the backup began is in it; nothing else was lost or doubled.
        assert before_backup <= kept, len(before_backup - kept)
        for table, count in expected.items():
            if table != "login_attempts":
                assert counts[table] == count, table
        assert counts["needs"] > 40 and counts["offerings"] > 40
        # The restored copy is at the current schema and serves: health, sign-in, pages.
        check = restored.test_cli_runner().invoke(args=["check-deploy"])
        assert "ok    schema up to date" in check.output and "ok    database reachable" in check.output
        client = restored.test_client()
        assert client.get("/healthz").get_json() == {"status": "ok"}
        response = client.post("/login", data={"email": "facilitator@example.org", "password": DEMO_PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        page = client.get("/needs/").get_data(as_text=True)
        title = db.session.scalar(select(Need.title).where(Need.status != "draft")
                                  .order_by(Need.updated_at.desc(), Need.id.desc()))
        assert str(escape(title)) in page
        assert client.get(f"/offerings/{db.session.scalar(select(func.min(Offering.id)))}").status_code == 200
        db.session.remove()
        db.engine.dispose()
    print(f"backup: {len(before_backup)} acknowledged before, {during} written during, all restored")


def test_restore_refuses_what_is_not_a_backup(app, runner, tmp_path):
    bogus = tmp_path / "not-a-backup.db"
    bogus.write_bytes(b"PK\x03\x04 a zip file renamed")
    result = runner.invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code != 0 and "not" in result.output and "backup" in result.output


def test_restore_asks_before_replacing(app, runner, tmp_path):
    path = tmp_path / "x.backup"
    path.write_bytes(b"anything")
    result = runner.invoke(args=["restore", str(path)], input="n\n")
    assert result.exit_code != 0 and "Aborted" in result.output
