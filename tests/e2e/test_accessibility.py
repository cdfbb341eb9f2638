"""Keyboard-only use, visible focus, and form errors announced and linked to their fields, in Chromium."""
from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e.conftest import ACCOUNTS, DEMO_PASSWORD, choose_language, run_axe


def test_axe_check_finds_what_it_should(browser):
    # The check the page tests rely on, on a page built to fail it.
    page = browser.new_page()
    try:
        page.set_content('<html><body><img src="x.png"><input type="text">'
                         '<p style="color:#bbb">faint</p></body></html>')
        found = {v["id"]: v["impact"] for v in run_axe(page)}
    finally:
        page.close()
    assert found.get("image-alt") == "critical" and found.get("label") == "critical"
    assert found.get("color-contrast") == "serious" and "html-has-lang" in found


def _focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
        const r = e.getBoundingClientRect();
        return {tag: e.tagName.toLowerCase(), id: e.id, text: (e.innerText || e.value || '').trim(),
                outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
                visible: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth}; }""")


def test_sign_in_with_the_keyboard_alone_with_focus_always_visible(browser, live_server):
    context = browser.new_context(locale="fr-FR", viewport={"width": 320, "height": 640})
    page = context.new_page()
    try:
        page.goto(live_server + "/login")
        choose_language(page, "fr")
        page.keyboard.press("Tab")
        first = _focused(page)
        assert first["text"] == "Aller au contenu" and first["visible"] and first["outline"], first
        page.keyboard.press("Enter")
        assert page.url.endswith("#main")
        seen = []
        for _ in range(8):  # from the skip link's target to the password field
            page.keyboard.press("Tab")
            state = _focused(page)
            assert state["outline"] and state["visible"], state
            seen.append(state["id"])
            if state["id"] == "email":
                page.keyboard.type(ACCOUNTS["delegate"])
            if state["id"] == "password":
                page.keyboard.type(DEMO_PASSWORD)
                page.keyboard.press("Enter")
                break
        assert seen[:2] == ["email", "password"], seen
        page.wait_for_url(lambda url: urlsplit(url).path == "/")  # the #main fragment survives the redirect
        assert page.inner_text("h1").startswith("Bienvenue")
    finally:
        context.close()


def test_form_errors_are_announced_and_lead_to_their_fields(sign_in, live_server):
    context = sign_in("delegate", locale="es-ES")
    page = context.new_page()
    try:
        page.goto(live_server + "/needs/new")
        choose_language(page, "es")
        page.get_by_label("Título").fill("Ley")
        page.get_by_role("button", name="Guardar").click()
        summary = page.locator(".error-summary")
        assert summary.get_attribute("role") == "alert"
        assert "Corrija lo siguiente:" in summary.inner_text()
        # Every error in the summary is a link to its field, and the field names its error for screen readers.
        links = summary.locator("a")
        assert links.count() >= 4
        for i in range(links.count()):
            target = links.nth(i).get_attribute("href").lstrip("#")
            field = page.locator(f"#{target}")
            assert field.count() == 1, target
            described = (field.get_attribute("aria-describedby") or "").split()
            assert f"{target}-error" in described, (target, described)
            assert page.locator(f"#{target}-error").inner_text().strip()
        title = page.locator("#title")
        assert title.get_attribute("aria-invalid") == "true"
        links.first.click()
        assert page.evaluate("document.activeElement.id") == "title"
        violations = [v for v in run_axe(page) if v["impact"] in ("serious", "critical")]
        assert not violations, violations
    finally:
        context.close()
