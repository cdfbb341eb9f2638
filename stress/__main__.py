"""`make stress`: load, crashes and long fuzzing against one database; exits 1 when a target is missed.

Settings (environment): STRESS_DATABASE_URL (default: a SQLite file in /tmp), STRESS_PORT (8104; the crash run
uses the next port), STRESS_USERS (40), STRESS_LOAD_SECONDS (60), STRESS_KILL_SECONDS (25), FUZZ_EXAMPLES
(1000; 0 skips the fuzzing), STRESS_REPORT (a JSON file to write the figures to)."""
from __future__ import annotations

import json
import os
import subprocess  # runs pytest from this virtualenv  # nosec B404
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from stress.common import ROOT, reset_and_seed


def main() -> int:
    url = os.environ.get("STRESS_DATABASE_URL") or f"sqlite:///{Path(tempfile.gettempdir()) / 'matchmaker-stress.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    port = int(os.environ.get("STRESS_PORT", "8104"))
    users = int(os.environ.get("STRESS_USERS", "40"))
    load_seconds = int(os.environ.get("STRESS_LOAD_SECONDS", "60"))
    kill_seconds = int(os.environ.get("STRESS_KILL_SECONDS", "25"))
    examples = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
    database = url.split(":", 1)[0].split("+")[0]
    print(f"== stress on {database} ==", flush=True)
    report: dict = {"database": database}
    missed = []

    from stress import crashes, load

    started = time.monotonic()
    if load_seconds:  # 0 skips the load run
        reset_and_seed(url)
        result = load.run(url, port, users=users, seconds=load_seconds)
        report["load"] = asdict(result)
        if result.failures or result.server_errors:
            missed.append("load: failures")

    reset_and_seed(url)
    crash = crashes.run(url, port + 1, seconds=kill_seconds, kills=int(os.environ.get("STRESS_KILLS", "20")))
    report["crashes"] = asdict(crash)
    if crash.lost or crash.integrity != "ok" or crash.worker_kills < int(os.environ.get("STRESS_KILLS", "20")) \
            or crash.master_kills != 1:
        missed.append("crashes")

    if examples:
        fuzz_report = Path(tempfile.mkstemp(prefix="matchmaker-fuzz-", suffix=".jsonl")[1])
        env = dict(os.environ, FUZZ_EXAMPLES=str(examples), FUZZ_REPORT=str(fuzz_report),
                   HOSTILE_REPORT=str(fuzz_report))
        if database == "postgresql":
            env["MATCHMAKER_TEST_DB"] = url
        else:
            env.pop("MATCHMAKER_TEST_DB", None)
        code = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "",  # noqa: S603  # nosec B603
                               "tests/test_fuzz.py", "tests/test_hostile_files.py"], cwd=ROOT, env=env).returncode
        lines = [json.loads(line) for line in fuzz_report.read_text().splitlines() if line.strip()]
        fuzz_report.unlink(missing_ok=True)
        report["fuzz"] = [line for line in lines if "test" in line]
        report["hostile_files"] = [line for line in lines if "file" in line]
        inputs = sum(line["inputs"] for line in report["fuzz"])
        errors = sum(v for line in report["fuzz"] for k, v in line["statuses"].items() if k.startswith("5"))
        peak = max((line["peak_mb"] for line in report["hostile_files"]), default=0)
        print(f"fuzz: {inputs} inputs ({examples} per form or operation), {errors} answers 5xx; hostile files: "
              f"{len(report['hostile_files'])} files, peak memory {peak} MB; pytest exit {code}", flush=True)
        if code or errors:
            missed.append("fuzzing")
    report["seconds"] = round(time.monotonic() - started)
    if os.environ.get("STRESS_REPORT"):
        Path(os.environ["STRESS_REPORT"]).write_text(json.dumps(report, indent=2, default=str))
    print(f"== stress on {database}: " + ("all targets met" if not missed else "MISSED: " + ", ".join(missed))
          + f" ({report['seconds']} s) ==", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
