"""`python -m benchmarks.pages [--requests N] [--profile PAGE] [--database-url URL] [CHECKOUT ...]`: CPU per request
(ms) and SQL statements per request of every page the load test (stress/locustfile.py) opens, per role, on the demo
data. With --database-url (a PostgreSQL database, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/pages), each
checkout gets a database of its own beside it (pages_0, pages_1 ...; created, emptied) instead of a SQLite file, and
the CPU the database server's processes spend on each request is given too ("server ms").

Each checkout (default: this one) is measured in a fresh process with its own .venv when it has one, as gunicorn's
worker sees it: a development app on a seeded SQLite file (`flask seed-demo`), CSRF on, warmed (warm.py) as
gunicorn's master does before it forks (gc.freeze() included). "first" is each request's CPU the first time, in the
locustfile's order (each role signs in, opens its lists, then each of its pages), in a child forked from that app as a
gunicorn worker is (median of 5 children, each after what gunicorn's post_fork does): what every worker pays once. Then
the median of N requests of each page, and of N/10 of the posts that can be repeated (a sign-in, a new need, a
matching run). Several checkouts run side by side and take turns page by page (10 rounds), so that a busy machine
weighs on each alike. --profile PAGE prints cProfile's top functions for one page of this checkout instead.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSWORD = "demo-password-2026"  # noqa: S105  # the demo accounts' password  # nosec B105
EMAILS = {"delegate": "delegate@example.org", "partner": "partner@example.org",
          "facilitator": "facilitator@example.org"}
# What each role of the locustfile reads; "{need}", "{offering}" and "{match}": the first its lists link to.
PAGES = {
    "delegate": ("/", "/needs/", "/needs/{need}", "/matches/mine", "/inbox", "/needs/new", "/login"),
    "partner": ("/offerings/", "/needs/?q=customs", "/needs/{need}", "/offerings/{offering}", "/account",
                "/api/v1/needs?per_page=20", "/api/v1/offerings", "/exports/offerings.csv"),
    "facilitator": ("/matches/", "/matches/{match}", "/needs/?status=submitted", "/admin/audit"),
}
CHILD = """import importlib.util, sys
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("pages_figures", sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.serve()
"""


def _empty_postgres(url: str) -> None:
    """Create the database ``url`` names if it does not exist, and empty it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = make_url(url).database
    with server.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _seeded_app(folder: str):
    """A development app on a fresh SQLite file (or the emptied PostgreSQL database BENCH_DATABASE_URL names) holding
    the demo data, warmed as gunicorn's master warms it."""
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder}/demo.db"
    if not url.startswith("sqlite"):
        _empty_postgres(url)
    os.environ.update(DATABASE_URL=url, MATCH_INDEX_DIR=f"{folder}/index",
                      SECRET_KEY="benchmark-only-secret-key-0123456789abcdef", MATCHMAKER_ENV="development")
    from flask_migrate import upgrade

    from matchmaker.app import create_app
    from matchmaker.extensions import db
    from matchmaker.services.demo import seed_demo
    from matchmaker.services.reference import load_members
    from matchmaker.warm import warm_up

    app = create_app("development")
    with app.app_context():
        upgrade()
        load_members()
        seed_demo()
        db.session.commit()
    warm_up(app)
    try:                # as gunicorn.conf.py's when_ready does before the fork
        from matchmaker.warm import settle_memory
    except ImportError:  # a checkout from before settle_memory
        gc.collect()
        gc.freeze()
    else:
        settle_memory()
    return app


def _ids(client) -> dict[str, int | None]:
    """The first need, offering and match this client's lists link to, as the locustfile picks them."""
    import re

    def first(path: str, pattern: str) -> int | None:
        found = re.search(pattern, client.get(path).get_data(as_text=True))
        return int(found.group(1)) if found else None

    return {"need": first("/needs/", r'href="/needs/(\d+)"'),
            "offering": first("/offerings/", r'href="/offerings/(\d+)"'),
            "match": first("/matches/", r'href="/matches/(\d+)"')}


