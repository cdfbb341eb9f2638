"""What no text typed or imported into the service may hold: one rule for the forms (forms.BaseForm), the API
(api/schemas.text) and the imports (CSV cells, IATI narratives).

- Control characters other than tab, newline and carriage return: never meaningful in our texts, and PostgreSQL
  refuses NUL outright.
- The bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): invisible, they make a text
  display differently from what it holds (a right-to-left override turns "fdp.exe" round), a spoofing tool."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

CONTROL_CHARACTERS = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f"
BIDI_CONTROLS = "\\u202a-\\u202e\\u2066-\\u2069"
CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# The same rule as one pattern a whole text must match (the OpenAPI description publishes it).
ALLOWED_TEXT = f"^[^{CONTROL_CHARACTERS}{BIDI_CONTROLS}]*$"

CONTROL_MESSAGE = _l("Remove the invisible control characters from this text.")
BIDI_MESSAGE = _l("Remove the invisible direction controls (right-to-left or left-to-right overrides, embeddings "
                  "or isolates) from this text: they make it display differently from what it holds.")


def text_problem(value: str):
    """Why this text is refused (a message for the user), or None when it may be stored."""
    if CONTROL.search(value):
        return CONTROL_MESSAGE
    if BIDI.search(value):
        return BIDI_MESSAGE
    return None
