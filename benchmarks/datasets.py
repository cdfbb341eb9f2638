"""Loaders for the public evaluation data in ../shared/eval and the domain devset."""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EVAL = (REPO.parent / "shared" / "eval").resolve()
DEVSET = REPO / "benchmarks" / "devset"


# ----------------------------------------------------------------------------- SDG
def read_simple_yaml(path: Path) -> dict[str, str]:
    """The open-sdg translation files are flat `key: value` maps with folded continuation lines."""
    out: dict[str, str] = {}
    key = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw.startswith((" ", "\t")) and ":" in raw:
            key, _, val = raw.partition(":")
            key = key.strip().strip("'\"")
            out[key] = val.strip()
        elif key is not None:
            out[key] = (out[key] + " " + raw.strip()).strip()
    for k, v in out.items():
        if len(v) >= 2 and v[0] == v[-1] == "'":
            v = v[1:-1].replace("''", "'")
        elif len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1].replace('\\"', '"')
        out[k] = v
    return out


@dataclass
class RetrievalSet:
    """Queries, documents and graded relevance (qrels[qid][did] = grade > 0)."""
    name: str
    queries: dict[str, tuple[str, str]]            # id -> (text, lang)
    docs: dict[str, tuple[str, str]]
    qrels: dict[str, dict[str, int]]
    extra: dict = field(default_factory=dict)


def sdg(query_lang: str, doc_lang: str) -> RetrievalSet:
    base = EVAL / "sdg"
    ind = read_simple_yaml(base / f"global_indicators.{query_lang}.yml")
    tgt = read_simple_yaml(base / f"global_targets.{doc_lang}.yml")
    docs = {k[:-len("-title")]: (v, doc_lang) for k, v in tgt.items() if k.endswith("-title") and v}
    queries, qrels = {}, {}
    for k, v in ind.items():
        if not k.endswith("-title") or not v:
            continue
        iid = k[:-len("-title")]
        parts = iid.split("-")
        if len(parts) != 3:
            continue
        target = "-".join(parts[:2])
        if target in docs:
            queries[iid] = (v, query_lang)
            qrels[iid] = {target: 1}
    return RetrievalSet(f"sdg {query_lang}->{doc_lang}", queries, docs, qrels)


# ----------------------------------------------------------------------------- reviewer gold
@dataclass
class ReviewerDraw:
    name: str
    papers: dict[str, str]                  # paper id -> title + abstract
    profiles: dict[str, list[str]]          # participant id -> profile paper texts
    ratings: dict[str, dict[str, float]]    # participant id -> paper id -> expertise


def _paper_text(content: dict) -> str:
    return f"{content.get('title') or ''}. {content.get('abstract') or ''}".strip()


def reviewer_ratings() -> dict[str, dict[str, float]]:
    ratings: dict[str, dict[str, float]] = {}
    with (EVAL / "reviewer-gold" / "evaluations.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            pid = row["ParticipantID"].strip()
            for i in range(1, 11):
                p, e = (row.get(f"Paper{i}") or "").strip(), (row.get(f"Expertise{i}") or "").strip()
                if p and e:
                    ratings.setdefault(pid, {})[p] = float(e)
    return ratings


def reviewer_draws() -> list[ReviewerDraw]:
    ratings = reviewer_ratings()
    draws = []
    base = EVAL / "reviewer-gold"
    for i in range(1, 11):
        d = base / f"d_20_{i}"
        subs = json.loads((d / "submissions.json").read_text(encoding="utf-8"))
        papers = {pid: _paper_text(v.get("content", {})) for pid, v in subs.items()}
        profiles = {}
        for f in sorted((d / "archives").glob("~*.jsonl")):
            pid = f.stem.lstrip("~")
            texts = []
            for line in f.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    texts.append(_paper_text(json.loads(line).get("content", {})))
            profiles[pid] = texts
        rat = {p: {k: v for k, v in r.items() if k in papers} for p, r in ratings.items() if p in profiles}
        draws.append(ReviewerDraw(d.name, papers, profiles, rat))
    return draws


# ----------------------------------------------------------------------------- devset
def devset_available() -> bool:
    return all((DEVSET / n).exists() for n in ("needs.jsonl", "offerings.jsonl", "qrels.tsv"))


def devset_raw() -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    needs = [json.loads(line) for line in (DEVSET / "needs.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    offs = [json.loads(line) for line in (DEVSET / "offerings.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    qrels: dict[str, dict[str, int]] = {}
    for line in (DEVSET / "qrels.tsv").read_text(encoding="utf-8").splitlines():
        cells = re.split(r"\t+", line.strip())
        if len(cells) < 3 or not cells[-1].strip().lstrip("-").isdigit():
            continue
        qrels.setdefault(cells[0].strip(), {})[cells[1].strip()] = int(cells[-1])
    return needs, offs, qrels
