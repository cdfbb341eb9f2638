"""Pooled database connections: one that may have gone stale (idle for a while) is checked before use and replaced
when the server closed it; one used moments ago is trusted, without a round trip per request."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DisconnectionError

from matchmaker.app import _ping_if_idle, create_app
from matchmaker.extensions import db


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
    _ping_if_idle(10)(connection, _Record(idle), None)
    assert connection.pings == pinged


def test_a_stale_connection_is_handed_back_to_the_pool_to_be_replaced():
    with pytest.raises(DisconnectionError):
        _ping_if_idle(10)(_Connection(fails=True), _Record(30), None)


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
