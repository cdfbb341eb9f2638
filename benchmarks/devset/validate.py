"""Check the dev set's integrity and print its statistics.

Run from the repository root:  python benchmarks/devset/validate.py
Stand-alone (standard library only) so it also documents how eligibility is computed.
"""
from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVALUATION_DATE = date(2026, 11, 23)

POLICY_AREAS = {"readiness", "ict_infrastructure", "trade_logistics", "payments", "e_transactions",
                "consumer_protection", "data_protection", "cybersecurity", "intellectual_property", "skills",
                "financing"}
SUPPORT_KINDS = {"legal_advice", "policy_advice", "assessment", "training", "technical_assistance",
                 "peer_exchange", "funding"}
REGIONS = {"africa", "asia", "pacific", "latin_america", "caribbean", "middle_east", "europe", "cis",
           "north_america"}
TEXT_LANGUAGES = {"en", "fr", "es"}
DELIVERY_LANGUAGES = {"en", "fr", "es", "ar", "pt", "ru", "zh"}
ELIGIBILITY = {"all_developing", "ldc_only", "regions", "members"}

# Needs written in everyday words rather than the programmes' vocabulary (see README).
VOCABULARY_GAP = ["n04", "n05", "n06", "n12", "n13", "n16", "n17", "n21", "n22", "n23", "n24", "n25", "n26",
                  "n27", "n28", "n29", "n30", "n31", "n32", "n33", "n34", "n35", "n63", "n65", "n66"]


