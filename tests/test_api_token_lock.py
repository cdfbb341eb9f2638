"""Reading the API while another worker holds SQLite's write lock: recording the token's use may fail, the read
must not (it used to answer 500 "database is locked" under load: the failed note was re-applied and autoflushed)."""
from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from matchmaker.app import create_app
from matchmaker.extensions import db
from matchmaker.models.base import utcnow


def test_a_read_succeeds_while_the_write_lock_is_held(app, make, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock")
    from matchmaker.api.tokens import create_token

    user = make.user("partner", organisation=make.organisation())
    token, secret = create_token(user, "lock test")
    token.last_used_at = utcnow() - timedelta(days=1)        # old enough to be noted again
    db.session.commit()
    db.session.remove()
    # The same database, with a short busy timeout so that the test does not wait 15 s for the lock.
    impatient = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "BASE_URL": "https://matchmaker.test",
                            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 0.2}}})
    holder = sqlite3.connect(database_url.replace("sqlite:///", ""), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")                      # another worker writing
        response = impatient.test_client().get("/api/v1/offerings",
                                               headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        with impatient.app_context():
            db.engine.dispose()
