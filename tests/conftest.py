"""Fixtures: one migrated database per run (SQLite, or PostgreSQL via MATCHMAKER_TEST_DB), emptied after every test;
records (``make``); clients signed in as each role (``signed_in``). Fixtures that start servers or build shared worlds
live in tests/fixtures/ and tests/route_matrix.py, loaded below; plain helpers in tests/helpers.py."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, text

from matchmaker.app import create_app
from matchmaker.extensions import db
from matchmaker.models import User
from tests.factory import Factory
from tests.helpers import TEST_PASSWORD, csrf_token, login, signed_in_client  # noqa: F401  (also importable from here)

# Fixtures shared by several test modules, grouped by what they set up.
pytest_plugins = ["tests.fixtures.servers", "tests.fixtures.records", "tests.route_matrix"]

ROLES = ("admin", "facilitator", "delegate", "partner", "anonymous")


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://"):]
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("MATCHMAKER_TEST_DB")
    if url:
        return normalise_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def reset_database(url: str) -> None:
    """An empty database: a fresh SQLite file, or an emptied public schema on PostgreSQL."""
    if url.startswith("sqlite"):
        path = Path(url.replace("sqlite:///", ""))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    from sqlalchemy import create_engine

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    from matchmaker.services.reference import load_members

    reset_database(database_url)
    application = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "BASE_URL": "https://matchmaker.test",
                              "MATCH_INDEX_DIR": str(tmp_path_factory.mktemp("match-index"))})
    with application.app_context():
        upgrade()
        load_members()
        db.session.commit()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean(request):
    """Every test starts from members only; rows it wrote are removed afterwards."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        db.session.rollback()
        for table in reversed(db.metadata.sorted_tables):
            if table.name != "members":
                db.session.execute(delete(table))
        db.session.commit()
        db.session.remove()
    # The engine index of this process knows the deleted records, and so does the saved one: start the next test
    # afresh (in the service, records are closed, not deleted).
    from matchmaker.services import match_index

    match_index.INDEX.reset()
    with application.app_context():
        match_index.forget_saved_index()


@pytest.fixture
def ctx(app):
    """An application context for tests that work with the database directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app, ctx):
    return Factory(app)


@pytest.fixture
def signed_in(app, make):
    """Test clients signed in through the real sign-in form (with its CSRF token when the app checks them).

    ``signed_in("partner")`` makes a new account of that role (a delegate of Benin, a partner of a new organisation)
    and signs it in; ``signed_in(user)`` or ``signed_in("someone@example.org", password)`` signs in an existing
    account; ``signed_in("anonymous")`` is a client signed in as nobody."""
    def sign_in(who: User | str, password: str = TEST_PASSWORD):
        if who == "anonymous":
            return app.test_client()
        if who in ROLES:
            who = account(make, who)
        return signed_in_client(app, who, password)
    return sign_in


def account(make: Factory, role: str) -> User:
    """A new account of ``role``: a delegate of Benin, a partner of a new organisation."""
    if role == "delegate":
        return make.user("delegate", member="BJ")
    if role == "partner":
        return make.user("partner", organisation=make.organisation())
    return make.user(role)


@pytest.fixture
def csrf_app(app):
    """The test app with CSRF checks on, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield app
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new, empty database of the kind under test (migration and restore tests)."""
    url = os.environ.get("MATCHMAKER_TEST_DB")
    if not url:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = normalise_url(url)
    name = f"mm_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
