"""Facets and the hard rules, pair by pair: the soft-facet boost of a score and the first hard rule a pair fails.

A record's facets are small integers (bit masks of its policy areas, kinds of support, languages and regions;
codes of its eligibility, capacity, deadline and member) in one array per facet and side. Every function here
takes pairs as two arrays of rows, a need row and an offering row each, so the same code ranks one new need
(its facets are one row), one new offering, and all pairs at once.

Final score = ``text x (1 + policy_area_weight x pa + support_kind_weight x sk)``, where ``pa`` (``sk``) is
the share of the need's policy areas (kinds of support) the offering covers, rounded to 1e-6 so that the
same records always give the same ranking (ties are broken by id).
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from .records import DELIVERY_LANGUAGES, ELIGIBILITY, POLICY_AREAS, REGIONS, SUPPORT_KINDS, EngineSettings, Record

ROUND = 1e6
FACET_DTYPES = {"lang": np.uint8, "pa": np.uint16, "sk": np.uint8, "kind": np.int8, "regions": np.uint16,
                "capacity": np.int64, "deadline": np.int32, "member": np.int32, "ldc": bool, "region": np.uint16}
ALL_DEVELOPING, LDC_ONLY, REGION_LIST, MEMBER_LIST = range(4)
_BITS = {name: {code: 1 << i for i, code in enumerate(codes)}
         for name, codes in (("pa", POLICY_AREAS), ("sk", SUPPORT_KINDS), ("lang", DELIVERY_LANGUAGES),
                             ("region", REGIONS))}
_ELIGIBILITY_CODE = {name: i for i, name in enumerate(ELIGIBILITY)}


def mask(values, kind: str) -> int:
    bits = _BITS[kind]
    out = 0
    for value in values or ():
        out |= bits.get(value, 0)
    return out


def unmask(value: int, names: tuple[str, ...]) -> list[str]:
    return [name for i, name in enumerate(names) if value >> i & 1]


def member_code(code: str) -> int:
    code = (code or "").strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return -1
    return (ord(code[0]) - 65) * 26 + (ord(code[1]) - 65)


def member_codes(record: Record) -> list[int] | None:
    """The member codes an offering open to listed members accepts (None for other eligibilities)."""
    if record.eligibility != "members":
        return None
    return sorted({member_code(m) for m in record.eligible_members})


def facet_values(record: Record) -> dict[str, int]:
    return {"lang": mask(record.languages(), "lang"), "pa": mask(record.policy_areas, "pa"),
            "sk": mask(record.support_kinds, "sk"), "kind": _ELIGIBILITY_CODE.get(record.eligibility, ALL_DEVELOPING),
            "regions": mask(record.eligible_regions, "region"),
            "capacity": -1 if record.capacity_left is None else max(0, int(record.capacity_left)),
            "deadline": record.deadline.toordinal() if record.deadline else 0,
            "member": member_code(record.member), "ldc": bool(record.member_is_ldc),
            "region": _BITS["region"].get(record.member_region, 0)}


def facet_arrays(records: list[Record]) -> dict[str, np.ndarray]:
    values = [facet_values(r) for r in records]
    return {name: np.array([v[name] for v in values], dtype) for name, dtype in FACET_DTYPES.items()}


def facet_masks(facets: dict[str, np.ndarray], rows: np.ndarray) -> list[tuple[int, int, int]]:
    """(policy areas, kinds of support, languages) masks of the given rows, as explanations show them."""
    return list(zip(*(facets[name][rows].tolist() for name in ("pa", "sk", "lang")), strict=True))


def member_keys(members: dict[int, list[int]]) -> np.ndarray:
    """Sorted ``row * 1024 + member code`` of every listed member of every 'members' offering."""
    return np.array(sorted(r * 1024 + c for r, codes in members.items() for c in codes if c >= 0), np.int64)


def pair_finals(needs: dict, offerings: dict, need_rows: np.ndarray, offering_rows: np.ndarray, text: np.ndarray,
                settings: EngineSettings) -> np.ndarray:
    """Final scores (text x soft-facet boost, rounded) of (need row, offering row) pairs."""
    need_pa, need_sk = needs["pa"][need_rows], needs["sk"][need_rows]
    covered_pa = np.bitwise_count(need_pa & offerings["pa"][offering_rows])
    covered_sk = np.bitwise_count(need_sk & offerings["sk"][offering_rows])
    boost = 1.0 + settings.policy_area_weight * covered_pa / np.maximum(np.bitwise_count(need_pa), 1) \
        + settings.support_kind_weight * covered_sk / np.maximum(np.bitwise_count(need_sk), 1)
    return np.round(text * boost * ROUND) / ROUND


def largest_boost(needs: dict, need_rows: np.ndarray, settings: EngineSettings, areas: bool = True) -> np.ndarray:
    """An upper bound of each need's boost over any offering (every one of its areas and kinds covered); with
    ``areas`` False, over the offerings that share none of its policy areas."""
    has_pa = (needs["pa"][need_rows] != 0) & areas
    has_sk = needs["sk"][need_rows] != 0
    return 1.0 + max(0.0, settings.policy_area_weight) * has_pa + max(0.0, settings.support_kind_weight) * has_sk


def pair_reasons(needs: dict, offerings: dict, listed_members: np.ndarray, need_rows: np.ndarray,
                 offering_rows: np.ndarray, today: dt.date) -> np.ndarray:
    """Index into REASONS of the first hard rule each (need row, offering row) pair fails, -1 if none:
    eligibility, a common language, capacity left, deadline not passed."""
    kind = offerings["kind"][offering_rows]
    eligible = (kind == ALL_DEVELOPING) | ((kind == LDC_ONLY) & needs["ldc"][need_rows]) | \
        ((kind == REGION_LIST) & ((offerings["regions"][offering_rows] & needs["region"][need_rows]) != 0))
    listed = np.flatnonzero(kind == MEMBER_LIST)
    if listed.size:
        wanted = offering_rows[listed].astype(np.int64) * 1024 + needs["member"][need_rows[listed]]
        at = np.minimum(np.searchsorted(listed_members, wanted), max(0, listed_members.size - 1))
        eligible[listed] = (listed_members[at] == wanted) if listed_members.size else False
    language = (offerings["lang"][offering_rows] & needs["lang"][need_rows]) != 0
    room = offerings["capacity"][offering_rows] != 0
    deadline = offerings["deadline"][offering_rows]
    in_time = (deadline == 0) | (deadline >= today.toordinal())
    reasons = np.full(need_rows.size, -1, np.int8)
    for i, ok in reversed(list(enumerate((eligible, language, room, in_time)))):
        reasons[~ok] = i
    return reasons


def closed(offering: dict[str, int], today: dt.date) -> bool:
    """An offering that can take nobody: full, or past its deadline."""
    return offering["capacity"] == 0 or bool(offering["deadline"] and offering["deadline"] < today.toordinal())
