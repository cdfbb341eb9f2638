"""The load test's users: delegates, partners and facilitators doing what they do, through pages and the API."""
from __future__ import annotations

import os
import random
import re
import time

from locust import HttpUser, between, events, task

PASSWORD = "demo-password-2026"  # noqa: S105  # the demo accounts  # nosec B105
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@events.request.add_listener
def _log_request(name, response_time, **_kwargs) -> None:
    """Each request's time since the epoch and response time (ms), one line each, to LOAD_REQUEST_LOG when set
    (stress/load.py reads it: when in the run the slow requests came)."""
    path = os.environ.get("LOAD_REQUEST_LOG")
    if path:
        with open(path, "a") as log:
            log.write(f"{time.time():.3f}\t{response_time:.1f}\t{name}\n")


class SignedIn(HttpUser):
    abstract = True
    wait_time = between(0.5, 2)
    email = ""

    def on_start(self) -> None:
        self.sign_in()
        self.need_ids = self.ids("/needs/", r'href="/needs/(\d+)"')
        self.offering_ids = self.ids("/offerings/", r'href="/offerings/(\d+)"')

    def token(self, path: str) -> str:
        found = TOKEN.search(self.client.get(path, name=path.split("?")[0]).text)
        return found.group(1) if found else ""

    def ids(self, path: str, pattern: str) -> list[int]:
        return [int(i) for i in re.findall(pattern, self.client.get(path, name=path).text)] or [1]

    def sign_in(self) -> None:
        token = self.token("/login")
        with self.client.post("/login", {"email": self.email, "password": PASSWORD, "csrf_token": token},
                              name="/login [POST]", allow_redirects=False, catch_response=True) as r:
            if r.status_code != 302:
                r.failure(f"sign-in refused: {r.status_code}")

    @task(1)
    def sign_out_and_in(self):
        """People come back: sign-ins (the password hash) are part of the load, not only its start."""
        token = self.token("/")
        self.client.post("/logout", {"csrf_token": token}, name="/logout [POST]", allow_redirects=False)
        self.sign_in()


class Delegate(SignedIn):
    weight = 3
    email = "delegate@example.org"

    @task(4)
    def browse(self):
        self.client.get("/", name="/")
        self.client.get("/needs/", name="/needs/")

    @task(3)
    def need(self):
        self.client.get(f"/needs/{random.choice(self.need_ids)}", name="/needs/[id]")  # nosec B311

    @task(2)
    def matches(self):
        self.client.get("/matches/mine", name="/matches/mine")
        self.client.get("/inbox", name="/inbox")

    @task(2)
    def write_need(self):
        token = self.token("/needs/new")
        with self.client.post("/needs/new", {
                "csrf_token": token, "title": f"Load test need {random.randrange(10**9)}", "language": "en",  # nosec B311
                "description": "Customs officers need training on small parcels from cross-border e-commerce.",
                "policy_areas": "trade_logistics", "support_kinds": "training", "delivery_languages": "en",
                "priority": "medium"}, name="/needs/new [POST]", allow_redirects=False, catch_response=True) as r:
            if r.status_code != 302:
                r.failure(f"need not saved: {r.status_code}")


class Partner(SignedIn):
    weight = 2
    email = "partner@example.org"

    def on_start(self) -> None:
        super().on_start()
        token = self.token("/account")
        page = self.client.post("/account/tokens", {"csrf_token": token, "token-name": f"load {id(self)}",
                                                    "token-submit": "1"}, name="/account/tokens [POST]").text
        found = re.search(r'id="new-token"[^>]*value="([^"]+)"', page)
        self.api = {"Authorization": f"Bearer {found.group(1)}"} if found else {}

    @task(3)
    def browse(self):
        self.client.get("/offerings/", name="/offerings/")
        self.client.get("/needs/?q=customs", name="/needs/?q=")

    @task(3)
    def read(self):
        self.client.get(f"/needs/{random.choice(self.need_ids)}", name="/needs/[id]")  # nosec B311
        self.client.get(f"/offerings/{random.choice(self.offering_ids)}", name="/offerings/[id]")  # nosec B311

    @task(2)
    def api(self):
        self.client.get("/api/v1/needs?per_page=20", headers=self.api, name="/api/v1/needs")
        self.client.get("/api/v1/offerings", headers=self.api, name="/api/v1/offerings")

    @task(1)
    def export(self):
        self.client.get("/exports/offerings.csv", name="/exports/offerings.csv")


class Facilitator(SignedIn):
    weight = 1
    email = "facilitator@example.org"

    @task(3)
    def queue(self):
        page = self.client.get("/matches/", name="/matches/").text
        self.match_ids = [int(i) for i in re.findall(r'href="/matches/(\d+)"', page)]

    @task(2)
    def decide(self):
        if not getattr(self, "match_ids", None):
            return
        match_id = random.choice(self.match_ids)  # nosec B311
        token = self.token(f"/matches/{match_id}")
        action = random.choice(["approve", "reject"])  # nosec B311
        with self.client.post(f"/matches/{match_id}/decide", {"csrf_token": token, "action": action,
                                                              "reason": "Load test decision", "confirm": "1"},
                              name="/matches/[id]/decide [POST]", allow_redirects=False, catch_response=True) as r:
            if r.status_code not in (302, 409, 422):  # another facilitator may have decided it first
                r.failure(f"decision: {r.status_code}")
            else:
                r.success()

    @task(1)
    def run_matching(self):
        token = self.token("/matches/")
        with self.client.post("/matches/run", {"csrf_token": token}, name="/matches/run [POST]",
                              allow_redirects=False, catch_response=True) as r:
            if r.status_code != 302:
                r.failure(f"matching run: {r.status_code}")

    @task(2)
    def needs(self):
        self.client.get("/needs/?status=submitted", name="/needs/?status=")
        self.client.get("/admin/audit", name="/admin/audit")
