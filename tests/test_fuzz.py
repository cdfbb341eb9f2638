"""Hypothesis against every form the pages show (found by reading them) and every JSON write of the API: no 5xx.

The number of inputs per form comes from FUZZ_EXAMPLES (small in `make test`; `make stress` sets 1,000).
With FUZZ_REPORT=path, each test appends what it sent and what came back, for the stress report."""
from __future__ import annotations

import json
import os
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matchmaker.extensions import db
from tests.helpers import login

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                suppress_health_check=list(HealthCheck))

HOSTILE = ["", " ", "\x00", "a\x00b", "\ud7ff\ue000", "\u202e", "😀" * 50, "<script>alert(1)</script>", "{{7*7}}",
           "' OR 1=1 --", "-1", "0", "99999999999999999999", "1e309", "NaN", "null", "true", "[]", "{}",
           "2027-02-31", "9999-12-31", "0000-00-00", "x" * 300, "é" * 5000, "%00", "../../etc/passwd",
           "javascript:alert(1)", "https://evil.example/"]


def text_values(options: list[str] | None = None):
    values = [st.text(max_size=50), st.sampled_from(HOSTILE), st.integers().map(str),
              st.integers(min_value=1_000, max_value=30_000).map(lambda n: "y" * n),
              st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=["Cs"]),
                      max_size=200)]
    if options:
        values = [st.sampled_from(options)] * 3 + values
    return st.one_of(values)


