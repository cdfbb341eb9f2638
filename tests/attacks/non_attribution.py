"""The attacker of the threat model (README, "Threat model"), written independently of the service's code: a partner
who reads everything about the anonymous needs, and anyone who solves the public report or compares two readings.
tests/test_non_attribution.py runs these attacks on the demo data; benchmarks/non_attribution.py on larger sets."""
from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

from sqlalchemy import select

from matchmaker.api.tokens import create_token
from matchmaker.extensions import db
from matchmaker.models import Match, Need, Offering
from tests.attacks.suppression import cell_intervals
from tests.helpers import signed_in_client

DEMO_PASSWORD = "demo-password-2026"


MEMBERS_CSV = Path(__file__).resolve().parents[2] / "matchmaker" / "data" / "members.csv"


REGION_LABELS = {"Africa": "africa", "Asia": "asia", "Pacific": "pacific", "Latin America": "latin_america",
                 "Caribbean": "caribbean", "Middle East": "middle_east", "Europe": "europe",
                 "Commonwealth of Independent States": "cis", "North America": "north_america"}
# What the words of a wider area mean to a reader.
AREA_WORDS = {"the Americas": {"latin_america", "caribbean", "north_america"},
              "The Americas": {"latin_america", "caribbean", "north_america"},
              "Asia and the Pacific": {"asia", "pacific"}, "Europe and Central Asia": {"europe", "cis"}}


AREA_CODES = {"americas": AREA_WORDS["the Americas"], "asia_pacific": AREA_WORDS["Asia and the Pacific"],
              "europe_cis": AREA_WORDS["Europe and Central Asia"]}


LANGUAGE_LABELS = {"English": "en", "French": "fr", "Spanish": "es", "Arabic": "ar", "Portuguese": "pt",
                   "Russian": "ru", "Chinese": "zh"}


OFFERING_COLUMNS = {"Published offerings", "Offerings without a proposal"}


def public_members() -> dict[str, dict]:
    """The public list of members: region, LDC status, developing status, languages."""
    with MEMBERS_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["code"]: {"region": row["region"], "ldc": row["is_ldc"] == "1",
                              "eligible": row["is_developing"] == "1",
                              "languages": set(filter(None, row.get("languages", "").split(";")))}
                for row in csv.DictReader(handle)}


class Shown:
    """Everything a partner read about one need: statements about its member, and its languages."""

    def __init__(self):
        self.areas: list[set[str]] = []  # each: the member's region is one of these
        self.ldc: set[bool] = set()  # True: said to be an LDC; False: said not to be one
        self.languages: set[str] = set()
        self.names: list[str] = []  # member names shown (none for an anonymous need)

    def fitting(self, members: dict[str, dict]) -> list[str]:
        return [code for code, m in members.items() if m["eligible"]
                and all(m["region"] in area for area in self.areas)
                and all(m["ldc"] == flag for flag in self.ldc)
                and (self.languages - {"en"}) <= m["languages"]]


def read_origin(label: str, shown: Shown) -> None:
    label = " ".join(label.split())
    found = re.fullmatch(r"A member in (.+?)( \(LDC\))?", label)
    if found:
        area = found.group(1)
        shown.areas.append({REGION_LABELS[area]} if area in REGION_LABELS else AREA_WORDS[area])
        if found.group(2):
            shown.ldc.add(True)
    elif label == "A least developed country":
        shown.ldc.add(True)
    elif label != "A member":
        shown.names.append(label)


def list_pages(client, query: str = "") -> dict[int, str]:
    """Every need on every page of the partner's list (with a filter): id -> the meta line."""
    found, page = {}, 1
    while True:
        body = client.get(f"/needs/?{query}&page={page}").get_data(as_text=True)
        items = re.findall(r'<a href="/needs/(\d+)"[^>]*>.*?</a></h2>\s*<p class="meta">(.*?)</p>', body, re.S)
        if not items:
            return found
        found.update((int(i), html.unescape(re.sub(r"<[^>]+>", " ", meta))) for i, meta in items)
        page += 1


def offered(client, name: str) -> list[str]:
    """The values a filter of the list offers (an attacker only uses those)."""
    body = client.get("/needs/").get_data(as_text=True)
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', body, re.S).group(1)
    return [v for v in re.findall(r'<option[^>]*value="([^"]*)"', select_html) if v]


