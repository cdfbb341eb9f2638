"""`python -m benchmarks.signin [--runs N]`: CPU per sign-in spent on the password hash, before and after the move to
Argon2id, measured in one run: PBKDF2-SHA256 at 600,000 iterations (what accounts were hashed with before) and
Argon2id at the production parameters (config.ProductionConfig.PASSWORD_ARGON2). Results in benchmarks/out/signin.md."""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

from argon2 import PasswordHasher, Type
from werkzeug.security import check_password_hash, generate_password_hash

from config import ProductionConfig

OUT = Path(__file__).resolve().parent / "out"
PASSWORD = "demo-password-2026"  # noqa: S105  # the demo accounts' password  # nosec B105


def cpu_ms(verify, runs: int) -> tuple[float, float]:
    """Median CPU time and median wall time of one verification, in milliseconds."""
    cpu, wall = [], []
    for _ in range(runs):
        c, w = time.process_time(), time.perf_counter()
        if not verify():
            raise RuntimeError("the password did not verify")
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.signin")
    ap.add_argument("--runs", type=int, default=21)
    args = ap.parse_args(argv)
    params = ProductionConfig.PASSWORD_ARGON2
    pbkdf2 = generate_password_hash(PASSWORD, method="pbkdf2:sha256:600000")
    hasher = PasswordHasher(type=Type.ID, **params)
    argon2 = hasher.hash(PASSWORD)
    rows = [("PBKDF2-SHA256, 600,000 iterations (before)", *cpu_ms(lambda: check_password_hash(pbkdf2, PASSWORD),
                                                                     args.runs)),
            (f"Argon2id m={params['memory_cost']} KiB, t={params['time_cost']}, p={params['parallelism']} (now)",
             *cpu_ms(lambda: hasher.verify(argon2, PASSWORD), args.runs))]
    lines = [f"# CPU per sign-in spent on the password hash ({time.strftime('%Y-%m-%d %H:%M')}, "
             f"{platform.machine()}, python {sys.version.split()[0]}, median of {args.runs}; shared machine)", "",
             "| hash | CPU ms | wall ms |", "|---|---:|---:|"]
    lines += [f"| {name} | {cpu:.1f} | {wall:.1f} |" for name, cpu, wall in rows]
    lines += ["", f"ratio (before / now, CPU): {rows[0][1] / rows[1][1]:.1f}"]
    OUT.mkdir(exist_ok=True)
    (OUT / "signin.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
