"""Warm workers: the fitted index is saved with the database state it reflects, and a worker starts from it."""
from __future__ import annotations

import json
import threading
from datetime import date

import pytest
from flask import current_app

from matchmaker.engine import Engine
from matchmaker.extensions import db
from matchmaker.services import match_index, matching
from tests.helpers import login
from tests.samples import PAYMENT_OFFERING, SIGNATURE_NEED, SIGNATURE_OFFERING

TODAY = date.today()


@pytest.fixture
def fits(monkeypatch):
    """Every Engine.fit in this process, counted (a warm worker runs none)."""
    calls = []
    real = Engine.fit

    def counted(self, *args, **kwargs):
        calls.append(threading.current_thread().name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "fit", counted)
    return calls


def _saved_by_a_first_worker(make, more: int = 0):
    """Two offerings (and ``more`` payment ones) and a need, fitted and saved by a first worker."""
    org = make.organisation()
    offerings = [make.offering(org, "published", **SIGNATURE_OFFERING)] + \
        [make.offering(org, "published", **PAYMENT_OFFERING) for _ in range(1 + more)]
    need = make.need("BJ", "open", **SIGNATURE_NEED)
    first = match_index.IndexHolder()
    ranking = first.current(TODAY).propose_for_need(matching.need_record(need), k=5, today=TODAY)
    assert first.generation == 1 and ranking.proposals
    return need, offerings, ranking


def test_a_worker_started_against_a_saved_index_serves_its_first_proposal_without_fitting(make, fits):
    need, offerings, ranking = _saved_by_a_first_worker(make)
    assert len(fits) == 1
    worker = match_index.IndexHolder()                # a new worker process: nothing in memory
    assert worker.load_saved(TODAY) and worker.generation == 1
    assert worker.current(TODAY).propose_for_need(matching.need_record(need), k=5, today=TODAY) == ranking
    assert len(fits) == 1 and worker.fits == 0


def test_a_saved_index_is_brought_up_to_date_with_what_changed_since(make, fits):
    need, offerings, _ranking = _saved_by_a_first_worker(make, more=10)
    offerings[1].status = "closed"                    # after the save, by another worker: 2 changes of 13
    added = make.offering(make.organisation("UNCTAD"), "published", **SIGNATURE_OFFERING)
    db.session.commit()
    worker = match_index.IndexHolder()
    engine = worker.current(TODAY)
    assert engine.ids("offering") == sorted([o.id for o in offerings if o is not offerings[1]] + [added.id])
    assert worker.fits == 0


def test_the_service_proposes_from_the_saved_index_after_a_restart(make, fits):
    _saved_by_a_first_worker(make, more=10)
    matching.INDEX.reset()                            # the service's own holder, as in a restarted worker
    need = make.need("SN", "open", **SIGNATURE_NEED)
    result = matching.propose_for_need(need, today=TODAY)
    assert result.proposed >= 1 and len(fits) == 1


def _edit_saved(key: str, value) -> None:
    folder = match_index.index_folder()
    saved = folder / f"index-{int((folder / 'CURRENT').read_text())}.json"
    document = json.loads(saved.read_text(encoding="utf-8"))
    target = document["meta"] if key == "database" else document
    target[key] = value
    saved.write_text(json.dumps(document), encoding="utf-8")


@pytest.mark.parametrize("key,value", [("database", "sqlite:/elsewhere/matchmaker.db:1"),
                                       ("engine_version", "1.5.0")])
def test_a_foreign_index_is_refused_and_refitted(make, fits, key, value):
    need, _offerings, ranking = _saved_by_a_first_worker(make)
    _edit_saved(key, value)
    worker = match_index.IndexHolder()
    assert not worker.load_saved(TODAY)
    assert worker.current(TODAY).propose_for_need(matching.need_record(need), k=5, today=TODAY) == ranking
    assert worker.fits == 1 and worker.generation == 2          # refitted and published again


def test_a_stale_index_is_refused_and_refitted(make, fits):
    _saved_by_a_first_worker(make)
    org = make.organisation("UNCTAD")
    for _ in range(3):                                # 3 new offerings on 3 records: far past the refit share
        make.offering(org, "published", **PAYMENT_OFFERING)
    worker = match_index.IndexHolder()
    assert not worker.load_saved(TODAY)
    assert len(worker.current(TODAY).ids("offering")) == 5 and worker.fits == 1 and worker.generation == 2