def read_everything(app, client, partner) -> dict[int, Shown]:
    """Crawl what the partner reaches: list, filters, need pages, API (list, filters, one by one), exports."""
    reading = Reading(client)
    reading.lists()
    reading.filters()
    reading.need_pages()
    reading.api(partner)
    reading.export_json()
    reading.export_csv()
    return reading.shown


class Reading:
    """What one partner has read so far, need by need."""

    def __init__(self, client):
        self.client = client
        self.shown: dict[int, Shown] = {}

    def of(self, need_id: int) -> Shown:
        return self.shown.setdefault(need_id, Shown())

    def lists(self) -> None:
        for need_id, meta in list_pages(self.client).items():
            parts = [p.strip() for p in meta.split("·")]
            read_origin(parts[1], self.of(need_id))
            self.of(need_id).languages.add(LANGUAGE_LABELS[parts[2]])

    def filters(self) -> None:
        """A need found under a region (or area) is from there; found under "LDCs only" is an LDC."""
        for value in offered(self.client, "region"):
            area = AREA_CODES.get(value, {value})
            for need_id in list_pages(self.client, f"region={value}"):
                self.of(need_id).areas.append(area)
        if "yes" in offered(self.client, "ldc"):
            for need_id in list_pages(self.client, "ldc=yes"):
                self.of(need_id).ldc.add(True)

    def need_pages(self) -> None:
        for need_id in list(self.shown):
            page = self.client.get(f"/needs/{need_id}").get_data(as_text=True)
            meta = html.unescape(re.sub(r"<[^>]+>", " ", re.search(r'<p class="meta">(.*?)</p>', page, re.S).group(1)))
            read_origin(meta.split("·")[1], self.of(need_id))
            languages = re.search(r"Delivery languages</dt><dd>(.*?)</dd>", page, re.S).group(1)
            self.of(need_id).languages |= {LANGUAGE_LABELS[t] for t in re.findall(r'class="tag">([^<]+)<', languages)}

    def api(self, partner) -> None:
        """The API, as a program of the partner's would read it: lists (with each region filter), then one by one."""
        _token, secret = create_token(partner, "attack")
        db.session.commit()
        headers = {"Authorization": f"Bearer {secret}"}
        for region in [*REGION_LABELS.values(), *AREA_CODES, None]:
            self.api_list(headers, region)
        for need_id in list(self.shown):
            self.api_record(self.client.get(f"/api/v1/needs/{need_id}", headers=headers).get_json())

    def api_list(self, headers: dict, region: str | None) -> None:
        page = 1
        while True:
            query = f"per_page=100&page={page}" + (f"&region={region}" if region else "")
            answer = self.client.get(f"/api/v1/needs?{query}", headers=headers)
            if answer.status_code != 200:
                return  # a value the API does not offer
            items = answer.get_json()["items"]
            for record in items:
                self.api_record(record)
                if region:
                    self.of(record["id"]).areas.append(AREA_CODES.get(region, {region}))
            if len(items) < 100:
                return
            page += 1

    def api_record(self, record: dict) -> None:
        need = self.of(record["id"])
        if record["member"]:
            need.names.append(record["member"])
        if record["region"]:
            need.areas.append(AREA_CODES.get(record["region"], {record["region"]}))
        if record["is_ldc"] is not None:
            need.ldc.add(bool(record["is_ldc"]))
        need.languages |= {record["language"], *record["delivery_languages"]}

    def export_json(self) -> None:
        for record in self.client.get("/exports/needs.json").get_json():
            self.api_record(record)

    def export_csv(self) -> None:
        text = self.client.get("/exports/needs.csv").get_data(as_text=True).lstrip("\ufeff")
        for row in csv.DictReader(io.StringIO(text)):
            need = self.of(int(row["id"]))
            if row["member"]:
                need.names.append(row["member"])
            if row["region"]:
                need.areas.append(AREA_CODES.get(row["region"], {row["region"]}))
            if row["is_ldc"] in ("yes", "no"):
                need.ldc.add(row["is_ldc"] == "yes")
            need.languages |= {row["language"], *filter(None, row["delivery_languages"].split(";"))}


