"""Backups and restores of the whole database, safe to take while the service keeps writing."""
from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess  # runs only pg_dump/pg_restore, found by path, with argument lists (no shell)  # nosec B404
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore could not be done; the message says why."""


@dataclass
class BackupResult:
    path: Path
    kind: str  # "sqlite" or "pg_dump"
    size: int


def _sqlite_path(url) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(url.database)


def postgres_tool(name: str) -> str:
    """pg_dump / pg_restore: $PG_BIN_DIR, else the newest /usr/lib/postgresql/*/bin, else the PATH."""
    candidates = []
    if os.environ.get("PG_BIN_DIR"):
        candidates.append(os.path.join(os.environ["PG_BIN_DIR"], name))

    def version(path: str) -> int:
        found = re.search(r"/postgresql/(\d+)/", path)
        return int(found.group(1)) if found else 0

    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version, reverse=True)
    candidates.append(shutil.which(name) or "")
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    raise BackupError(f"{name} was not found: install the PostgreSQL client (e.g. apt-get install postgresql-client).")


def _libpq(url) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that carries the password."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def backup(database_url: str, destination: Path) -> BackupResult:
    """Copy the database to ``destination`` as one consistent snapshot, while other connections keep writing."""
    url = make_url(database_url)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    if url.get_backend_name() == "sqlite":
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise BackupError(f"There is no database at {source_path}.")
        source = sqlite3.connect(source_path, timeout=30)
        target = sqlite3.connect(partial)
        try:
            # The online backup API; all pages in one step, so the copy is one snapshot even while writers commit
            # (WAL: they are not blocked meanwhile).
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("The copy failed its integrity check.")
        finally:
            target.close()
            source.close()
        kind = "sqlite"
    elif url.get_backend_name() == "postgresql":
        dsn, env = _libpq(url)
        # pg_dump reads one snapshot of the database (a repeatable-read transaction): concurrent writes are
        # either wholly in it or wholly not.
        result = subprocess.run(  # noqa: S603  # a PostgreSQL tool found by path, argument list, no shell  # nosec B603
            [postgres_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(partial),
             "--dbname", dsn], env=env, capture_output=True, text=True, timeout=3600)
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BackupError("pg_dump failed: " + result.stderr.strip()[-500:])
        kind = "pg_dump"
    else:
        raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported.")
    partial.replace(destination)
    return BackupResult(destination, kind, destination.stat().st_size)


def restore(database_url: str, source: Path) -> None:
    """Replace the database's content with a backup made by backup(); stop the service first."""
    url = make_url(database_url)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"There is no backup at {source}.")
    with source.open("rb") as handle:
        magic = handle.read(16)
    if url.get_backend_name() == "sqlite":
        if not magic.startswith(b"SQLite format 3\x00"):
            raise BackupError("This file is not an SQLite backup.")
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            if backup_db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("The backup failed its integrity check; nothing was changed.")
            target_path = _sqlite_path(url)
            target_path.parent.mkdir(parents=True, exist_ok=True)
            target = sqlite3.connect(target_path, timeout=30)
            try:
                backup_db.backup(target, pages=-1)  # replaces every page of the target in one transaction
            finally:
                target.close()
        finally:
            backup_db.close()
    elif url.get_backend_name() == "postgresql":
        if not magic.startswith(b"PGDMP"):
            raise BackupError("This file is not a pg_dump backup (custom format).")
        dsn, env = _libpq(url)
        result = subprocess.run(  # noqa: S603  # a PostgreSQL tool found by path, argument list, no shell  # nosec B603
            [postgres_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error", "--dbname", dsn, str(source)],
            env=env, capture_output=True, text=True, timeout=3600)
        if result.returncode != 0:
            raise BackupError("pg_restore failed; nothing was changed: " + result.stderr.strip()[-500:])
    else:
        raise BackupError(f"Restores of {url.get_backend_name()} databases are not supported.")
