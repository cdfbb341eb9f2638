"""How the app talks to its database: the SQLite file's settings and locks, and PostgreSQL's round trips.

A page on PostgreSQL spends more time waiting for the server's answers than computing (52 % of the workers' time in
the load test, sampled with py-spy), and each statement waits for the server's process to be scheduled on a busy
machine. So the round trips that carry no work are left out:

- a pooled connection is checked (``SELECT 1``) only when it was idle for DATABASE_PING_AFTER_SECONDS, not at every
  checkout (SQLAlchemy's pool_pre_ping: a round trip per request);
- a page that only reads (GET, HEAD) reads outside a transaction (psycopg's autocommit: no ``BEGIN`` before its
  first statement, no ``ROLLBACK`` after its last). Under READ COMMITTED each statement reads its own snapshot
  anyway, so the page sees what it saw in a transaction. A write in such a page (the inbox marking its messages
  read, a session's last-seen time) still runs in a transaction: ``BEGIN`` is sent before the first statement that
  is not a plain read, and the page's commit or the end of the request (rollback) ends it, as before.
"""
from __future__ import annotations

import logging
import re
import time

from flask import Flask, has_request_context, request
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

from matchmaker.extensions import db

_log = logging.getLogger("matchmaker.database")

READ_METHODS = ("GET", "HEAD", "OPTIONS")
MID_TRANSACTION = (TransactionStatus.INTRANS, TransactionStatus.INERROR)
# A statement that reads and takes no lock: anything else starts a transaction first.
PLAIN_READ = re.compile(r"\s*(SELECT|SHOW)\b(?!.*\bFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b)"
                        r"(?!.*\bpg_advisory)", re.IGNORECASE | re.DOTALL)


def configure(app: Flask, engine: Engine) -> None:
    """The engine's listeners for its dialect, and, on PostgreSQL, reads without a transaction."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return
    event.listen(engine, "checkin", note_checkin)
    event.listen(engine, "checkout", ping_if_idle(app.config["DATABASE_PING_AFTER_SECONDS"]))
    event.listen(engine, "before_cursor_execute", begin_before_a_write)
    app.before_request(read_without_transaction)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" event decide how transactions start (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # A request that may write takes the write lock up front (BEGIN IMMEDIATE): a deferred transaction that
    # reads and then writes cannot wait for another worker's lock and fails at once with "database is locked".
    # Reads, and work outside a request (CLI, tests), start deferred so they never hold the write lock idle.
    if has_request_context() and request.method not in READ_METHODS:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def note_checkin(dbapi_connection, record) -> None:
    """Back in the pool: when (``info`` lives as long as the DBAPI connection: a connection made anew has no time, and
    is not pinged); and never in a transaction. A connection returned mid-transaction (which the pool's own reset
    should make impossible) is rolled back and said, with the request that returned it, rather than handed to the
    next request, which could not even read without a transaction."""
    if dbapi_connection is not None and dbapi_connection.info.transaction_status in MID_TRANSACTION:
        where = f"{request.method} {request.path}" if has_request_context() else "outside a request"
        _log.warning("a connection came back to the pool in a transaction (%s); rolled back", where)
        dbapi_connection.rollback()
    record.info["checked_in_at"] = time.monotonic()


def ping_if_idle(after_seconds: float):
    """A pool "checkout" listener: a connection idle for longer than ``after_seconds`` runs ``SELECT 1`` first; if
    that fails, the pool is told it is gone (DisconnectionError) and connects again (SQLAlchemy's documented
    pessimistic disconnect handling, done only where a connection may have gone stale)."""

    def ping(dbapi_connection, record, _proxy) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < after_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as error:
            raise DisconnectionError() from error

    return ping


def read_without_transaction() -> None:
    """Before a GET or HEAD: the request's connection in autocommit (see the module's docstring). Not when the
    session is already in a transaction (an outer application context's: a test's, a CLI command's)."""
    if request.method in READ_METHODS and request.endpoint != "static" and not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def begin_before_a_write(connection, _cursor, statement: str, _parameters, _context, _executemany) -> None:
    """On a connection reading without a transaction, ``BEGIN`` before the first statement that is not a plain
    read, so that the writes are one transaction that the request commits or rolls back."""
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT" or PLAIN_READ.match(statement):
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection.info.transaction_status == TransactionStatus.IDLE:
        dbapi_connection.execute("BEGIN")
