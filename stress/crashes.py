"""Writers keep writing while gunicorn workers are killed with SIGKILL every second, and the master once:
no acknowledged write may be lost, and the database must pass its integrity checks afterwards."""
from __future__ import annotations

import http.client
import multiprocessing
import os
import random
import signal
import time
from dataclasses import dataclass, field

from stress.common import Browser, Server

DEMO_DELEGATES = ("delegate@example.org",)


@dataclass
class CrashResult:
    seconds: float
    worker_kills: int = 0
    master_kills: int = 0
    acknowledged: int = 0
    attempts: int = 0
    lost: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    integrity: str = ""


def _delegates(url: str) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        emails = list(conn.execute(text(
            "SELECT email FROM users WHERE role = 'delegate' AND active ORDER BY id")).scalars())
    engine.dispose()
    return emails


def integrity_check(url: str) -> str:
    """SQLite's own checks, and on both databases: no row points at a missing row."""
    from sqlalchemy import create_engine, text

    import matchmaker.models  # noqa: F401
    from matchmaker.extensions import db

    engine = create_engine(url)
    problems = []
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            result = conn.execute(text("PRAGMA integrity_check")).scalar()
            if result != "ok":
                problems.append(f"integrity_check: {result}")
            orphans = conn.execute(text("PRAGMA foreign_key_check")).all()
            if orphans:
                problems.append(f"foreign_key_check: {len(orphans)} rows")
        for table in db.metadata.sorted_tables:
            for fk in table.foreign_keys:
                column, target = fk.parent.name, fk.column
                count = conn.execute(text(
                    f'SELECT count(*) FROM "{table.name}" t WHERE t."{column}" IS NOT NULL AND NOT EXISTS '  # noqa: S608  # names from our own metadata  # nosec B608
                    f'(SELECT 1 FROM "{target.table.name}" r WHERE r."{target.name}" = t."{column}")')).scalar()
                if count:
                    problems.append(f"{table.name}.{column}: {count} orphans")
        duplicates = conn.execute(text("SELECT count(*) FROM (SELECT title FROM needs GROUP BY title "
                                       "HAVING count(*) > 1) d")).scalar()
        if duplicates:
            problems.append(f"{duplicates} needs written twice")
    engine.dispose()
    return "ok" if not problems else "; ".join(problems)


def _writer(n: int, base: str, emails: list[str], password: str, stop, out) -> None:
    """One writer process: signs in and creates needs until ``stop``; puts (titles acknowledged, answers, tries)
    on ``out``."""
    browser = Browser(base, timeout=20)
    email = emails[n % len(emails)]
    acknowledged: list[str] = []
    statuses: dict[str, int] = {}
    attempts = i = 0
    signed_in = False
    while not stop.is_set():
        try:
            if not signed_in:
                signed_in = browser.login(email, password)
                if not signed_in:
                    time.sleep(0.2)
                    continue
            token = browser.token("/needs/new")
            if token is None:
                signed_in = False
                statuses["no form"] = statuses.get("no form", 0) + 1
                continue
            title = f"Crash-proof need {n}-{i} {random.randrange(10**9)}"  # a label, not a secret  # nosec B311
            i += 1
            attempts += 1
            status, _ = browser.request("/needs/new", {
                "csrf_token": token, "title": title, "language": "en",
                "description": "Written while the server's processes are being killed; it must not be lost.",
                "policy_areas": "skills", "support_kinds": "training", "delivery_languages": "en",
                "priority": "medium"})
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status == 302:
                acknowledged.append(title)
        except (OSError, http.client.HTTPException) as error:  # refused, reset or cut short while a process dies
            statuses[type(error).__name__] = statuses.get(type(error).__name__, 0) + 1
            time.sleep(0.05)
    out.put((acknowledged, statuses, attempts))


def _kill_while_writing(server: Server, result: CrashResult, seconds: float, kills: int) -> None:
    """Every second, kill a worker; halfway, kill the master once (and restart the service)."""
    started = time.monotonic()
    master_at = started + seconds / 2
    rng = random.Random(8)  # which worker to kill, not a secret  # nosec B311
    while (time.monotonic() - started < seconds or result.worker_kills < kills) \
            and time.monotonic() - started < 4 * seconds:
        time.sleep(1)
        if result.master_kills == 0 and time.monotonic() >= master_at:
            _kill_master(server)
            result.master_kills += 1
            continue
        workers = server.worker_pids()
        if workers:
            os.kill(rng.choice(workers), signal.SIGKILL)
            result.worker_kills += 1


def _kill_master(server: Server) -> None:
    orphans = server.worker_pids()
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    # As the service manager does (systemd, KillMode=control-group): the dead master's workers still
    # hold the listening socket, so they are stopped before the service starts again.
    for pid in orphans:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.5)
    server.start()


def run(url: str, port: int, seconds: float = 25, clients: int = 16,
        password: str = "demo-password-2026",  # noqa: S107  # the demo accounts  # nosec B107
        kills: int = 20, log=print) -> CrashResult:
    """Kill a worker every second for ``seconds`` and until ``kills`` workers have died (at most 4 x seconds)."""
    server = Server(url, port).start()
    result = CrashResult(seconds=seconds)
    begun = time.monotonic()
    emails = _delegates(url)
    # The writers are processes, not threads: 16 busy threads would starve this loop of the GIL and the kills
    # would come every few seconds instead of every second.
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    out = context.Queue()
    threads = [context.Process(target=_writer, args=(n, server.base, emails, password, stop, out), daemon=True)
               for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    try:
        _kill_while_writing(server, result, seconds, kills)
        time.sleep(2)
        result.seconds = round(time.monotonic() - begun)
    finally:
        stop.set()
        server.stop()
    acknowledged: list[str] = []
    statuses: dict[str, int] = {}
    for _ in threads:
        titles, answers, attempts = out.get(timeout=120)
        acknowledged += titles
        result.attempts += attempts
        for key, value in answers.items():
            statuses[key] = statuses.get(key, 0) + value
    for thread in threads:
        thread.join(timeout=30)
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        stored = set(conn.execute(text("SELECT title FROM needs WHERE title LIKE 'Crash-proof need %'")).scalars())
    engine.dispose()
    result.acknowledged = len(acknowledged)
    result.lost = [title for title in acknowledged if title not in stored]
    result.statuses = dict(sorted(statuses.items()))
    result.integrity = integrity_check(url)
    log(f"crashes: {result.worker_kills} workers and {result.master_kills} master killed in {result.seconds:.0f} s; "
        f"{result.acknowledged} writes acknowledged of {result.attempts} tried, {len(result.lost)} lost; "
        f"answers {result.statuses}; integrity {result.integrity}")
    return result
