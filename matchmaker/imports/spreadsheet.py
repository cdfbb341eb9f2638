"""CSV files as spreadsheets open them: decoding uploads strictly, and writing cells that never run as formulas."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask_babel import gettext as _

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class FileRefused(Exception):
    """The file as a whole cannot be read; the message says why and what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def safe_cell(value) -> str:
    """A cell value that a spreadsheet shows as text: a leading formula character is escaped with an apostrophe."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    """Undo safe_cell, so that an exported file can be imported again."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def write_csv(header: list[str], rows: Iterable[list]) -> str:
    """A UTF-8 CSV (with a BOM, so that Excel reads the accents right) whose cells are all safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return "\ufeff" + out.getvalue()


def decode_upload(data: bytes, max_bytes: int) -> str:
    """The text of an uploaded CSV: UTF-8 with or without a BOM; anything else is refused with a clear message."""
    if not data or not data.strip():
        raise FileRefused(_("The file is empty."))
    if len(data) > max_bytes:
        raise FileRefused(_("The file is larger than %(size)d KB; split it into smaller files.",
                            size=max_bytes // 1024))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused(_("The file is in UTF-16. Save it as “CSV UTF-8” (in Excel: File, Save As, "
                            "CSV UTF-8) and upload it again."))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        raise FileRefused(_("The file contains NUL bytes: it is not a text CSV file (perhaps a spreadsheet "
                            "workbook). Save it as “CSV UTF-8” and upload it again."))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise FileRefused(_("The file is not in UTF-8 (line %(line)d has a character in another encoding, such as "
                            "Windows-1252 or Latin-1). Save it as “CSV UTF-8” (in Excel: File, Save As, CSV UTF-8) "
                            "and upload it again.", line=line)) from None
