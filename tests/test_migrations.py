"""Alembic: one head, upgrade from an empty database, and a downgrade/upgrade round trip that keeps the schema."""
from __future__ import annotations

import os
import uuid

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from matchmaker.app import create_app
from matchmaker.extensions import db
from tests.conftest import normalise_url

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def test_single_head():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new database of the kind under test."""
    url = os.environ.get("MATCHMAKER_TEST_DB")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    url = normalise_url(url)
    name = f"mm_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_matches_the_models_and_round_trips(empty_database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        inspector = inspect(db.engine)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        assert tables == set(db.metadata.tables)
        for table in db.metadata.sorted_tables:
            migrated = {c["name"] for c in inspector.get_columns(table.name)}
            assert migrated == {c.name for c in table.columns}, table.name
        # Keep a row across a downgrade of nothing and a full down-and-up cycle of the schema.
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(inspect(db.engine).get_table_names()) - {"alembic_version"} == set(db.metadata.tables)
        db.engine.dispose()


def test_models_and_migrations_agree(empty_database_url):
    """Autogenerate finds nothing to add: every model change came with its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    # Type-only differences between our UTC wrapper and DateTime are expected; anything structural is not.
    structural = [d for d in diff if not (isinstance(d, list) and d and d[0][0] == "modify_type")]
    assert structural == []
