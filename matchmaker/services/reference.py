"""Reference data: WTO members and observers, loaded idempotently from matchmaker/data/members.csv."""
from __future__ import annotations

import csv
from pathlib import Path

import pycountry
from sqlalchemy import select

from matchmaker.extensions import db
from matchmaker.models import Member
from matchmaker.reference import DELIVERY_LANGUAGES, REGIONS

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MEMBERS_CSV = DATA_DIR / "members.csv"


def read_members(path: Path = MEMBERS_CSV) -> list[dict]:
    """Rows of the members file, checked against ISO 3166 and our region codes."""
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            code = row["code"].strip().upper()
            if code != "EU" and pycountry.countries.get(alpha_2=code) is None:
                raise ValueError(f"{path.name}:{line}: {code} is not an ISO 3166-1 alpha-2 code")
            if row["region"] not in REGIONS:
                raise ValueError(f"{path.name}:{line}: unknown region {row['region']!r}")
            if row["wto_status"] not in ("member", "observer"):
                raise ValueError(f"{path.name}:{line}: unknown WTO status {row['wto_status']!r}")
            languages = [code for code in row["languages"].split(";") if code]
            if any(code not in DELIVERY_LANGUAGES for code in languages):
                raise ValueError(f"{path.name}:{line}: unknown language in {row['languages']!r}")
            rows.append(
                {
                    "code": code,
                    "wto_status": row["wto_status"],
                    "is_ldc": row["is_ldc"].strip() == "1",
                    "is_developing": row["is_developing"].strip() == "1",
                    "region": row["region"],
                    "name_en": row["name_en"].strip(),
                    "name_fr": row["name_fr"].strip(),
                    "name_es": row["name_es"].strip(),
                    "languages": languages,
                    "other_names": [name.strip() for name in row["other_names"].split(";") if name.strip()],
                }
            )
    return rows


def load_members(path: Path = MEMBERS_CSV) -> tuple[int, int]:
    """Insert new members and update changed ones; returns (inserted, updated). Running it twice changes nothing."""
    existing = {m.code: m for m in db.session.scalars(select(Member))}
    inserted = updated = 0
    for row in read_members(path):
        member = existing.get(row["code"])
        if member is None:
            db.session.add(Member(**row))
            inserted += 1
            continue
        if any(getattr(member, key) != value for key, value in row.items()):
            for key, value in row.items():
                setattr(member, key, value)
            updated += 1
    db.session.flush()
    return inserted, updated
