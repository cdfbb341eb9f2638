"""CSV import of offerings (partners) and needs (delegates, or facilitators on their behalf): check every row,
then create all of them through the services, or none."""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from matchmaker.errors import DomainError, NotPermitted
from matchmaker.extensions import db
from matchmaker.imports.csv_columns import COLUMNS, Column, RowError
from matchmaker.imports.spreadsheet import FileRefused, decode_upload, unescape_cell, write_csv
from matchmaker.models import Member, Need, User
from matchmaker.permissions import can
from matchmaker.services import needs as needs_service
from matchmaker.services import offerings as offerings_service
from matchmaker.services.audit import record

MAX_ROWS = 10_000
MAX_BYTES = 4 * 1024 * 1024


@dataclass
class Problem:
    line: int
    column: str
    message: str


@dataclass
class Preview:
    """What an import would do: the rows it would create, and every problem found, by line and column."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)


EXAMPLES = {
    "offerings": ["E-commerce law reform support", "Advice to ministries drafting e-commerce, e-signature and "
                  "consumer protection laws, with a review of the draft by our lawyers.", "en",
                  "e_transactions;consumer_protection", "legal_advice;training", "en;fr", "policymakers;regulators",
                  "ldc_only", "", "", "5", "2030-12-31", "Jane Doe", "jane.doe@example.org", "draft"],
    "needs": ["Stratégie nationale de commerce électronique", "Nous souhaitons un appui pour élaborer une stratégie "
              "nationale de commerce électronique et former les fonctionnaires concernés.", "fr",
              "readiness;skills", "policy_advice;training", "fr", "policymakers", "2027-01-01", "2027-12-31",
              "high", "no", "draft"],
}


def template_csv(kind: str) -> str:
    """The template offered on the import page: the header, then one example row to overwrite."""
    return write_csv([column.name for column in COLUMNS[kind]], [EXAMPLES[kind]])


# ---- reading and checking ----------------------------------------------------------------------------------------

def read_rows(kind: str, data: bytes, max_bytes: int = MAX_BYTES, may_submit: bool = True) -> Preview:
    """Check every row of an uploaded CSV; the file as a whole may be refused with FileRefused.

    ``may_submit`` is False when a facilitator imports needs on a member's behalf: those stay drafts."""
    reader = csv.reader(io.StringIO(decode_upload(data, max_bytes), newline=""), strict=True)
    header = _read_header(reader)
    preview = Preview(problems=_header_problems(COLUMNS[kind], header))
    if preview.problems:
        return preview
    known_members = set(db.session.scalars(select(Member.code).where(Member.is_developing.is_(True))))
    seen: dict[tuple, int] = {}
    for line, cells in _data_lines(reader, len(header), preview):
        values, ok = _parse_cells(COLUMNS[kind], header, cells, line, preview)
        ok = _check_row(kind, values, line, preview, known_members, may_submit) and ok
        ok = _first_time(cells, line, seen, preview) and ok
        if ok:
            preview.rows.append((line, values))
    if not preview.rows and not preview.problems:
        raise FileRefused(_("The file has a header but no rows."))
    return preview


def _read_header(reader) -> list[str]:
    """The column names of the first line, or FileRefused when it names none or uses semicolons."""
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise FileRefused(_("The first line cannot be read as CSV: %(error)s.", error=str(error))) from None
    header = [name.strip().lower().lstrip("\ufeff") for name in header or []]
    if not any(header):
        raise FileRefused(_("The first line must name the columns; download the template to see them."))
    if len(header) == 1 and ";" in header[0]:
        raise FileRefused(_("The columns are separated by semicolons; save the file as CSV with commas "
                            "(in Excel: CSV UTF-8) and upload it again."))
    return header


def _header_problems(columns: tuple[Column, ...], header: list[str]) -> list[Problem]:
    """Unknown, missing and repeated columns (all on line 1)."""
    names = [column.name for column in columns]
    unknown = [name for name in header if name not in names]
    missing = [column.name for column in columns if column.required and column.name not in header]
    # Counted once, not with header.count() per column: a header of 100,000 columns must not take minutes.
    duplicated = sorted(name for name, times in Counter(header).items() if times > 1)
    return ([Problem(1, name[:60] or "?", _("Unknown column; the columns are: %(names)s.", names=", ".join(names)))
             for name in unknown]
            + [Problem(1, name, _("This required column is missing.")) for name in missing]
            + [Problem(1, name, _("This column appears more than once.")) for name in duplicated])


def _data_lines(reader, width: int, preview: Preview):
    """(first line number, cells) of each row that is not blank and has ``width`` cells; a line that cannot be read
    ends the file, and so does the row after MAX_ROWS. Problems go into ``preview``."""
    line, count = 2, 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            preview.problems.append(Problem(reader.line_num, "", _("This line cannot be read as CSV (%(error)s); "
                                                                   "check its quotes.", error=str(error))))
            return
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        count += 1
        if count > MAX_ROWS:
            preview.problems.append(Problem(start, "", _("The file has more than %(n)d rows; split it.", n=MAX_ROWS)))
            return
        if len(cells) != width:
            preview.problems.append(Problem(start, "", _(
                "This row has %(cells)d cells but the header has %(columns)d columns; check for a missing or "
                "extra separator, or a line break outside quotes.", cells=len(cells), columns=width)))
            continue
        yield start, cells


