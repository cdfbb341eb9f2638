"""Locust on loopback against gunicorn with 4 workers: requests per second, p95 and failures."""
from __future__ import annotations

import csv
import os
import subprocess  # runs locust from this virtualenv, argument list only  # nosec B404
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from stress.common import ROOT, Server


@dataclass
class LoadResult:
    users: int
    seconds: int
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server_errors: int
    slowest: list[tuple[str, float]]
    start_seconds: float          # the first seconds of the run, while the users all start at once
    slow_at_start: int            # requests over SLOW_MS that began in them
    slow_later: int               # and after them
    p95_after_start_ms: float     # p95 of the requests after them


SLOW_MS = 150
START_SECONDS = 3.0


def _timeline(path: Path) -> tuple[int, int, float]:
    """From the locustfile's request log: requests over SLOW_MS in the first START_SECONDS and after, and the p95
    of those after (nan when none)."""
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    if not rows:
        return 0, 0, float("nan")
    first = min(float(row[0]) - float(row[1]) / 1000 for row in rows)
    timed = [(float(row[0]) - float(row[1]) / 1000 - first, float(row[1])) for row in rows]
    later = sorted(ms for at, ms in timed if at >= START_SECONDS)
    slow_start = sum(1 for at, ms in timed if at < START_SECONDS and ms > SLOW_MS)
    p95 = later[min(len(later) - 1, int(0.95 * len(later)))] if later else float("nan")
    return slow_start, sum(1 for ms in later if ms > SLOW_MS), p95


def run(url: str, port: int, users: int = 40, seconds: int = 60, log=print) -> LoadResult:
    server = Server(url, port).start()
    try:
        with tempfile.TemporaryDirectory(prefix="matchmaker-locust-") as tmp:
            prefix, request_log = Path(tmp) / "load", Path(tmp) / "requests.tsv"
            subprocess.run(  # noqa: S603  # this interpreter's locust  # nosec B603
                [sys.executable, "-m", "locust", "-f", str(ROOT / "stress" / "locustfile.py"), "--headless",
                 "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
                 "--host", server.base, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
                 "--stop-timeout", "10"],
                cwd=ROOT, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 120,
                env=dict(os.environ, LOAD_REQUEST_LOG=str(request_log)))
            timeline = _timeline(request_log)
            with open(f"{prefix}_stats.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
            errors = []
            if Path(f"{prefix}_failures.csv").exists():
                with open(f"{prefix}_failures.csv", newline="") as handle:
                    errors = list(csv.DictReader(handle))
    finally:
        server.stop()
    total = next(r for r in rows if r["Name"] == "Aggregated")
    per_route = sorted(((f"{r['Type']} {r['Name']}", float(r["95%"])) for r in rows if r["Name"] != "Aggregated"),
                       key=lambda item: -item[1])
    server_errors = sum(int(e["Occurrences"]) for e in errors if "50" in e.get("Error", "")[:40])
    result = LoadResult(users=users, seconds=seconds, requests=int(total["Request Count"]),
                        failures=int(total["Failure Count"]), rps=round(float(total["Requests/s"]), 1),
                        p50_ms=float(total["50%"]), p95_ms=float(total["95%"]), p99_ms=float(total["99%"]),
                        server_errors=server_errors, slowest=per_route[:5], start_seconds=START_SECONDS,
                        slow_at_start=timeline[0], slow_later=timeline[1], p95_after_start_ms=timeline[2])
    log(f"load: {users} users for {seconds} s: {result.requests} requests, {result.rps} rps, "
        f"p50 {result.p50_ms:.0f} ms, p95 {result.p95_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, "
        f"{result.failures} failures; slowest p95: " + ", ".join(f"{n} {ms:.0f} ms" for n, ms in result.slowest[:3]))
    log(f"  requests over {SLOW_MS} ms: {result.slow_at_start} in the first {START_SECONDS:.0f} s (all users starting "
        f"at once), {result.slow_later} after; p95 after them {result.p95_after_start_ms:.0f} ms")
    for error in errors:
        log(f"  failure: {error.get('Method')} {error.get('Name')}: {error.get('Error')} x{error.get('Occurrences')}")
    return result
