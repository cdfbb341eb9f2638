"""`python -m benchmarks [--quick] [--only quality|speed|sessions|dashboard]`: quality, speed, session-agenda and
dashboard tables, also in benchmarks/out/."""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

from . import quality as Q

OUT = Path(__file__).resolve().parent / "out"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("--quick", action="store_true", help="smaller speed corpora (1k, 10k), 3 reviewer draws")
    ap.add_argument("--only", choices=["quality", "speed", "sessions", "dashboard"])
    args = ap.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    lines: list[str] = []

    def emit(s=""):
        print(s, flush=True)
        lines.append(s)

    emit(f"# TA Matchmaker engine benchmarks ({time.strftime('%Y-%m-%d %H:%M')}, "
         f"{platform.processor() or platform.machine()}, python {sys.version.split()[0]}, numpy {np.__version__})")
    if args.only in (None, "quality"):
        emit("\n## reviewer-gold (58 providers x 463 papers; loss lower is better; relevant = expertise >= 4)")
        from . import datasets as D
        draws = D.reviewer_draws()
        if args.quick:
            draws = draws[:3]
        rows = Q.run_reviewer(draws=draws)
        emit(f"draws: {', '.join(d.name for d in draws)}")
        emit(Q.table(rows, ["system"], ["loss", "easy_acc", "hard_acc", "MRR p->papers", "R@5 p->papers",
                                        "R@10 p->papers", "MRR paper->p", "R@5 paper->p", "R@10 paper->p"]))
        emit("\n## sdg (indicator -> its target; 1 relevant)")
        emit(Q.table(Q.run_sdg(), ["pair", "system"], ["MRR", "R@1", "R@5", "R@10", "nDCG@10", "n"]))
        from . import datasets as D
        if D.devset_available():
            emit("\n## devset (benchmarks/devset; relevant = grade >= 2; nDCG graded; eval date 2026-11-23)")
            emit("topical view: all offerings ranked, no hard filter (engine: facet boosts only); "
                 "eligible-only view: engine with hard filters, unavailable offerings removed from the judgements")
            emit(Q.table(Q.run_devset(), ["view", "needs", "system"], ["MRR", "R@1", "R@5", "R@10", "nDCG@10", "n"]))
    if args.only in (None, "speed"):
        from . import speed as S
        sizes = (1_000, 10_000) if args.quick else (1_000, 10_000, 100_000)
        emit("\n## speed and memory (synthetic Zipfian corpus, en/fr/es, 50-500 words; N needs x N offerings; "
             "2 cores)")
        emit("columns: p50/p95 in ms; for 'index memory' p50 = offering side, p95 = need side bytes/doc, "
             "naive = shared vocabulary bytes per doc; for 'all-pairs' p50 = without explanations, p95 = with, "
             "naive = sklearn linear_kernel chunked + argpartition; for 'start-up' p50 = store.load, p95 = "
             "import + load, naive = fitting from scratch")
        rows = S.measure(sizes=sizes, million=not args.quick, log=lambda s: print(s, file=sys.stderr, flush=True))
        emit(Q.table(rows, ["operation", "N"], ["p50 ms", "p95 ms", "naive p95 ms", "x faster"], "{:.2f}"))
    if args.only in (None, "sessions"):
        from . import sessions as SE
        SE.run(emit, runs=2 if args.quick else 5)
    if args.only in (None, "dashboard"):
        from . import dashboard

        emit("\n## dashboard and public report: build and page times (benchmarks/dashboard.py)")
        for line in dashboard.run(needs=1_000 if args.quick else 5_000, runs=3):
            emit(line)
    name = "bench-quick.md" if args.quick else "bench.md"
    (OUT / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nwritten to {OUT / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
