"""The navigation in Chromium: grouped by task on one line at 1280 px for every role in the three languages, its groups
open without JavaScript (one at a time); on a phone it collapses; a wide table says it scrolls."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import choose_language

ROLES = ("facilitator", "admin", "delegate", "partner")


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_fits_one_line_at_1280_px_in_every_language(sign_in, live_server, artifacts, role):
    context = sign_in(role, java_script_enabled=False, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        page.goto(live_server + "/")
        for lang in ("en", "fr", "es"):
            choose_language(page, lang)
            assert not page.locator("details.menu > summary").is_visible()
            tops = page.locator("header.site nav > ul > li").evaluate_all(
                "items => items.map(item => Math.round(item.getBoundingClientRect().top))")
            assert len(tops) >= 7 and len(set(tops)) == 1, (lang, tops)
            page.screenshot(path=artifacts / "screenshots" / f"nav-{role}-{lang}-1280.png")
        # A group opens on a click, without script, and only one stays open.
        groups = page.locator("details.group > summary")
        groups.nth(0).click()
        links = page.locator("details.group[open] a")
        assert links.count() >= 2 and links.first.is_visible()
        groups.nth(1).click()
        assert page.locator("details.group[open]").count() == 1
    finally:
        context.close()


def test_a_wide_table_on_a_phone_scrolls_in_its_box_and_says_so(sign_in, live_server, artifacts):
    context = sign_in("facilitator", java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(live_server + "/admin/members")
        box = page.locator(".table-wrap").first
        assert page.locator(".scroll-hint").first.is_visible()
        widths = box.evaluate("element => [element.scrollWidth, element.clientWidth]")
        assert widths[0] > widths[1], widths  # the table is wider than its box, which scrolls
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page itself does not
        assert box.get_attribute("tabindex") == "0" and box.get_attribute("role") == "region"
        page.screenshot(path=artifacts / "screenshots" / "members-390.png", full_page=False)
    finally:
        context.close()
