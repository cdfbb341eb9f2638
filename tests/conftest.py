"""Fixtures: one migrated database per run (SQLite, or PostgreSQL via MATCHMAKER_TEST_DB), emptied after every test."""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, text

from matchmaker.app import create_app
from matchmaker.extensions import db
from matchmaker.models import Member, Need, Offering, Organisation, User

TEST_PASSWORD = "correct horse battery"


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


class Factory:
    """Builds records with sensible defaults; every call commits."""

    def __init__(self, app):
        self.app = app
        self.counter = 0

    def _n(self) -> int:
        self.counter += 1
        return self.counter

    def member(self, code: str) -> Member:
        from sqlalchemy import select

        return db.session.scalar(select(Member).where(Member.code == code))

    def organisation(self, acronym: str | None = None) -> Organisation:
        n = self._n()
        org = Organisation(name=f"Organisation {n}", acronym=acronym or f"ORG{n}", kind="intergovernmental")
        db.session.add(org)
        db.session.commit()
        return org

    def user(self, role: str, member: str | None = None, organisation: Organisation | None = None,
             password: str = TEST_PASSWORD, email: str | None = None, **kw) -> User:
        from matchmaker.services.accounts import hash_password

        n = self._n()
        user = User(email=email or f"{role}{n}@example.org", name=f"{role.title()} {n}", role=role,
                    member=self.member(member) if member else None, organisation=organisation,
                    password_hash=hash_password(password) if password else None, language=kw.pop("language", "en"),
                    active=kw.pop("active", True), **kw)
        db.session.add(user)
        db.session.commit()
        return user

    def need(self, member: str = "BJ", status: str = "open", **kw) -> Need:
        n = self._n()
        values = dict(title=f"Need number {n} for e-signature law", description="We need help drafting an electronic "
                      "signatures law and training our regulators on electronic transactions.", language="en",
                      policy_areas=["e_transactions"], support_kinds=["legal_advice"], delivery_languages=["en", "fr"],
                      beneficiaries=["regulators"], priority="medium", attributed=False)
        values.update(kw)
        need = Need(member=self.member(member), status=status, **values)
        db.session.add(need)
        db.session.commit()
        return need

    def offering(self, organisation: Organisation, status: str = "published", **kw) -> Offering:
        n = self._n()
        values = dict(title=f"Offering number {n} on cyber laws", description="Legislative advice on cybercrime "
                      "laws and training for judges and prosecutors on electronic evidence.", language="en",
                      policy_areas=["cybersecurity"], support_kinds=["legal_advice", "training"],
                      delivery_languages=["en", "fr", "es"], eligibility="all_developing", capacity=3)
        values.update(kw)
        offering = Offering(organisation=organisation, status=status, **values)
        db.session.add(offering)
        db.session.commit()
        return offering


    def match(self, need: Need, offering: Offering, status: str = "proposed", score: float = 0.5, **kw):
        from matchmaker.models import Match

        values = dict(engine_version="test", origin="engine", terms=[["signature", score]],
                      shared_facets={"delivery_languages": ["en"]})
        values.update(kw)
        match = Match(need=need, offering=offering, status=status, score=score, text_score=score, **values)
        db.session.add(match)
        db.session.commit()
        return match


@pytest.fixture
def make(app, ctx):
    return Factory(app)


def login(client, user_or_email, password: str = TEST_PASSWORD):
    """Sign in through the real form; returns the response."""
    email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
    return client.post("/login", data={"email": email, "password": password})


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


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
