"""Hostile files through the real upload pages: never a 5xx, never a partial import, and bounded memory.

With HOSTILE_REPORT=path, each file's answer and peak memory are appended there (for the stress report)."""
from __future__ import annotations

import gc
import io
import json
import os
import re
import tracemalloc
import warnings
import zipfile

import pytest
from sqlalchemy import func, select

from matchmaker.extensions import db
from matchmaker.models import ImportUpload, Need, Offering
from tests.samples import CSV_DESCRIPTION, CSV_HEADER, csv_row, iati_activity, iati_file

# Python memory a single upload may take at its peak (tracemalloc), whatever the file: bounded by the request
# size limit (2 MB), never by what the file claims to contain.
PEAK_LIMIT = 64 * 1024 * 1024


def _zip_as_csv() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("offerings.csv", CSV_HEADER + csv_row("Inside a zip"))
    return out.getvalue()


def _csv_files() -> dict[str, bytes]:
    good = csv_row("A fine offering on customs")
    return {
        "empty": b"",
        "bom only": b"\xef\xbb\xbf",
        "BOM then rows": ("\ufeff" + CSV_HEADER + good).encode(),
        "UTF-16": (CSV_HEADER + good).encode("utf-16"),
        "UTF-16 BE no BOM": (CSV_HEADER + good).encode("utf-16-be"),
        "bad UTF-8": CSV_HEADER.encode() + b"Caf\xe9 \xff\xfe,desc,en,trade_logistics,training,en\n",
        "NUL": (CSV_HEADER + good).encode().replace(b"A fine", b"A\x00fine"),
        "ragged": (CSV_HEADER + "only,two\n" + "a,b,c,d,e,f,g,h,i\n" + good).encode(),
        "unbalanced quote": (CSV_HEADER + '"never closed,' + CSV_DESCRIPTION + "\n" + good).encode(),
        "100,000-character field": (CSV_HEADER + csv_row("Long " + "x" * 100_000)).encode(),
        "200,000-character field": (CSV_HEADER + csv_row("Long", description="y" * 200_000)).encode(),
        "a million blank rows": CSV_HEADER.encode() + b"\n" * 1_000_000,
        "a million one-cell rows": CSV_HEADER.encode() + b"x\n" * 950_000,
        "11,000 valid rows": (CSV_HEADER + "".join(csv_row(f"Offering number {n}")
                                                   for n in range(11_000))).encode()[:2_000_000],
        "over the row limit": (CSV_HEADER + csv_row("x") * 40_000).encode(),
        "over the size limit": (CSV_HEADER + csv_row("x")).encode() + b"x" * (11 * 1024 * 1024),
        "zip renamed .csv": _zip_as_csv(),
        "formulas": (CSV_HEADER + csv_row("=HYPERLINK(\"https://evil.example\",\"click\")")
                     + csv_row("@SUM(1+1)*cmd|' /C calc'!A0") + csv_row("+1+1 formula")).encode(),
        "header only, many columns": (",".join(f"c{n}" for n in range(20_000)) + "\n").encode(),
        "CR line endings": (CSV_HEADER + good).replace("\n", "\r").encode(),
        "mixed good and bad rows": (CSV_HEADER + good + csv_row("Bad areas", areas="teleportation")
                                    + csv_row("Another good one")).encode(),
    }


def _iati_files() -> dict[str, bytes]:
    return {
        "IATI empty": b"",
        "IATI UTF-16": iati_file(iati_activity()).decode().replace('encoding="UTF-8"',
                                                                   'encoding="UTF-16"').encode("utf-16"),
        "IATI bad UTF-8": iati_file(iati_activity()).replace(b"Digital", b"Digit\xe9l"),
        "IATI NUL": iati_file(iati_activity()).replace(b"Digital", b"Digi\x00tal"),
        "IATI 100,000-character title": iati_file(iati_activity(title_en="T" * 100_000)),
        "IATI deep nesting": b"<?xml version='1.0'?>" + b"<a>" * 100_000 + b"</a>" * 100_000,
        "IATI many activities": iati_file(*(iati_activity(identifier=f"XM-DAC-41301-EC-{n}") for n in range(600))),
        "IATI zip renamed": _zip_as_csv(),
        "IATI over the size limit": iati_file(iati_activity()).replace(
            b"</iati-activities>", b"<!--" + b"x" * (11 * 1024 * 1024) + b"--></iati-activities>"),
    }


