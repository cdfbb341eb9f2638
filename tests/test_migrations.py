"""Alembic: one head, upgrade from an empty database, and a downgrade/upgrade round trip that keeps the schema."""
from __future__ import annotations

import os
from itertools import pairwise

from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from matchmaker.app import create_app
from matchmaker.extensions import db

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def test_single_head():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


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


def _snapshot(engine) -> dict[str, dict[tuple, dict[str, str]]]:
    """Every row of every table, by primary key, as text (so that both databases compare alike)."""
    inspector = inspect(engine)
    tables = {}
    with engine.connect() as conn:
        for name in inspector.get_table_names():
            if name == "alembic_version":
                continue
            keys = inspector.get_pk_constraint(name)["constrained_columns"]
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).mappings().all()
            tables[name] = {tuple(str(row[k]) for k in keys): {c: str(v) for c, v in row.items()} for row in rows}
    return tables


def _kept(before, after) -> tuple[int, int, list]:
    """Rows of ``before`` (in tables that still exist) found unchanged in ``after`` (on the columns both have)."""
    total = kept = 0
    lost = []
    for table, rows in before.items():
        if table not in after:
            continue
        for key, row in rows.items():
            total += 1
            other = after[table].get(key)
            if other is not None and all(row[c] == other[c] for c in row.keys() & other.keys()):
                kept += 1
            else:
                lost.append((table, key))
    return kept, total, lost


def test_round_trip_on_a_seeded_database_keeps_every_row(empty_database_url):
    """Demo data, matches, sessions, tokens and uploads; down one revision at a time to the first, then up again."""
    from alembic.config import Config

    from matchmaker.api.tokens import create_token
    from matchmaker.models import ImportUpload, LoginAttempt, User, UserSession
    from matchmaker.services.demo import seed_demo
    from matchmaker.services.matching import run_matching
    from matchmaker.services.reference import load_members

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    revisions = [r.revision for r in ScriptDirectory.from_config(config).walk_revisions()]  # head first
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        load_members()
        seed_demo()
        db.session.flush()
        run_matching(None)
        user = db.session.scalar(db.select(User).where(User.role == "partner"))
        create_token(user, "seeded")
        db.session.add_all([UserSession(token_hash="a" * 64, user=user, address="127.0.0.1"),
                            LoginAttempt(email="x@example.org", address="127.0.0.1"),
                            ImportUpload(user_id=user.id, kind="offerings_csv", filename="é.csv",
                                         content=b"\x00\xff caf\xc3\xa9", sha256="0" * 64)])
        db.session.commit()
        db.session.remove()
        seeded = _snapshot(db.engine)
        assert sum(len(rows) for rows in seeded.values()) > 500 and len(seeded["matches"]) > 10
        states = [seeded]
        for revision in revisions[1:]:
            downgrade(revision=revision)
            states.append(_snapshot(db.engine))
        for revision in reversed(revisions[:-1]):
            upgrade(revision=revision)
            states.append(_snapshot(db.engine))
        db.engine.dispose()
    # Each step keeps every row of every table that exists on both sides of it.
    for before, after in pairwise(states):
        kept, total, lost = _kept(before, after)
        assert lost == [] and kept == total
    # Back at the head: everything created before 0002/0003 existed is still there, unchanged.
    oldest = states[len(revisions) - 1]
    kept, total, lost = _kept(oldest, states[-1])
    assert total > 400 and lost == []