def anonymous_needs(partner) -> list[Need]:
    """The open needs whose member the partner may not know: not chosen to be named, not introduced to them."""
    introduced = set(db.session.scalars(select(Match.need_id).join(Offering).where(
        Offering.organisation_id == partner.organisation_id,
        Match.status.notin_(("proposed", "rejected", "superseded", "withdrawn")))))
    return [n for n in db.session.scalars(select(Need).where(Need.status.in_(("open", "matched", "in_progress",
                                                                                   "fulfilled"))))
            if not n.attributed and n.id not in introduced]


def read_table(text: str) -> tuple[dict, list]:
    """A CSV table: its cells (None when suppressed) and its lines (each total equals the sum of its parts)."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    cells = {}
    for row in body:
        for column, value in zip(header[1:], row[1:], strict=True):
            cells[(row[0], column)] = None if value == "suppressed" else float(value)
    labels = [r[0] for r in body]
    columns = header[1:]
    lines = []
    if "Total" in columns:
        parts = [c for c in columns if c != "Total"]
        lines += [((r, "Total"), [(r, c) for c in parts]) for r in labels]
    if "Total" in labels:
        parts = [r for r in labels if r != "Total"]
        lines += [(("Total", c), [(r, c) for r in parts]) for c in columns]
    return cells, lines


def feasible_intervals(cells: dict, lines: list, lower: float) -> dict:
    """Each suppressed cell's smallest and largest value given every line, the bounds and integrality."""
    return cell_intervals(cells, lines, [k for k, v in cells.items() if v is None], lower)


REPORT_TABLES = ("needs_by_area_region", "needs_by_ldc", "supply_demand", "activity", "delays")


def read_report(client, prefix: str = "/reports") -> dict[str, str]:
    return {key: client.get(f"{prefix}/{key}.csv").get_data(as_text=True) for key in REPORT_TABLES}


def attackers_lower_bound(client, tables: dict[str, str]) -> int:
    """0 if the report says a suppressed figure may be 0 and keeps its word (no zero published beside a suppressed
    cell, which would tell that the suppressed one is not 0); otherwise 1."""
    page = client.get("/reports/").get_data(as_text=True)
    if "a suppressed figure may be 0" not in page:
        return 1
    for text in tables.values():
        cells, lines = read_table(text)
        for total, parts in lines:
            line = [total, *parts]
            if any(cells[k] is None for k in line):
                assert all(cells[k] != 0 for k in line), "a zero beside a suppressed cell"
    return 0


def publish(app):
    """A facilitator publishes an edition from the report page (the public report reads the latest one)."""
    client = signed_in_client(app, "facilitator@example.org", DEMO_PASSWORD)
    page = client.get("/reports/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    return client.post("/reports/editions/", data={"csrf_token": token.group(1) if token else ""})


def attack_report(client, tables: dict[str, str]) -> dict:
    lower = attackers_lower_bound(client, tables)
    exposed = {}
    for key, text in tables.items():
        cells, lines = read_table(text)
        for cell, (low, high) in feasible_intervals(cells, lines, lower).items():
            if high - low < 1:
                exposed[(key, *cell)] = f"pinned to {low}"
            elif low >= 1 and high <= 2:
                exposed[(key, *cell)] = f"narrowed to {low}..{high}"
    return exposed


def changed_cells(first: dict[str, str], second: dict[str, str]) -> dict:
    """What the attacker learns by subtracting two readings: cells whose difference is known not to be 0."""
    moved = {}
    for key in REPORT_TABLES:
        before, lines_before = read_table(first[key])
        after, lines_after = read_table(second[key])
        range_before = feasible_intervals(before, lines_before, 0)
        range_after = feasible_intervals(after, lines_after, 0)
        for cell in set(before) | set(after):
            if cell[1] in OFFERING_COLUMNS:
                continue  # offerings describe no member
            low_b, high_b = range_before.get(cell, (before.get(cell, 0),) * 2)
            low_a, high_a = range_after.get(cell, (after.get(cell, 0),) * 2)
            if low_a - high_b > 0 or high_a - low_b < 0:
                moved[(key, *cell)] = (low_b, high_b, low_a, high_a)
    return moved