def _parse_cells(columns: tuple[Column, ...], header: list[str], cells: list[str], line: int,
                 preview: Preview) -> tuple[dict[str, Any], bool]:
    """Each cell read by its column (an optional column left out of the file takes its default), and whether every
    cell was accepted (the problems of the others are in ``preview``)."""
    by_name = {column.name: column for column in columns}
    values: dict[str, Any] = {}
    ok = True
    for name, cell in zip(header, cells, strict=True):
        try:
            values[name] = by_name[name].parse(unescape_cell(cell))
        except RowError as error:
            preview.problems.append(Problem(line, name, str(error)))
            ok = False
    for column in columns:
        if column.name not in header:
            values[column.name] = column.parse("")
    return values, ok


def _first_time(cells: list[str], line: int, seen: dict[tuple, int], preview: Preview) -> bool:
    """False (with a problem) when the same row came earlier in the file."""
    key = tuple(cell.strip() for cell in cells)
    if key in seen:
        preview.problems.append(Problem(line, "", _("This row repeats line %(line)d.", line=seen[key])))
        return False
    seen[key] = line
    return True


def _check_row(kind: str, values: dict, line: int, preview: Preview, known_members: set[str],
               may_submit: bool) -> bool:
    """Rules that involve several columns, or the database."""
    problems = []
    if kind == "offerings":
        if offerings_service.deadline_passed(values.get("deadline"), date.today()):
            problems.append(Problem(line, "deadline", _("The application deadline has passed: choose a later date, "
                                                        "or leave it empty.")))
        if values.get("eligibility") == "regions" and not values.get("eligible_regions"):
            problems.append(Problem(line, "eligible_regions", _("Choose at least one region, or another kind of "
                                                                 "eligibility.")))
        if values.get("eligibility") == "members":
            codes = values.get("eligible_members") or []
            if not codes:
                problems.append(Problem(line, "eligible_members", _("Choose at least one member, or another kind "
                                                                     "of eligibility.")))
            unknown = sorted(set(codes) - known_members)
            if unknown:
                problems.append(Problem(line, "eligible_members", _("Unknown member codes: %(codes)s.",
                                                                     codes=", ".join(c[:10] for c in unknown[:5]))))
    else:
        if values.get("start_date") and values.get("end_date") and values["end_date"] < values["start_date"]:
            problems.append(Problem(line, "end_date", _("The end date must be after the start date.")))
        if values.get("status") == "submitted" and not may_submit:
            problems.append(Problem(line, "status", _("Needs imported on a member's behalf stay drafts until its "
                                                      "delegation submits them; write draft.")))
    preview.problems.extend(problems)
    return not problems


# ---- writing -----------------------------------------------------------------------------------------------------

def import_rows(actor: User, kind: str, preview: Preview, member: Member | None, today: date) -> list:
    """Create every row through the services, in the caller's transaction; the first refusal raises and the
    caller rolls everything back. Published offerings are not proposed here: once the import is committed, the
    caller proposes them all at once (services.matching.propose_for_offerings)."""
    if not preview.ok:
        raise DomainError(_("Nothing was imported: correct the problems listed and upload the file again."))
    created = []
    if kind == "offerings":
        if not can(actor, "offering.import"):
            raise NotPermitted(_("Only partners can import their organisation's offerings."))
        for line, values in preview.rows:
            fields = {k: v for k, v in values.items() if k != "status"}
            try:
                offering = offerings_service.create_offering(actor, fields)
                if values["status"] == "published":
                    offerings_service.transition(actor, offering, "publish", today=today, propose=False)
            except DomainError as error:
                raise DomainError(_("Line %(line)d: %(message)s", line=line, message=error.message)) from None
            created.append(offering)
        return created
    if not can(actor, "need.import", member):
        raise NotPermitted(_("You may not import needs for this member."))
    for line, values in preview.rows:
        fields = {k: v for k, v in values.items() if k != "status"}
        try:
            if can(actor, "act_for.member"):
                need = needs_service.create_need(actor, fields)
                if values["status"] == "submitted":
                    needs_service.transition(actor, need, "submit")
            else:
                need = _need_on_behalf(actor, member, fields, values["status"])
        except DomainError as error:
            raise DomainError(_("Line %(line)d: %(message)s", line=line, message=error.message)) from None
        created.append(need)
    return created


def _need_on_behalf(actor: User, member: Member, fields: dict, status: str) -> Need:
    """A facilitator brings in a member's need as a draft; the delegation reviews and submits it itself."""
    if status != "draft":
        raise DomainError(_("Needs imported on a member's behalf stay drafts until its delegation submits them."))
    need = Need(member_id=member.id, created_by=actor, status="draft",
                **{k: fields[k] for k in needs_service.EDITABLE_FIELDS if k in fields})
    db.session.add(need)
    db.session.flush()
    record(actor, "need.created", need, on_behalf_of=member.code, via="import")
    return need