def test_a_newer_index_published_by_another_worker_is_picked_up(make, fits):
    _saved_by_a_first_worker(make)
    reader = match_index.IndexHolder()
    engine = reader.current(TODAY)
    writer = match_index.IndexHolder()
    writer.current(TODAY)
    with writer.lock:
        writer._publish()                             # what a worker does after a refit
    assert reader.current(TODAY) is not engine and reader.generation == 2 and reader.fits == 0


def test_one_worker_per_machine_fits_and_the_others_load_its_index(make, fits):
    org = make.organisation()
    make.offering(org, "published", **SIGNATURE_OFFERING)
    make.need("BJ", "open", **SIGNATURE_NEED)
    app = current_app._get_current_object()
    workers = [match_index.IndexHolder() for _ in range(3)]

    def start(worker):
        with app.app_context():
            worker.current(TODAY)
            db.session.remove()

    threads = [threading.Thread(target=start, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(w.fits for w in workers) == 1 and len(fits) == 1
    assert {w.generation for w in workers} == {1}


def test_a_page_answers_while_the_index_is_fitted(app, make, monkeypatch):
    need = make.need("BJ", "open", **SIGNATURE_NEED)
    make.offering(make.organisation(), "published", **SIGNATURE_OFFERING)
    facilitator = make.user("facilitator")
    db.session.commit()
    release = threading.Event()
    real = match_index.read_records

    def slow(today, seen=None):
        release.wait(30)
        return real(today, seen)

    monkeypatch.setattr(match_index, "read_records", slow)
    client = app.test_client()
    login(client, facilitator)
    response = client.get(f"/needs/{need.id}")
    assert response.status_code == 200 and b"The matching index is being prepared" in response.data
    release.set()
    assert matching.INDEX.current(TODAY).ids("need") == [need.id]
    response = client.get(f"/needs/{need.id}")
    assert b"The matching index is being prepared" not in response.data


def test_a_refused_index_is_read_once(make, fits, monkeypatch):
    from matchmaker.engine import store

    _saved_by_a_first_worker(make)
    _edit_saved("engine_version", "1.5.0")
    reads = []
    real = store.load
    monkeypatch.setattr(store, "load", lambda *args, **kwargs: reads.append(1) or real(*args, **kwargs))
    worker = match_index.IndexHolder()
    worker.current(TODAY)
    worker.current(TODAY)
    assert len(reads) == 1 and worker.refused == 1 and worker.generation == 2


def test_a_need_opened_while_a_refit_reads_stays_in_the_index(app, make):
    """A request opens a need and syncs it into the index; the drift refit that sync starts reads the records in
    its own session before the request commits: the need must not be lost from the index (its proposals would
    then be withdrawn by the next matching run)."""
    org = make.organisation()
    for _ in range(10):
        make.offering(org, "published", **SIGNATURE_OFFERING)
    need = make.need("BJ", "submitted", **SIGNATURE_NEED)
    holder = match_index.IndexHolder()
    engine = holder.current(TODAY)
    need.status = "open"                              # the request opening it, not committed yet
    db.session.flush()
    assert holder.current(TODAY).ids("need") == [need.id]
    holder._refit_in_background(app, engine, TODAY)   # the refit's own session does not see the open need
    db.session.commit()
    assert holder.current(TODAY).ids("need") == [need.id]
    other = match_index.IndexHolder()                 # another worker, from the index the refit published
    assert other.load_saved(TODAY) and other.current(TODAY).ids("need") == [need.id]


def test_a_fit_that_ends_after_a_reset_installs_and_publishes_nothing(make, monkeypatch):
    """A fit still running when the index is reset (a restore, a test's cleanup) read records that may be gone."""
    make.offering(make.organisation(), "published", **SIGNATURE_OFFERING)
    make.need("BJ", "open", **SIGNATURE_NEED)
    holder = match_index.IndexHolder()
    real = match_index.read_records

    def read_then_reset(today, seen=None):
        found = real(today, seen)
        holder.reset()
        return found

    monkeypatch.setattr(match_index, "read_records", read_then_reset)
    holder._fit(match_index.database_identity(), TODAY)
    assert holder.engine is None and store_generation() is None


def store_generation():
    from matchmaker.engine import store
    return store.published(match_index.index_folder())