def _statements(app) -> list[int]:
    """A counter of SQL statements the app's engine sends from now on."""
    from sqlalchemy import event

    from matchmaker.extensions import db

    counter = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *args: counter.__setitem__(0, counter[0] + 1))
    return counter


TICKS = os.sysconf("SC_CLK_TCK")


def _server_cpu_ms() -> float:
    """CPU ms the database server's processes serving this benchmark's database have spent (0 on SQLite): read from
    /proc for the backends pg_stat_activity lists, in a connection of its own (never the app's)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("sqlite"):
        return 0.0
    from sqlalchemy import create_engine, text

    if not _WATCHER:
        _WATCHER.append(create_engine(url, isolation_level="AUTOCOMMIT"))
    with _WATCHER[0].connect() as conn:
        pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND pid <> pg_backend_pid()")).all()
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total * 1000 / TICKS


_WATCHER: list = []            # the server watcher's engine, made on first use


def _timed(client, method: str, path: str, counter: list[int], **kwargs) -> tuple[float, int, float]:
    server = _server_cpu_ms()
    before, cpu = counter[0], time.process_time()
    answer = client.open(path, method=method, **kwargs)
    spent = (time.process_time() - cpu) * 1000
    if answer.status_code not in (200, 302):
        raise RuntimeError(f"{method} {path}: {answer.status_code}")
    return spent, counter[0] - before, _server_cpu_ms() - server


def _token(client, path: str) -> str:
    import re

    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _api_token(client) -> dict:
    import re

    page = client.post("/account/tokens", data={"csrf_token": _token(client, "/account"), "token-name": "benchmark",
                                                "token-submit": "1"}).get_data(as_text=True)
    return {"Authorization": "Bearer " + re.search(r'id="new-token"[^>]*value="([^"]+)"', page).group(1)}


def _need_form(client) -> dict:
    return {"csrf_token": _token(client, "/needs/new"), "title": "Benchmark need", "language": "en",
            "description": "Customs officers need training on small parcels from cross-border e-commerce.",
            "policy_areas": "trade_logistics", "support_kinds": "training", "delivery_languages": "en",
            "priority": "medium"}


def _post_fork(app) -> None:
    """What gunicorn.conf.py's post_fork does in a new worker, in checkouts that have it (before the first request)."""
    try:
        from matchmaker.warm import warm_worker
    except ImportError:
        return
    warm_worker(app)


