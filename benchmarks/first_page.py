"""`python -m benchmarks.first_page [--offerings N] [--needs N] [--starts N]`: how long the first pages take after
gunicorn starts (2 workers), on the demo data and on the demo plus N needs and N offerings (default 10,000 each).

Each start: gunicorn is started on a loopback port, "ready" is the time until /healthz answers; then two sessions
(one per worker, most often) sign in as the demo facilitator and open the dashboard and the review queue once
each. The database and the saved matching index are prepared once per data set (demo seeding, then a full
matching run, as `make demo` does). Results in benchmarks/out/first_page.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"
PAGES = ("/dashboard/", "/matches/")


def _prepare(url: str, env: dict, offerings: int, needs: int) -> None:
    script = ("import random\nfrom benchmarks.matching import _app, _add_needs, _add_offerings\n"
              "from matchmaker.extensions import db\nfrom matchmaker.services.matching import run_matching\n"
              f"app = _app({url!r})\nrng = random.Random(20261123)\n"
              f"_add_offerings({offerings}, rng) if {offerings} else None\n"
              f"_add_needs({needs}, rng) if {needs} else None\n"
              "run_matching(None)\ndb.session.commit()\n")
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))


def _one_start(env: dict) -> dict[str, float]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
                               "--timeout", "120", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times: dict[str, float] = {}
    try:
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if time.perf_counter() - started > 300:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.05)
        times["ready"] = time.perf_counter() - started
        for session in range(2):
            client = _client()
            html = client.open(base + "/login").read().decode()
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
            form = urlencode({"email": "facilitator@example.org", "password": "demo-password-2026",
                              "csrf_token": token}).encode()
            client.open(base + "/login", data=form).read()
            for page in PAGES:
                start = time.perf_counter()
                client.open(base + page).read()
                times[f"{page} #{session + 1}"] = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=60)
    return times


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(offerings: int, needs: int, starts: int, log=print) -> list[str]:
    lines = ["| data | start to ready p50 / p95 | first dashboard p50 / p95 | first queue p50 / p95 | pages |",
             "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for label, n_off, n_need in (("demo", 0, 0), (f"demo + {needs:,} needs + {offerings:,} offerings", offerings,
                                                       needs)):
            url = f"sqlite:///{tmp}/{'large' if n_off else 'demo'}.db"
            env = {**os.environ, "DATABASE_URL": url, "MATCH_INDEX_DIR": f"{tmp}/index-{n_off}",
                   "SECRET_KEY": "benchmark-only-secret-key-0123456789", "PYTHONWARNINGS": "ignore"}
            start = time.perf_counter()
            _prepare(url, env, n_off, n_need)
            log(f"  {label}: prepared in {time.perf_counter() - start:.0f} s")
            runs = [_one_start(env) for _ in range(starts)]
            ready = [r["ready"] for r in runs]
            by_page = {page: [v for r in runs for k, v in r.items() if k.startswith(page)] for page in PAGES}
            cells = [f"{statistics.median(v) * 1000:.0f} / {_percentile(v, 0.95) * 1000:.0f} ms" for v in
                     (ready, by_page["/dashboard/"], by_page["/matches/"])]
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {len(by_page['/dashboard/'])} each |")
            log("  " + lines[-1])
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.first_page")
    parser.add_argument("--offerings", type=int, default=10_000)
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5, help="gunicorn starts per data set")
    args = parser.parse_args(argv)
    random.seed(0)
    lines = [f"# First pages after a gunicorn start ({time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, "
             f"2 workers, SQLite; {args.starts} starts, 2 sessions each)", ""]
    lines += run(args.offerings, args.needs, args.starts, log=lambda s: print(s, file=sys.stderr, flush=True))
    OUT.mkdir(exist_ok=True)
    (OUT / "first_page.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