def _report(name: str, **figures) -> None:
    path = os.environ.get("HOSTILE_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"file": name, **figures}) + "\n")


def _records() -> int:
    db.session.rollback()
    return sum(db.session.scalar(select(func.count()).select_from(m)) for m in (Need, Offering))


def _send(client, url, name, content):
    tracemalloc.start()
    try:
        with client.post(url, data={"file": (io.BytesIO(content), f"{name}.csv"), "publish": "y"},
                         content_type="multipart/form-data") as response:
            _current, peak = tracemalloc.get_traced_memory()
            # The test client spools a large body to a temporary file; a route that refuses it unread (413) leaves
            # that file open, and its ResourceWarning would fail whichever test the garbage collector runs in.
            response.request.environ["wsgi.input"].close()
            return response.status_code, response.get_data(as_text=True), peak
    finally:
        tracemalloc.stop()


# The slow ones run in `make stress` (pytest -m stress); `make test` keeps one file of each kind of hostility.
HEAVY = {"a million blank rows", "a million one-cell rows", "header only, many columns", "over the row limit",
         "11,000 valid rows",
         "IATI many activities", "needs: a million one-cell rows"}


def _case(kind: str, name: str):
    heavy = name in HEAVY or f"{kind}: {name}" in HEAVY
    return pytest.param(kind, name, marks=[pytest.mark.stress] if heavy else [], id=f"{kind}-{name}")


@pytest.mark.parametrize("kind,name", [_case("offerings", n) for n in _csv_files()]
                         + [_case("needs", "mixed good and bad rows"), _case("needs", "a million one-cell rows")]
                         + [_case("iati", n) for n in _iati_files()])
def test_hostile_file(app, make, kind, name, signed_in):
    content = (_iati_files() if kind == "iati" else _csv_files())[name]
    user = make.user("delegate", member="BJ") if kind == "needs" else make.user(
        "partner", organisation=make.organisation())
    client = signed_in(user)
    url = {"offerings": "/imports/offerings/csv", "needs": "/imports/needs/csv",
           "iati": "/imports/offerings/iati"}[kind]
    before = _records()
    status, body, peak = _send(client, url, name, content)
    body = re.sub(r"\s+", " ", body)
    assert status in (200, 302, 413, 422), (name, status)
    assert _records() == before  # an upload only previews
    written = 0
    upload = db.session.scalar(select(ImportUpload).where(ImportUpload.user_id == user.id))
    if upload is not None:
        # Confirm whatever the preview offered: every row or none, never part of a file.
        with client.get(f"/imports/{upload.id}") as preview:
            assert preview.status_code == 200
        with client.post(f"/imports/{upload.id}/confirm", data={"publish": "y"}) as confirm:
            assert confirm.status_code in (302, 409, 422), (name, confirm.status_code)
        written = _records() - before
        assert written in (0, upload.rows), (name, written, upload.rows)
        if "bad" in name or "ragged" in name or "quote" in name:
            assert written == 0, name
    assert peak < PEAK_LIMIT, (name, peak)
    _report(f"{kind}: {name}", status=status, peak_mb=round(peak / 2**20, 1), written=written,
            bytes=len(content))
    if status in (413, 422):
        assert "<h1" in body  # a page that says why, in the site's layout
    # Bodies over 500 KB are spooled to temporary files (Werkzeug); one of them is left to its finalizer rather than
    # closed, which CPython does at once. Collect it here, where its ResourceWarning is expected, not in a later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
