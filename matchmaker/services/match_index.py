"""Each worker's engine index: loaded warm from the saved one, fitted at most once per machine, kept current.

The fitted index is saved (``matchmaker.engine.store``: arrays in .npz, the rest in JSON) in
``MATCH_INDEX_DIR`` with the database state it reflects: the database's identity and the version
(``updated_at``, status) of every record it indexed. A worker loads the published index instead of fitting,
applies the records that changed since (or were removed), and from then on the records changed since its last
request. An index of another engine version or settings, or of another database, is refused; so is one that
too much has changed since (more than the share that triggers a refit). A worker that finds no usable index
fits in a background thread and publishes the result; the fit holds a file lock in the folder, so one worker
per machine fits while the others wait for it, and, on PostgreSQL, an advisory lock, so machines sharing the
database fit one after the other. A refit after drift is published the same way, and every worker picks up a
newer published index at its next request.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text

from matchmaker.engine import Engine, EngineSettings, Record, store
from matchmaker.extensions import db
from matchmaker.models import Need, Offering
from matchmaker.services.match_inputs import capacity_left, need_record, offering_record

# Changes committed by other workers are picked up with this much overlap, so none is missed.
SYNC_OVERLAP = timedelta(seconds=60)
INDEXED_NEED_STATUSES = ("open",)
_log = logging.getLogger("matchmaker.matching")


def index_folder() -> Path:
    """MATCH_INDEX_DIR, by default instance/match-index/<database>: each database its own folder."""
    configured = current_app.config.get("MATCH_INDEX_DIR")
    if configured:
        return Path(configured)
    address = db.engine.url.render_as_string(hide_password=True)
    return Path(current_app.instance_path) / "match-index" / hashlib.sha256(address.encode()).hexdigest()[:12]


def database_identity() -> str:
    """Which database this is: its address without credentials and what tells a recreated database apart (the
    file's inode for SQLite, the database's oid for PostgreSQL); read once per process and address."""
    address = db.engine.url.render_as_string(hide_password=True)
    identity = _IDENTITIES.get(address)
    if identity is None:
        identity = _IDENTITIES[address] = _read_identity()
    return identity


_IDENTITIES: dict[str, str] = {}


def _read_identity() -> str:
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        path = os.path.realpath(url.database or "")
        inode = os.stat(path).st_ino if os.path.exists(path) else 0
        return f"sqlite:{path}:{inode}"
    oid = db.session.scalar(text("SELECT oid FROM pg_database WHERE datname = current_database()"))
    return f"{url.get_backend_name()}://{url.host}:{url.port}/{url.database}#{oid}"


def forget_saved_index() -> None:
    """Remove the saved index (after a restore: the database's records are no longer those it reflects)."""
    folder = index_folder()
    for path in folder.glob("*"):
        if path.is_file() and path.name != "fit.lock":
            path.unlink(missing_ok=True)


class IndexHolder:
    """This process's engine index, the database state it reflects, and the saved index it came from."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.fits = 0                    # fits this process ran (a warm worker runs none)
        self._fitting: threading.Thread | None = None
        self._refitting: threading.Thread | None = None
        self.epoch = 0                   # raised by reset: a fit started before it installs nothing
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.epoch += 1
            self.engine: Engine | None = None
            self.synced_at: datetime | None = None
            self.database: str | None = None
            self.generation: int | None = None
            self.refused: int | None = None      # a published generation found unusable (not read again)
            self.seen: dict[tuple[str, int], tuple] = {}

    def current(self, today: date) -> Engine:
        """The index brought up to date. Without one, wait for the fit running in the background, or fit here: in
        this request's session, which sees the records it has written but not committed yet."""
        for _attempt in range(3):
            engine = self._take(today)
            if engine is not None:
                return engine
            thread = self._fitting
            if thread is not None and thread.is_alive():
                thread.join()
            else:
                self._fit_under_lock(today)
        raise RuntimeError("the matching index could not be built (see the log)")

    def load_saved(self, today: date) -> bool:
        """Take the saved index if it is usable, never fitting (a process about to fork its workers)."""
        with self.lock:
            return self.engine is not None or self._load(database_identity(), today)

    def ready(self, today: date) -> Engine | None:
        """The index brought up to date if this worker has one or can load one; else None, and a fit starts in
        the background (pages that can do without the engine answer at once)."""
        engine = self._take(today)
        if engine is None:
            self._start_fit(today)
        return engine

    def _take(self, today: date) -> Engine | None:
        """This worker's index, or the published one if newer and usable, brought up to date; None without one."""
        with self.lock:
            identity = database_identity()
            if self.engine is not None and self.database != identity:
                self.reset()
            published = store.published(index_folder())
            if published not in (None, self.generation, self.refused):
                self._load(identity, today)
            if self.engine is None:
                return None
            self._sync(today)
            return self.engine

    # ---------------------------------------------------------------- loading
    def _load(self, identity: str, today: date) -> bool:
        """Take the published index if it is usable: same engine version, settings and database, and not too much
        changed since; apply what changed. Returns whether it was taken."""
        try:
            engine, meta, generation = store.load(index_folder(), EngineSettings())
        except store.RefusedIndex as error:
            return self._refuse(store.published(index_folder()), str(error))
        if meta.get("database") != identity:
            return self._refuse(generation, "it reflects another database")
        seen = {(side, int(i)): (datetime.fromisoformat(at), status) for side, i, at, status in meta["seen"]}
        changed = self._changed_since(seen, today)
        if sum(map(len, changed.values())) > engine.settings.drift_refit_share * max(1, engine.n_at_fit):
            return self._refuse(generation, "too much changed since it was fitted")
        self.engine, self.seen, self.generation, self.database = engine, seen, generation, identity
        self.synced_at = datetime.now(UTC)
        self._apply(changed["need"], changed["offering"], today)
        return True

    def _refuse(self, generation: int | None, reason: str) -> bool:
        _log.info("saved matching index %s refused: %s", generation, reason)
        self.refused = generation
        return False

    def _changed_since(self, seen: dict, today: date) -> dict[str, list[int]]:
        """Per side, the ids whose (updated_at, status) differ from ``seen``, or that are gone from the database."""
        out = {}
        for side, model in (("need", Need), ("offering", Offering)):
            now = {i: (at, status) for i, at, status in db.session.execute(
                select(model.id, model.updated_at, model.status))}
            known = {i for s, i in seen if s == side}
            out[side] = sorted({i for i, state in now.items() if seen.get((side, i)) != state
                                and (i in known or _indexed(side, status=state[1]))} | (known - now.keys()))
        return out

    # ---------------------------------------------------------------- fitting
    def _start_fit(self, today: date) -> None:
        if self._fitting is not None and self._fitting.is_alive():
            return
        app = current_app._get_current_object()
        self._fitting = threading.Thread(target=self._fit_in_background, args=(app, today), name="matchmaker-fit",
                                         daemon=True)
        self._fitting.start()

    def _fit_in_background(self, app, today: date) -> None:
        with app.app_context():
            try:
                self._fit_under_lock(today)
            except Exception:
                _log.exception("fitting the matching index failed")
            finally:
                db.session.remove()

    def _fit_under_lock(self, today: date) -> None:
        """Fit, unless another worker published a usable index while this one waited for the lock."""
        with fit_lock(index_folder()):
            with self.lock:
                identity = database_identity()
                if store.published(index_folder()) not in (None, self.generation, self.refused) and \
                        self._load(identity, today):
                    return
            self._fit(identity, today)

    def _fit(self, identity: str, today: date) -> None:
        now, epoch = datetime.now(UTC), self.epoch
        seen: dict[tuple[str, int], tuple] = {}
        needs, offerings = read_records(today, seen)
        engine = Engine().fit(needs, offerings)
        self.fits += 1
        with self.lock:
            if self.epoch != epoch:
                return                          # reset meanwhile: these records may be gone
            self.engine, self.seen, self.database, self.synced_at = engine, seen, identity, now
            self.generation = None
            self._publish()

    def _publish(self) -> None:
        """Save this worker's index with the state it reflects (the caller holds ``self.lock``)."""
        meta = {"database": self.database,
                "seen": [[side, i, at.isoformat(), status] for (side, i), (at, status) in sorted(self.seen.items())]}
        try:
            self.generation = store.save(self.engine, index_folder(), meta)
        except OSError:
            _log.exception("the matching index could not be saved; this worker keeps it in memory")

    def _start_refit(self, today: date) -> None:
        """The vocabulary drifted: refit in the background (or take the index another worker refitted)."""
        if self._refitting is not None and self._refitting.is_alive():
            return
        app = current_app._get_current_object()
        self._refitting = threading.Thread(target=self._refit_in_background, args=(app, self.engine, today),
                                           name="matchmaker-refit", daemon=True)
        self._refitting.start()

    def _refit_in_background(self, app, engine: Engine, today: date) -> None:
        with app.app_context():
            try:
                with fit_lock(index_folder()):
                    with self.lock:
                        newer = store.published(index_folder()) not in (None, self.generation, self.refused)
                        if newer and self._load(database_identity(), today):
                            return
                    started, read = datetime.now(UTC), {}
                    if engine.refit(background_reader(today, read)):
                        self.fits += 1
                        with self.lock:
                            if self.engine is engine:
                                self._check_again(read, started)
                                self._publish()
            finally:
                db.session.remove()

    def _check_again(self, read: dict, started: datetime) -> None:
        """After a refit: the records its read does not confirm are read again at the next sync. The refit read
        them in its own session, which does not see what a request had applied but not yet committed (a need
        being opened): the fresh index would lack it while ``seen`` says it was applied."""
        self.seen = {key: state for key, state in self.seen.items() if read.get(key) == state}
        self.synced_at = min(self.synced_at, started) if self.synced_at else started

    # ---------------------------------------------------------------- syncing
    def _sync(self, today: date) -> None:
        """Apply the records changed since the last sync (with an overlap for transactions that committed late);
        a record already applied in the same version is skipped."""
        now = datetime.now(UTC)
        since = self.synced_at - SYNC_OVERLAP
        changed = {}
        for side, model in (("need", Need), ("offering", Offering)):
            changed[side] = [i for i, at, status in db.session.execute(
                select(model.id, model.updated_at, model.status).where(model.updated_at >= since))
                if self.seen.get((side, i)) != (at, status)]
        self._apply(changed["need"], changed["offering"], today)
        if self.engine.needs_refit:
            self._start_refit(today)            # this request keeps the updated index
        self.synced_at = now

    def _apply(self, need_ids: list[int], offering_ids: list[int], today: date) -> None:
        """Upsert or remove each of these records as it now is in the database."""
        engine = self.engine
        for side, model, ids in (("need", Need, need_ids), ("offering", Offering, offering_ids)):
            if not ids:
                continue
            rows = {r.id: r for r in db.session.scalars(select(model).where(model.id.in_(ids)))}
            capacity = capacity_left(sorted(rows)) if side == "offering" else {}
            indexed = set(engine.ids(side))
            for i in ids:
                row = rows.get(i)
                if row is not None and _indexed(side, row, today):
                    record = need_record(row) if side == "need" else offering_record(row, capacity.get(i))
                    engine.upsert(record, side, today=today)
                elif i in indexed:
                    engine.remove(i, side, today=today)
                if row is None:
                    self.seen.pop((side, i), None)
                else:
                    self.seen[(side, i)] = (row.updated_at, row.status)


def _indexed(side: str, row=None, today: date | None = None, status: str | None = None) -> bool:
    """Whether a need or an offering belongs in the index (an open need; a published offering still open)."""
    if side == "need":
        return (status or row.status) in INDEXED_NEED_STATUSES
    if row is None:
        return status == "published"
    return row.is_open(today)


def read_records(today: date, seen: dict | None = None) -> tuple[list[Record], list[Record]]:
    """Every indexed record; ``seen`` receives the (updated_at, status) of each."""
    needs = db.session.scalars(select(Need).where(Need.status.in_(INDEXED_NEED_STATUSES))).all()
    offerings = [o for o in db.session.scalars(select(Offering).where(Offering.status == "published"))
                 if _indexed("offering", o, today)]
    capacity = capacity_left([o.id for o in offerings])
    if seen is not None:
        seen.update({("need", n.id): (n.updated_at, n.status) for n in needs})
        seen.update({("offering", o.id): (o.updated_at, o.status) for o in offerings})
    return [need_record(n) for n in needs], [offering_record(o, capacity.get(o.id)) for o in offerings]


def background_reader(today: date, seen: dict | None = None):
    """A function reading every indexed record in a refit's own thread, application context and session; ``seen``
    receives the (updated_at, status) of each."""
    app = current_app._get_current_object()

    def read() -> tuple[list, list]:
        with app.app_context():
            try:
                return read_records(today, seen)
            finally:
                db.session.remove()
    return read


@contextmanager
def fit_lock(folder: Path):
    """One fit at a time per machine (a lock file in the index folder) and, on PostgreSQL, per database."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "fit.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            with _database_lock():
                yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _database_lock():
    """A PostgreSQL advisory lock held on a connection of its own for the duration of a fit."""
    if db.engine.url.get_backend_name() != "postgresql":
        yield
        return
    key = int.from_bytes(hashlib.sha256(b"matchmaker.match-index").digest()[:8], "big", signed=True)
    with db.engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()


INDEX = IndexHolder()
