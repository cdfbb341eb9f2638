"""Each role's main pages in English, French and Spanish, in Chromium: accessible (axe-core), light, self-hosted,
usable from 320 px wide, and in the chosen language; a screenshot of each goes to test-artifacts/screenshots/."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Watch, choose_language, record_figures, run_axe

LANGUAGES = ("fr", "es", "en")
BUDGET = 100 * 1024  # bytes a first load of any page may transfer: HTML, CSS, scripts, fonts
RECORD_LINK = ".records h2 a"
# role -> (name, path, selector of the link to follow from that path to reach the page, or None)
PAGES = {
    None: [("landing", "/", None), ("sign-in", "/login", None), ("password-reset", "/reset", None),
           ("report", "/reports/", None)],
    "delegate": [("home", "/", None), ("needs", "/needs/", None), ("new-need", "/needs/new", None),
                 ("need", "/needs/", RECORD_LINK), ("offerings", "/offerings/", None),
                 ("offering", "/offerings/", RECORD_LINK), ("my-matches", "/matches/mine", None),
                 ("inbox", "/inbox", None), ("account", "/account", None)],
    "partner": [("home", "/", None), ("offerings", "/offerings/", None), ("new-offering", "/offerings/new", None),
                ("offering", "/offerings/", RECORD_LINK), ("open-needs", "/needs/", None),
                ("need", "/needs/", RECORD_LINK), ("my-matches", "/matches/mine", None), ("inbox", "/inbox", None)],
    "facilitator": [("home", "/", None), ("screening", "/needs/?status=submitted", None),
                    ("need", "/needs/?status=open", RECORD_LINK), ("review-queue", "/matches/", None),
                    ("pair-by-hand", "/matches/new", None), ("offerings", "/offerings/", None),
                    ("new-session", "/sessions/new", None),
                    ("audit-log", "/admin/audit", None), ("dashboard", "/dashboard/", None)],
    "admin": [("home", "/", None), ("users", "/admin/users", None), ("invite", "/admin/users/invite", None),
              ("organisations", "/admin/organisations", None), ("members", "/admin/members", None)],
}
# Words that show the page is in the language asked for (from the navigation or the page itself).
IN_LANGUAGE = {"fr": re.compile(r"Aller au contenu"), "es": re.compile(r"Ir al contenido"),
               "en": re.compile(r"Skip to content")}
CASES = [(lang, role, name, path, follow) for lang in LANGUAGES for role, pages in PAGES.items()
         for name, path, follow in pages]


class Contexts:
    """One signed-in browser context per role for the module, and what is known of it: the language its user has
    chosen, and the record pages already found, so that a test loads no page it does not need."""

    def __init__(self, sign_in):
        self.sign_in = sign_in
        self.opened = {}
        self.language = {}
        self.records = {}

    def page(self, role):
        if role not in self.opened:
            self.opened[role] = self.sign_in(role, viewport={"width": 1024, "height": 768})
        return self.opened[role].new_page()

    def close(self):
        for context in self.opened.values():
            context.close()


@pytest.fixture(scope="module")
def contexts(sign_in):
    opened = Contexts(sign_in)
    yield opened
    opened.close()


@pytest.mark.parametrize("lang, role, name, path, follow", CASES,
                         ids=[f"{lang}-{role or 'visitor'}-{name}" for lang, role, name, _, _ in CASES])
def test_page(contexts, live_server, artifacts, lang, role, name, path, follow):
    page = contexts.page(role)
    try:
        url = live_server + path
        if contexts.language.get(role) != lang or (follow and (role, name) not in contexts.records):
            page.goto(url)
            choose_language(page, lang)
            contexts.language[role] = lang
            if follow:
                link = page.locator(follow).first
                assert link.count(), f"no {follow} on {path} to open"
                contexts.records[role, name] = link.get_attribute("href")
        if follow:
            url = live_server + contexts.records[role, name]
        watch = Watch(page, live_server)
        sizes = watch.load(url)
        label = f"{role or 'visitor'}/{name}"

        assert page.get_attribute("html", "lang") == lang
        assert IN_LANGUAGE[lang].search(page.content())
        assert not watch.foreign, f"{label} asked another host for {watch.foreign}"
        total = sum(sizes.values())
        assert total < BUDGET, f"{label} ({lang}) transferred {total} bytes: {sizes}"
        # One main landmark and one first-level heading on every page.
        assert page.locator("main").count() == 1 and page.locator("h1").count() == 1

        violations = run_axe(page)
        record_figures(artifacts, "axe", f"{lang} {label}",
                       {impact: sum(1 for v in violations if v["impact"] == impact)
                        for impact in ("critical", "serious", "moderate", "minor")})
        record_figures(artifacts, "transfer", f"{lang} {label}", total)
        page.screenshot(path=artifacts / "screenshots" / lang / f"{role or 'visitor'}-{name}.png", full_page=True)
        blocking = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not blocking, f"{label} ({lang}): " + "\n".join(
            f"{v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in blocking)

        if lang == "fr":  # French texts are the longest: if they fit at 320 px, the others do
            page.set_viewport_size({"width": 320, "height": 640})
            overflow = page.evaluate("document.documentElement.scrollWidth")
            page.screenshot(path=artifacts / "screenshots" / "320px" / f"{role or 'visitor'}-{name}.png",
                            full_page=True)
            assert overflow <= 320, f"{label} is {overflow} px wide in a 320 px window"
    finally:
        page.close()