class World:
    """One checkout's app on the demo data, with a signed-in client per role, answering the parent's commands."""

    def __init__(self, folder: str):
        self.app = _seeded_app(folder)
        self.counter = _statements(self.app)
        self.clients: dict = {}
        self.requests: dict[str, tuple] = {}

    def first_pass(self) -> dict[str, float]:
        """What a worker pays after the fork, in the locustfile's order: each role signs in, then opens its lists
        (on_start) and each of its pages once. CPU ms per request."""
        spent = {}
        for role, email in EMAILS.items():
            client = self.clients[role] = self.app.test_client()
            spent[f"{role} sign-in: GET /login"], *_ = _timed(client, "GET", "/login", self.counter)
            spent[f"{role} sign-in: POST /login"], *_ = _timed(client, "POST", "/login", self.counter, data={
                "email": email, "password": PASSWORD, "csrf_token": _token(client, "/login")})
            for path in ("/needs/", "/offerings/"):    # the locustfile's on_start reads the ids there
                spent[f"{role} on start: GET {path}"], *_ = _timed(client, "GET", path, self.counter)
            headers = _api_token(client) if role == "partner" else {}
            ids = _ids(client)
            for pattern in PAGES[role]:
                path = pattern.format(**ids)
                name = f"{role} GET {pattern}"
                self.requests[name] = (self.app.test_client() if path == "/login" else client, "GET", path,
                                       {"headers": headers if path.startswith("/api/") else {}})
                spent[name], *_ = _timed(*self.requests[name][:3], self.counter, **self.requests[name][3])
        return spent

    def forked_first_passes(self, count: int) -> dict[str, float]:
        """The median of ``count`` first passes, each in a child forked from the warmed app as gunicorn forks a
        worker (its database connections its own)."""
        from matchmaker.extensions import db

        passes = []
        for _ in range(count):
            reader, writer = os.pipe()
            pid = os.fork()
            if pid == 0:                            # the "worker"
                os.close(reader)
                with self.app.app_context():
                    db.engine.dispose(close=False)
                _post_fork(self.app)
                os.write(writer, json.dumps(self.first_pass()).encode())
                os._exit(0)
            os.close(writer)
            with os.fdopen(reader, "rb") as answer:
                passes.append(json.loads(answer.read()))
            os.waitpid(pid, 0)
        return {name: statistics.median(p[name] for p in passes) for name in passes[0]}

    def page(self, name: str, count: int) -> list[tuple[float, int]]:
        client, method, path, kwargs = self.requests[name]
        return [_timed(client, method, path, self.counter, **kwargs) for _ in range(count)]

    def writes(self, count: int) -> dict[str, list[tuple[float, int]]]:
        """The posts the locustfile sends that can be repeated: a sign-in (Argon2 included), a new need and a
        matching run."""
        delegate, facilitator = self.clients["delegate"], self.clients["facilitator"]

        def sign_in():
            client = self.app.test_client()
            return _timed(client, "POST", "/login", self.counter, data={
                "email": EMAILS["delegate"], "password": PASSWORD, "csrf_token": _token(client, "/login")})

        sends = {"anonymous POST /login": sign_in,
                 "delegate POST /needs/new": lambda: _timed(delegate, "POST", "/needs/new", self.counter,
                                                            data=_need_form(delegate)),
                 "facilitator POST /matches/run": lambda: _timed(facilitator, "POST", "/matches/run", self.counter,
                                                                 data={"csrf_token": _token(facilitator, "/matches/")})}
        return {name: [send() for _ in range(count)] for name, send in sends.items()}


def serve() -> None:
    """The child's loop: one JSON command a line on stdin, one JSON answer a line on stdout."""
    with tempfile.TemporaryDirectory(prefix="matchmaker-pages-") as folder:
        world = World(folder)
        print(json.dumps("ready"), flush=True)
        for line in sys.stdin:
            command, *args = json.loads(line)
            if command == "quit":
                break
            print(json.dumps(getattr(world, command)(*args)), flush=True)


class Child:
    """A checkout's World in its own process (its .venv's python when it has one)."""

    def __init__(self, checkout: str, database_url: str | None = None):
        python = Path(checkout) / ".venv" / "bin" / "python"
        env = dict(os.environ, BENCH_DATABASE_URL=database_url or "")
        self.process = subprocess.Popen([str(python) if python.exists() else sys.executable, "-c", CHILD, checkout,
                                         __file__], cwd=checkout, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, env=env)
        self.ask()

    def ask(self, *command):
        if command:
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark's child process ended; run it alone to see why")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.write(json.dumps(["quit"]) + "\n")
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _databases(url: str | None, count: int) -> list[str | None]:
    """One PostgreSQL database per checkout beside the one ``url`` names (its name with _0, _1 ...), or SQLite."""
    if not url:
        return [None] * count
    from sqlalchemy.engine import make_url

    base = make_url(url)
    return [base.set(database=f"{base.database}_{i}").render_as_string(hide_password=False) for i in range(count)]


