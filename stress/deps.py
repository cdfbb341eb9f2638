"""`make audit`'s dependency check: every installed package against a vulnerability database, through pip-audit.

Each database (PyPI's vulnerability data, OSV) is asked in turn. A known vulnerability fails the check; a database
that cannot be reached is said plainly and fails nothing (the check cannot tell, and says so); packages a database
does not know at their version are counted."""
from __future__ import annotations

import re
import subprocess  # runs pip-audit from this virtualenv, argument list only  # nosec B404
import sys
from importlib.metadata import distributions
from pathlib import Path

SERVICES = {"pypi": "PyPI's vulnerability data", "osv": "OSV"}
UNREACHABLE = re.compile(r"ConnectionError|NameResolution|Max retries|timed out|Temporary failure"
                         r"|Network is unreachable")


def audit(service: str) -> tuple[str, str]:
    """('clean' | 'vulnerable' | 'unreachable' | 'failed', what to print)."""
    pip_audit = Path(sys.executable).with_name("pip-audit")
    try:
        command = [str(pip_audit), "--progress-spinner", "off", "--desc", "off", "-s", service]
        run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603  # nosec B603
    except subprocess.TimeoutExpired:
        return "unreachable", "no answer within 5 minutes"
    output = run.stdout + run.stderr
    skipped = sum("could not be audited" in line for line in output.splitlines())
    installed = len({(d.metadata["Name"] or "").lower() for d in distributions()} - {"", "pip", "setuptools"})
    if run.returncode == 0 and skipped >= installed:
        return "unreachable", (f"it knew none of the {installed} installed packages at their version (its data is "
                               "not served here), so nothing was checked against it")
    if run.returncode == 0:
        note = f"; {skipped} of them unknown to it at their version were not checked" if skipped else ""
        return "clean", f"no known vulnerability in {installed - skipped} of {installed} installed packages" + note
    if UNREACHABLE.search(output):
        return "unreachable", "not reachable from here, so nothing was checked against it"
    if "Found " in output and "known vulnerabilit" in output:
        return "vulnerable", output
    return "failed", output


def main() -> int:
    worst = 0
    for service, name in SERVICES.items():
        state, detail = audit(service)
        if state == "vulnerable":
            print(f"Dependencies against {name}: KNOWN VULNERABILITIES\n{detail}", flush=True)
            worst = 1
        elif state == "failed":
            print(f"Dependencies against {name}: pip-audit failed\n{detail}", flush=True)
            worst = 1
        else:
            print(f"Dependencies against {name}: {detail}.", flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main())
