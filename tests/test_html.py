"""Every HTML page the crawl reaches, as every role, is well-formed HTML: html5lib (the WHATWG parsing algorithm)
reports no parse error, no id is used twice on a page (a label, an error link or a form property would point
at the wrong element), and no control inside a form is named like a method of the form element itself (a
control named "matches" hides form.matches(), which scripts such as the accessibility checker call)."""
from __future__ import annotations

from collections import Counter

import html5lib

from tests.helpers import login
from tests.route_matrix import GET_ROUTES, ROLES, session_of

# Methods and collections of a form element that a control of the same name or id would hide (HTMLFormElement,
# Element, Node): scripts call them. Attributes read as text (title, action) are left to the forms' own names.
FORM_PROPERTIES = {"elements", "length", "submit", "reset", "requestSubmit", "checkValidity", "reportValidity",
                   "matches", "closest", "contains", "remove", "append", "getAttribute", "querySelector",
                   "querySelectorAll", "children", "attributes", "parentNode"}


def html_problems(body: str) -> list[str]:
    """Parse errors (with line and column) and duplicated ids of one page."""
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=False)
    tree = parser.parse(body)
    problems = [f"{line}:{col} {code} {data or ''}".strip() for (line, col), code, data in parser.errors]
    for form in tree.iter("form"):
        for element in form.iter():
            for attribute in ("id", "name"):
                if element is not form and element.get(attribute) in FORM_PROPERTIES:
                    value = element.get(attribute)
                    problems.append(f"<{element.tag} {attribute}={value!r}> hides form.{value}")
    ids = Counter(element.get("id") for element in tree.iter() if element.get("id") is not None)
    problems += [f"id {name!r} used {count} times" for name, count in ids.items() if count > 1]
    return problems


def test_the_checker_finds_what_it_looks_for():
    assert html_problems("<!doctype html><html lang=en><head><title>t</title></head>"
                         "<body><p>ok</p></body></html>") == []
    assert any("id 'x' used 2 times" in p for p in html_problems(
        "<!doctype html><title>t</title><p id=x>a</p><p id=x>b</p>"))
    assert html_problems("<!doctype html><title>t</title><div><p>a</span></div>")  # a stray end tag
    assert html_problems("<title>t</title><p>no doctype</p>")
    assert html_problems('<!doctype html><title>t</title><p class="a" class="b">twice</p>')
    assert html_problems('<!doctype html><title>t</title><form><fieldset id="matches"></fieldset></form>')
    assert html_problems('<!doctype html><title>t</title><form><input name="matches"></form>')


def test_every_page_parses_without_errors_and_has_unique_ids(app, world, monkeypatch):
    world["ids"].update(session_of(world, "session"), **session_of(world, "held_session"))
    found, checked = {}, 0
    for role in ROLES:
        client = app.test_client()
        monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
        if role != "anon":
            assert login(client, world["users"][role]).status_code == 302
        # The pages as users get them: with the CSRF fields the test configuration leaves out.
        monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
        for template, _expected in GET_ROUTES:
            url = template.format(**world["ids"])
            with client.get(url) as response:
                if response.mimetype != "text/html":
                    continue
                body = response.get_data(as_text=True)
            checked += 1
            problems = html_problems(body)
            if problems:
                found.setdefault(url, (role, problems[:5]))
    assert checked > 150
    assert found == {}, found


def test_every_page_links_an_icon_that_is_served(app, client):
    """No 404 for the icon on a first visit: the page names one, and /favicon.ico answers too."""
    body = client.get("/login").get_data(as_text=True)
    tree = html5lib.parse(body, namespaceHTMLElements=False)
    icons = [link.get("href") for link in tree.iter("link") if "icon" in (link.get("rel") or "").split()]
    assert icons and all(href.startswith("/static/") for href in icons), icons
    for href in icons + ["/favicon.ico"]:
        with client.get(href) as response:
            assert response.status_code == 200 and response.mimetype == "image/svg+xml", href
            assert b"<svg" in response.get_data()
