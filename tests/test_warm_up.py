"""What gunicorn's master computes before it forks (gunicorn.conf.py): every step runs, none is skipped by an error."""
from __future__ import annotations

import logging

from babel import localedata

from matchmaker.services import allocation
from matchmaker.warm import warm_up


def test_warming_runs_every_step_and_leaves_the_competition_computed(app, make, caplog, monkeypatch):
    offering = make.offering(make.organisation(), "published", capacity=1)
    for code in ("PE", "BJ"):
        make.match(make.need(code, "open"), offering)
    solved = []
    solve = allocation.allocate
    monkeypatch.setattr(allocation, "allocate", lambda *args, **kw: solved.append(1) or solve(*args, **kw))
    with caplog.at_level(logging.WARNING, logger="matchmaker.warm"):
        warm_up(app)
    assert not [r for r in caplog.records if r.name == "matchmaker.warm"], caplog.text
    assert len(solved) == 1
    with app.app_context():
        assert allocation.competition([offering.id])[offering.id].places == 1
    assert len(solved) == 1                         # the workers find it computed


def test_warming_reads_babel_s_data_for_every_language(app, monkeypatch):
    """Each language's CLDR data (dates, numbers) costs ~40 ms to read: once in the master, not in every worker."""
    read = []
    load = localedata.load
    monkeypatch.setattr(localedata, "load", lambda name, *args, **kw: read.append(name) or load(name, *args, **kw))
    warm_up(app)
    assert set(app.config["LANGUAGES"]) <= set(read)


def _world(make) -> dict:
    organisation = make.organisation()
    need = make.need("BJ", "open")
    make.match(need, make.offering(organisation))
    return {role: make.user(role, member="BJ" if role == "delegate" else None,
                            organisation=organisation if role == "partner" else None)
            for role in ("delegate", "partner", "facilitator")}


def test_the_rehearsal_renders_every_page_writes_nothing_and_starts_no_thread(app, make, monkeypatch):
    import threading

    from matchmaker.warm import REHEARSED_PAGES, rehearse_pages
    from tests.helpers import row_counts

    _world(make)
    answered = []
    dispatch = app.full_dispatch_request

    def recorded():
        from flask import request

        response = dispatch()
        answered.append((request.full_path.rstrip("?"), response.status_code))
        return response

    monkeypatch.setattr(app, "full_dispatch_request", recorded)
    before, threads = row_counts(), threading.active_count()
    rehearse_pages(app)
    assert row_counts() == before and threading.active_count() == threads
    pages = sum(len(paths) for paths in REHEARSED_PAGES.values()) * len(app.config["LANGUAGES"])
    assert len(answered) == pages
    refused = [(path, status) for path, status in answered if status != 200]
    assert {path for path, _ in refused} == {"/api/v1/needs?per_page=20"}, refused     # no token: 401


def test_after_the_warm_up_a_worker_s_pages_compile_no_statement(app, make, signed_in):
    """SQLAlchemy compiles each statement once per engine: the master's rehearsal compiled the workers' ones."""
    import threading

    from sqlalchemy import event, select
    from sqlalchemy.engine.default import CACHE_MISS

    from matchmaker.extensions import db
    from matchmaker.models import User
    from matchmaker.services import throttle
    from matchmaker.warm import rehearse_pages

    clients = {role: signed_in(user) for role, user in _world(make).items()}
    db.engine._compiled_cache.clear()
    rehearse_pages(app)                             # what warm_up does last
    compiled = []

    def count(_conn, _cursor, statement, _parameters, context, _many):
        if context.cache_hit is CACHE_MISS and threading.get_ident() == this_thread:
            compiled.append(statement)

    this_thread = threading.get_ident()             # not a background fit's statements
    event.listen(db.engine, "after_cursor_execute", count)
    try:
        for role, path in (("delegate", "/needs/"), ("partner", "/offerings/"), ("facilitator", "/matches/"),
                           ("delegate", "/"), ("partner", "/needs/")):
            db.session.expunge_all()    # each request with a session of its own, as in a worker (not the test's)
            assert clients[role].get(path).status_code == 200
        with app.test_request_context("/login", method="POST"):    # a sign-in's reads (a rehearsal writes nothing)
            db.session.scalar(select(User).where(User.email == "someone@example.org"))
            for device in (None, "a device"):
                throttle.check(throttle.Client("someone@example.org", "192.0.2.1", device))
    finally:
        event.remove(db.engine, "after_cursor_execute", count)
    assert compiled == []


def test_a_worker_verifies_a_password_once_before_its_first_sign_in(app, monkeypatch):
    """Argon2's 19 MiB are each worker's own memory: written once at start, not by the worker's first sign-in."""
    from matchmaker.services import accounts
    from matchmaker.warm import warm_worker

    verified = []
    verify = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda *args: verified.append(args[0]) or verify(*args))
    warm_worker(app)
    assert verified == [accounts.dummy_hash()] and verified[0].startswith("$argon2id$")


def test_a_worker_opens_its_database_connection_before_its_first_request(app):
    from matchmaker.extensions import db
    from matchmaker.warm import warm_worker

    with app.app_context():
        db.engine.dispose()                         # a worker starts with none (post_fork leaves the master's)
        warm_worker(app)
        assert db.engine.pool.checkedin() == 1


def test_the_master_freezes_what_it_holds_and_workers_collect_young_objects_less_often():
    import gc

    from matchmaker.warm import YOUNG_OBJECTS_BEFORE_A_COLLECTION, settle_memory

    thresholds = gc.get_threshold()
    try:
        settle_memory()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == YOUNG_OBJECTS_BEFORE_A_COLLECTION > thresholds[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
