"""Pooled database connections: one that may have gone stale (idle for a while) is checked before use and replaced
when the server closed it; one used moments ago is trusted, without a round trip per request."""
from __future__ import annotations

import time

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import create_engine, event, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from matchmaker.app import create_app
from matchmaker.database import PLAIN_READ, note_checkin, ping_if_idle
from matchmaker.extensions import db
from matchmaker.models import Member


class _Record:
    def __init__(self, idle_seconds: float | None):
        self.info = {} if idle_seconds is None else {"checked_in_at": time.monotonic() - idle_seconds}


class _Connection:
    def __init__(self, fails: bool = False):
        self.fails, self.pings = fails, 0

    def cursor(self):
        self.pings += 1
        if self.fails:
            raise OSError("the server closed the connection")
        return self

    def execute(self, _sql):
        return None

    def close(self):
        return None


@pytest.mark.parametrize("idle, pinged", [(None, 0), (1, 0), (30, 1)])
def test_only_a_connection_idle_for_a_while_is_pinged(idle, pinged):
    connection = _Connection()
    ping_if_idle(10)(connection, _Record(idle), None)
    assert connection.pings == pinged


def test_a_stale_connection_is_handed_back_to_the_pool_to_be_replaced():
    with pytest.raises(DisconnectionError):
        ping_if_idle(10)(_Connection(fails=True), _Record(30), None)


def test_a_connection_the_server_closed_is_replaced_before_the_request_uses_it(app, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("a SQLite file has no server to close its connections")
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "DATABASE_PING_AFTER_SECONDS": 0})
    client = fresh.test_client()
    try:
        assert client.get("/healthz").status_code == 200
        with fresh.app_context():
            pids = {row[0] for row in db.session.execute(text("SELECT pg_backend_pid()"))}
            db.session.remove()
        admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        assert client.get("/healthz").status_code == 200
    finally:
        with fresh.app_context():
            db.engine.dispose()


@pytest.fixture
def postgres_app(app, database_url):
    """A fresh app on the test database (PostgreSQL only) with three pages of its own: one that reads twice, one
    that writes and commits, one that writes and then fails. Each records the server's transaction status at each
    statement it sends."""
    if database_url.startswith("sqlite"):
        pytest.skip("reading outside a transaction is PostgreSQL's (SQLite's file locks are another matter)")
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "PROPAGATE_EXCEPTIONS": False})
    seen: list[tuple[str, str]] = []

    def rename(name: str) -> None:
        db.session.execute(update(Member).where(Member.code == "BJ").values(name_en=name))

    def reads():
        db.session.scalar(select(func.count(Member.id)))
        return {"members": db.session.scalar(select(func.count(Member.id)))}

    def writes():
        rename("Benin (renamed by a read page)")
        db.session.commit()
        return {}

    def fails():
        rename("Benin (a failed page)")
        raise RuntimeError("the page fails after writing")

    for rule, view in (("/t/reads", reads), ("/t/writes", writes), ("/t/fails", fails)):
        fresh.add_url_rule(rule, view.__name__, view)
    with fresh.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda conn, *args: seen.append(
            (args[1].split()[0], conn.connection.dbapi_connection.info.transaction_status.name)))
    yield fresh, seen
    with fresh.app_context():
        db.session.execute(update(Member).where(Member.code == "BJ").values(name_en="Benin"))
        db.session.commit()
        db.engine.dispose()


def _benin(app) -> str:
    with app.app_context():
        name = db.session.scalar(select(Member.name_en).where(Member.code == "BJ"))
        db.session.remove()
        return name


def test_a_page_that_only_reads_sends_no_begin(postgres_app):
    fresh, seen = postgres_app
    assert fresh.test_client().get("/t/reads").status_code == 200
    assert seen == [("SELECT", "IDLE"), ("SELECT", "IDLE")]     # no transaction open around the reads


def test_a_write_in_a_read_page_is_a_transaction_the_page_commits(postgres_app):
    fresh, seen = postgres_app
    assert fresh.test_client().get("/t/writes").status_code == 200
    assert seen == [("UPDATE", "INTRANS")]
    assert _benin(fresh) == "Benin (renamed by a read page)"


def test_a_write_in_a_read_page_that_then_fails_is_rolled_back(postgres_app):
    fresh, seen = postgres_app
    assert fresh.test_client().get("/t/fails").status_code == 500
    assert seen == [("UPDATE", "INTRANS")]
    assert _benin(fresh) == "Benin"


def test_a_locking_read_starts_a_transaction_first():
    assert PLAIN_READ.match("SELECT members.id FROM members WHERE members.id = %(id)s")
    assert PLAIN_READ.match("\n  select 1")
    for statement in ("SELECT id FROM offerings WHERE id = %(id)s FOR UPDATE", "SELECT pg_advisory_xact_lock(1)",
                      "UPDATE members SET name_en = %(name)s", "WITH x AS (DELETE FROM t RETURNING id) SELECT * FROM x",
                      "SAVEPOINT sa_savepoint_1", "SELECT 1 FROM t FOR SHARE"):
        assert not PLAIN_READ.match(statement), statement


def test_a_connection_returned_in_a_transaction_is_rolled_back_and_said(database_url, caplog):
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's pool")
    with psycopg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(False)) as connection:
        connection.execute("SELECT 1")                      # psycopg began a transaction for it
        assert connection.info.transaction_status == TransactionStatus.INTRANS
        record = _Record(None)
        note_checkin(connection, record)
        assert connection.info.transaction_status == TransactionStatus.IDLE and "checked_in_at" in record.info
    assert "came back to the pool in a transaction (outside a request)" in caplog.text