def load_jsonl(name: str) -> list[dict]:
    with open(HERE / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_qrels(name: str = "qrels.tsv") -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(HERE / name, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        assert next(reader) == ["need_id", "offering_id", "grade"], "bad qrels header"
        for row in reader:
            assert len(row) == 3, row
            need_id, offering_id, grade = row
            assert offering_id not in qrels.get(need_id, {}), f"duplicate judgement {row}"
            qrels.setdefault(need_id, {})[offering_id] = int(grade)
    return qrels


def ineligibility_reasons(need: dict, offering: dict, today: date = EVALUATION_DATE) -> list[str]:
    """Why ``need``'s member cannot receive ``offering`` (empty list = eligible)."""
    reasons = []
    rule = offering["eligibility"]
    if rule == "ldc_only" and not need["member_is_ldc"]:
        reasons.append("not an LDC")
    elif rule == "regions" and need["member_region"] not in offering["eligible_regions"]:
        reasons.append("region not covered")
    elif rule == "members" and need["member"] not in offering["eligible_members"]:
        reasons.append("member not listed")
    if offering["capacity_left"] is not None and offering["capacity_left"] <= 0:
        reasons.append("no capacity left")
    if offering["deadline"] is not None and date.fromisoformat(offering["deadline"]) < today:
        reasons.append("deadline passed")
    if not set(need["delivery_languages"]) & set(offering["delivery_languages"]):
        reasons.append("no common delivery language")
    return reasons


def main() -> int:
    offerings = load_jsonl("offerings.jsonl")
    needs = load_jsonl("needs.jsonl")
    qrels = load_qrels()
    errors: list[str] = []

    def check(cond: bool, msg: str) -> None:
        if not cond:
            errors.append(msg)

    by_off = {o["id"]: o for o in offerings}
    check_offerings(offerings, check)
    members = check_needs(needs, check)
    check_qrels(qrels, needs, by_off, check)
    best_ineligible, no_eligible_relevant = ineligible_best(needs, qrels, by_off)
    cross_language = [n["id"] for n in needs if n["language"] != "en"
                      and any(by_off[o]["language"] == "en" for o, g in qrels[n["id"]].items() if g >= 2)]

    check(len(offerings) >= 42, "fewer than 42 offerings")
    check(len(needs) >= 64, "fewer than 64 needs")
    check(sum(n["language"] != "en" for n in needs) >= 22, "fewer than 22 French/Spanish needs")
    check(len(VOCABULARY_GAP) >= 15, "fewer than 15 vocabulary-gap needs")
    check(len(best_ineligible) >= 8, "fewer than 8 needs whose best offering is ineligible")
    check(sum(o["capacity_left"] == 0 for o in offerings) >= 2, "fewer than 2 full offerings")
    check(sum(o["deadline"] is not None and date.fromisoformat(o["deadline"]) < EVALUATION_DATE
              for o in offerings) >= 2, "fewer than 2 offerings past deadline")

    grades = Counter(g for judged in qrels.values() for g in judged.values())
    print(f"offerings: {len(offerings)} by language {dict(Counter(o['language'] for o in offerings))}")
    print(f"needs: {len(needs)} by language {dict(Counter(n['language'] for n in needs))}")
    print(f"needs from LDCs: {sum(n['member_is_ldc'] for n in needs)}; members: {len(members)}")
    print(f"qrels: {sum(grades.values())} judgements, by grade {dict(sorted(grades.items()))}")
    print(f"vocabulary gap ({len(VOCABULARY_GAP)}): {' '.join(VOCABULARY_GAP)}")
    print(f"best offering ineligible ({len(best_ineligible)}): {' '.join(best_ineligible)}")
    print(f"  of which no eligible offering graded >= 2 ({len(no_eligible_relevant)}): "
          f"{' '.join(no_eligible_relevant)}")
    print(f"fr/es needs with an English offering graded >= 2: {len(cross_language)}")
    full = [o["id"] for o in offerings if o["capacity_left"] == 0]
    past = [o["id"] for o in offerings if o["deadline"] and date.fromisoformat(o["deadline"]) < EVALUATION_DATE]
    print(f"offerings with no capacity: {' '.join(full)}; past deadline: {' '.join(past)}")
    for e in errors:
        print("ERROR:", e, file=sys.stderr)
    return 1 if errors else 0


def check_offerings(offerings: list[dict], check) -> None:
    off_ids = [o["id"] for o in offerings]
    check(len(set(off_ids)) == len(off_ids), "duplicate offering ids")
    for o in offerings:
        words = len(o["description"].split())
        check(50 <= words <= 200, f"{o['id']}: description has {words} words")
        check(o["language"] in TEXT_LANGUAGES, f"{o['id']}: language")
        check(bool(o["policy_areas"]) and set(o["policy_areas"]) <= POLICY_AREAS, f"{o['id']}: policy_areas")
        check(bool(o["support_kinds"]) and set(o["support_kinds"]) <= SUPPORT_KINDS, f"{o['id']}: support_kinds")
        check(bool(o["delivery_languages"]) and set(o["delivery_languages"]) <= DELIVERY_LANGUAGES,
              f"{o['id']}: delivery_languages")
        check(o["eligibility"] in ELIGIBILITY, f"{o['id']}: eligibility")
        check(set(o["eligible_regions"]) <= REGIONS, f"{o['id']}: eligible_regions")
        check((o["eligibility"] == "regions") == bool(o["eligible_regions"]), f"{o['id']}: regions/eligibility")
        check((o["eligibility"] == "members") == bool(o["eligible_members"]), f"{o['id']}: members/eligibility")
        check(o["capacity_left"] is None or isinstance(o["capacity_left"], int), f"{o['id']}: capacity_left")
        if o["deadline"] is not None:
            date.fromisoformat(o["deadline"])


def check_needs(needs: list[dict], check) -> dict[str, tuple]:
    """Checks every need; returns each member's (LDC, region), which its needs must agree on."""
    need_ids = [n["id"] for n in needs]
    check(len(set(need_ids)) == len(need_ids), "duplicate need ids")
    for n in needs:
        words = len(n["description"].split())
        check(40 <= words <= 200, f"{n['id']}: description has {words} words")
        check(n["language"] in TEXT_LANGUAGES, f"{n['id']}: language")
        check(len(n["member"]) == 2 and n["member"].isupper(), f"{n['id']}: member")
        check(isinstance(n["member_is_ldc"], bool), f"{n['id']}: member_is_ldc")
        check(n["member_region"] in REGIONS, f"{n['id']}: member_region")
        check(bool(n["policy_areas"]) and set(n["policy_areas"]) <= POLICY_AREAS, f"{n['id']}: policy_areas")
        check(bool(n["support_kinds"]) and set(n["support_kinds"]) <= SUPPORT_KINDS, f"{n['id']}: support_kinds")
        check(bool(n["delivery_languages"]) and set(n["delivery_languages"]) <= DELIVERY_LANGUAGES,
              f"{n['id']}: delivery_languages")
    members: dict[str, tuple] = {}
    for n in needs:
        key = (n["member_is_ldc"], n["member_region"])
        check(members.setdefault(n["member"], key) == key, f"{n['id']}: member {n['member']} inconsistent")
    return members


def check_qrels(qrels: dict, needs: list[dict], by_off: dict, check) -> None:
    by_need = {n["id"]: n for n in needs}
    for nid, judged in qrels.items():
        check(nid in by_need, f"qrels: unknown need {nid}")
        for oid, grade in judged.items():
            check(oid in by_off, f"qrels: unknown offering {oid}")
            check(grade in (1, 2, 3), f"qrels: grade {grade} for {nid}/{oid}")
    for nid in by_need:
        check(max(qrels.get(nid, {}).values(), default=0) >= 2, f"{nid}: no offering graded >= 2")
    for nid in VOCABULARY_GAP:
        check(nid in by_need, f"vocabulary-gap list: unknown need {nid}")


def ineligible_best(needs: list[dict], qrels: dict, by_off: dict) -> tuple[list[str], list[str]]:
    """Needs whose best-graded offerings are all ineligible, and those with no eligible offering graded >= 2."""
    best_ineligible, no_eligible_relevant = [], []
    for n in needs:
        judged = qrels.get(n["id"], {})
        top = max(judged.values())
        if all(ineligibility_reasons(n, by_off[o]) for o, g in judged.items() if g == top):
            best_ineligible.append(n["id"])
        if all(ineligibility_reasons(n, by_off[o]) for o, g in judged.items() if g >= 2):
            no_eligible_relevant.append(n["id"])
    return best_ineligible, no_eligible_relevant


if __name__ == "__main__":
    sys.exit(main())