def compare(checkouts: list[str], requests: int, rounds: int = 10,
            database_url: str | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """Every checkout's figures, measured in turns (page by page, ``rounds`` times), so that a busy machine weighs
    on all of them alike: per checkout and page, the first request's CPU ms and the median of ``requests``."""
    children = {c: Child(c, url) for c, url in zip(checkouts, _databases(database_url, len(checkouts)), strict=True)}
    try:
        firsts = {c: child.ask("forked_first_passes", FORKS) for c, child in children.items()}
        for child in children.values():
            child.ask("first_pass")                 # the clients the pages below are asked with
        runs: dict[str, dict[str, list]] = {c: {} for c in checkouts}
        for _ in range(rounds):
            for name in PAGE_NAMES:
                for c, child in children.items():
                    runs[c].setdefault(name, []).extend(child.ask("page", name, max(1, requests // rounds)))
            for c, child in children.items():
                for name, done in child.ask("writes", max(1, requests // rounds // 10)).items():
                    runs[c].setdefault(name, []).extend(done)
    finally:
        for child in children.values():
            child.close()
    return {c: {name: _summary(firsts[c].get(name), runs[c].get(name)) for name in {**firsts[c], **runs[c]}}
            for c in checkouts}


def _summary(first: float | None, done: list | None) -> dict[str, float]:
    nan = float("nan")
    return {"first ms": nan if first is None else first,
            "CPU ms": statistics.median(r[0] for r in done) if done else nan,
            "statements": statistics.median(r[1] for r in done) if done else nan,
            # the server's CPU is read in clock ticks (10 ms): the mean over the requests, not a median of ticks
            "server ms": statistics.fmean(r[2] for r in done) if done else nan}


FORKS = 5                                           # first passes, each in a forked "worker"
PAGE_NAMES = [f"{role} GET {pattern}" for role, patterns in PAGES.items() for pattern in patterns]


def table(results: dict, requests: int) -> str:
    checkouts = list(results)
    names = list(results[checkouts[0]])
    head = " | ".join(f"{c}: first / median CPU ms, statements, server ms" for c in checkouts)
    lines = [f"| request (median of {requests}) | {head} |", "|---" * (len(checkouts) + 1) + "|"]
    for name in names:
        cells = [f"{r['first ms']:.1f} / {r['CPU ms']:.2f}, {r['statements']:.0f}, {r['server ms']:.2f}"
                 for r in (results[c][name] for c in checkouts)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    gets = [n for n in names if n in PAGE_NAMES]
    lines.append("| sum of the GET pages (first / median) | " + " | ".join(
        f"{sum(results[c][n]['first ms'] for n in gets):.0f} / {sum(results[c][n]['CPU ms'] for n in gets):.1f}"
        for c in checkouts) + " |")
    lines.append("| sum of the GET pages' server ms (mean) | " + " | ".join(
        f"{sum(results[c][n]['server ms'] for n in gets):.1f}" for c in checkouts) + " |")
    lines.append("| sum of every first request | " + " | ".join(
        f"{sum(r['first ms'] for r in results[c].values() if r['first ms'] == r['first ms']):.0f}"
        for c in checkouts) + " |")
    return "\n".join(lines)


def profile(name: str, requests: int) -> None:
    """cProfile of ``requests`` requests of one page (after the first pass), printed to stderr."""
    import cProfile
    import io
    import pstats

    with tempfile.TemporaryDirectory(prefix="matchmaker-pages-") as folder:
        world = World(folder)
        world.first_pass()
        profiler = cProfile.Profile()
        profiler.enable()
        world.page(name, requests)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
    print(out.getvalue(), file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pages")
    parser.add_argument("checkouts", nargs="*", default=[str(Path(__file__).resolve().parents[1])])
    parser.add_argument("--requests", type=int, default=200, help="requests per page after the first")
    parser.add_argument("--profile", help='e.g. "delegate GET /needs/": cProfile of that page, in this process')
    parser.add_argument("--database-url", help="a PostgreSQL database: each checkout's is this one's name + _0, _1 ...")
    args = parser.parse_args(argv)
    if args.profile:
        os.environ["BENCH_DATABASE_URL"] = args.database_url or ""
        profile(args.profile, args.requests)
        return 0
    print(table(compare([str(Path(c).resolve()) for c in args.checkouts], args.requests,
                        database_url=args.database_url), args.requests))
    return 0


if __name__ == "__main__":
    sys.exit(main())