class FormReader(HTMLParser):
    """The POST forms of a page: action, and each field's name with the values it offers."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.current: dict | None = None
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self.current = {"action": a.get("action") or "", "fields": {}, "multi": set(),
                            "multipart": "multipart" in (a.get("enctype") or "")}
            self.forms.append(self.current)
        if self.current is None or not a.get("name") and tag != "option":
            return
        if tag in ("input", "textarea", "button"):
            field = self.current["fields"].setdefault(a["name"], [])
            if a.get("type") in ("checkbox", "radio", "hidden", "submit") or tag == "button":
                if a.get("value") is not None:
                    field.append(a["value"])
                if a.get("type") == "checkbox":
                    self.current["multi"].add(a["name"])
        elif tag == "select":
            self.select = a["name"]
            self.current["fields"].setdefault(a["name"], [])
            if "multiple" in a:
                self.current["multi"].add(a["name"])
        elif tag == "option" and self.select and a.get("value") is not None:
            self.current["fields"][self.select].append(a["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


# Pages whose forms are fuzzed, with the role that sees them.
PAGES = [("anon", "/login"), ("anon", "/reset"), ("delegate_own", "/account"), ("delegate_own", "/needs/new"),
         ("delegate_own", "/needs/{open_need}/edit"), ("delegate_own", "/needs/{draft_need}"),
         ("delegate_own", "/matches/{approved_match}"), ("partner_own", "/offerings/new"),
         ("partner_own", "/offerings/{published_offering}/edit"), ("partner_own", "/matches/{approved_match}"),
         ("facilitator", "/needs/{submitted_need}"), ("facilitator", "/matches/{proposed_match}"),
         ("facilitator", "/matches/new"), ("facilitator", "/matches/"), ("admin", "/admin/users/invite"),
         ("admin", "/admin/users/{own_delegate}"), ("admin", "/admin/organisations/new"),
         ("admin", "/admin/organisations/{own_org}"), ("delegate_own", "/inbox"), ("anon", "/")]
NEVER = ("/logout",)  # fuzzing the sign-out button would only sign the fuzzer out


def _forms(app, world):
    found = {}
    for role, template in PAGES:
        client = app.test_client()
        if role != "anon":
            login(client, world["users"][role])
        page = template.format(**world["ids"])
        reader = FormReader()
        reader.feed(client.get(page).get_data(as_text=True))
        for form in reader.forms:
            action = form["action"] or page
            fields = {k: v for k, v in form["fields"].items() if k != "csrf_token"}
            if urlsplit(action).path in NEVER or not fields:
                continue
            found.setdefault((role, action), (fields, form["multi"]))
    return found


def _report(name: str, statuses: Counter) -> None:
    path = os.environ.get("FUZZ_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"test": name, "inputs": sum(statuses.values()),
                                  "statuses": {str(k): v for k, v in sorted(statuses.items())}}) + "\n")


def test_every_form_survives_hypothesis(app, world):
    forms = _forms(app, world)
    assert len(forms) >= 15, sorted(forms)
    failures, statuses = [], Counter()
    for (role, action), (fields, multi) in sorted(forms.items()):
        client = app.test_client()
        if role != "anon":
            login(client, world["users"][role])

        values = {}
        for name, options in fields.items():
            one = text_values(options or None)
            values[name] = st.one_of(st.lists(one, max_size=4), one) if name in multi else st.one_of(
                one, one, st.lists(one, min_size=2, max_size=3), st.just(None))

        @FUZZ
        @given(st.fixed_dictionaries({}, optional=values))
        def post(data):
            data = {k: v for k, v in data.items() if v is not None}
            with client.post(action, data=data) as response:  # noqa: B023  (post runs in this iteration)
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append((role, action, {k: str(v)[:80] for k, v in data.items()},  # noqa: B023
                                     response.status_code))
            db.session.remove()

        post()
        # A fuzzed post may have changed this user's password or role: sign in afresh for the next form.
        db.session.rollback()
    _report("forms", statuses)
    assert failures == [], failures[:3]
    assert sum(statuses.values()) >= len(forms) * min(EXAMPLES, 10)


# ---- the JSON API ---------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text_values(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8)


def _api_operations(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    operations = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method not in ("post", "patch", "put"):
                continue
            ref = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            schema = schemas.get(ref.get("$ref", "").rsplit("/", 1)[-1], ref)
            properties = schema.get("properties", {})
            options = {name: [json.dumps(v) for v in prop.get("enum", prop.get("items", {}).get("enum", []))]
                       for name, prop in properties.items()}
            operations.append((method.upper(), path, options))
    return operations


@pytest.mark.parametrize("role", ["partner_own", "delegate_own"])
def test_every_json_write_survives_hypothesis(app, world, role):
    from matchmaker.api.tokens import create_token
    from matchmaker.models import User

    user = db.session.scalar(db.select(User).where(User.email == world["users"][role]))
    _token, secret = create_token(user, "fuzz")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    ids = {"offering_id": world["ids"]["published_offering"], "need_id": world["ids"]["open_need"],
           "match_id": world["ids"]["approved_match"]}
    operations = _api_operations(app)
    assert len(operations) >= 6
    client = app.test_client()
    failures, statuses = [], Counter()
    for method, path, options in operations:
        url = path.format(**ids)
        fields = {name: st.one_of(json_values, st.sampled_from([json.loads(o) for o in opts])) if opts else json_values
                  for name, opts in options.items()}

        @FUZZ
        @given(st.one_of(st.fixed_dictionaries({}, optional=fields), json_values,
                         st.binary(max_size=200), st.text(max_size=200)))
        def call(body):
            kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, (bytes, str)) \
                else {"json": body}
            with client.open(url, method=method, headers=headers, **kwargs) as response:  # noqa: B023  (same)
                statuses[response.status_code] += 1
                if response.status_code >= 500 or response.mimetype != "application/json":
                    failures.append((method, url, str(body)[:120], response.status_code))  # noqa: B023
            db.session.remove()

        call()
    _report(f"api-{role}", statuses)
    assert failures == [], failures[:3]
    assert set(statuses) <= {200, 201, 400, 401, 403, 404, 409, 413, 415, 422}, statuses


def test_admin_edit_without_member_field_is_a_message_not_a_500(app, make, signed_in):
    """Found by the fuzzer at 1,000 inputs: a post that leaves out `member` made int(<Member BJ>) fail."""
    delegate = make.user("delegate", member="BJ")
    client = signed_in(make.user("admin"))
    for data in ({"name": "D", "role": "delegate", "language": "en"},
                 {"name": "D", "role": "admin", "language": "en", "active": "[]"}):
        with client.post(f"/admin/users/{delegate.id}", data=data) as response:
            assert response.status_code in (302, 422), (data, response.status_code)
