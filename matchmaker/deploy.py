"""What `flask check-deploy` verifies before the service goes live: each check says what it found."""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from config import DEV_SECRET_KEY
from matchmaker.extensions import db

# Known secrets that must never protect a live service.
WEAK_SECRETS = {DEV_SECRET_KEY, "testing-secret-key", "secret", "changeme", "change-me", ""}
MIN_SECRET_LENGTH = 32
# An estimate: at least 70 for every one of 50,000 secrets.token_hex(16) tried, 27 for "aaaa...bbbb...".
MIN_SECRET_BITS = 64
HOW_TO_MAKE_ONE = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
# OWASP's Password Storage Cheat Sheet: Argon2id with one of these (memory in KiB, passes) or more, 1 lane.
ARGON2_MINIMUMS = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))
MAX_UPLOAD = 16 * 1024 * 1024


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _shortest_period(text: str) -> int:
    """The length of the shortest unit the text repeats ("abcabcab" -> 3; a text that repeats nothing -> its length)."""
    border, borders = 0, [0] * len(text)
    for i in range(1, len(text)):
        while border and text[i] != text[border]:
            border = borders[border - 1]
        border += text[i] == text[border]
        borders[i] = border
    return len(text) - (borders[-1] if text else 0)


def _estimated_bits(text: str) -> float:
    """Shannon entropy of the text's characters, counted for each character that differs from the one before (a
    run such as "aaaa" adds nothing after its first): an estimate that patterns do not inflate."""
    counts = Counter(text)
    per_character = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    changes = 1 + sum(a != b for a, b in pairwise(text))
    return per_character * changes


def secret_weakness(secret: str) -> str | None:
    """Why this SECRET_KEY is guessable (short, few different characters, a repeated pattern, a run such as
    0123... or abcd..., little entropy), or None when it is not."""
    if secret in WEAK_SECRETS:
        return "a known development or test secret"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"{len(secret)} characters, fewer than {MIN_SECRET_LENGTH}"
    if len(set(secret)) < 9:  # a random 32-character hexadecimal secret has 9 or more but once in a million
        return f"only {len(set(secret))} different characters"
    period = _shortest_period(secret)
    if period <= len(secret) // 2:
        return f"the same {period} characters repeated"
    steps = sum(abs(ord(b) - ord(a)) == 1 for a, b in pairwise(secret))
    if steps >= (len(secret) - 1) / 2:
        return "mostly runs of consecutive characters (0123..., abcd...)"
    bits = _estimated_bits(secret)
    if bits < MIN_SECRET_BITS:
        return f"about {bits:.0f} bits of entropy, fewer than {MIN_SECRET_BITS}"
    return None


def hash_parameters_ok(parameters: dict) -> bool:
    """Argon2id parameters (PASSWORD_ARGON2) at or above one of OWASP's minimum configurations."""
    memory, passes, lanes = (parameters.get(k) for k in ("memory_cost", "time_cost", "parallelism"))
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (memory, passes, lanes)):
        return False
    return any(memory >= minimum_memory and passes >= minimum_passes
               for minimum_memory, minimum_passes in ARGON2_MINIMUMS)


def hash_parameters(parameters: dict) -> str:
    return "Argon2id m={} KiB, t={}, p={}".format(
        *(parameters.get(k) for k in ("memory_cost", "time_cost", "parallelism")))


def deployment_checks(app: Flask) -> list[Check]:
    """Every setting a production deployment depends on, with what it is now."""
    c = app.config
    secret = c.get("SECRET_KEY") or ""
    weakness = secret_weakness(secret)
    hosts = c.get("TRUSTED_HOSTS") or []
    limit = c.get("MAX_CONTENT_LENGTH")
    name = c.get("SESSION_COOKIE_NAME") or ""
    samesite = (c.get("SESSION_COOKIE_SAMESITE") or "").lower()
    checks = [
        Check("debug off", not app.debug and not app.testing, f"DEBUG={app.debug}, TESTING={app.testing}"),
        Check("strong secret key", weakness is None,
              f"{len(secret)} characters" + (f": {weakness}; make one with {HOW_TO_MAKE_ONE}" if weakness else "")),
        Check("trusted hosts", bool(hosts) and "*" not in hosts and all(h.strip() for h in hosts),
              "TRUSTED_HOSTS=" + (",".join(hosts) if hosts else "(unset: any Host header is answered)")),
        Check("request size limit", isinstance(limit, int) and 0 < limit <= MAX_UPLOAD, f"MAX_CONTENT_LENGTH={limit}"),
        Check("secure session cookie", bool(c.get("SESSION_COOKIE_SECURE")) and bool(c.get("SESSION_COOKIE_HTTPONLY"))
              and samesite in ("lax", "strict") and name.startswith("__Host-") and not c.get("SESSION_COOKIE_DOMAIN")
              and (c.get("SESSION_COOKIE_PATH") or "/") == "/",
              f"name={name}, Secure={c.get('SESSION_COOKIE_SECURE')}, HttpOnly={c.get('SESSION_COOKIE_HTTPONLY')}, "
              f"SameSite={c.get('SESSION_COOKIE_SAMESITE')}"),
        Check("CSRF protection on", c.get("WTF_CSRF_ENABLED", True) and "csrf" in app.extensions,
              f"WTF_CSRF_ENABLED={c.get('WTF_CSRF_ENABLED', True)}"),
        Check("password hash parameters", hash_parameters_ok(c.get("PASSWORD_ARGON2") or {}),
              hash_parameters(c.get("PASSWORD_ARGON2") or {})),
        Check("client addresses through the proxy", (c.get("TRUSTED_PROXIES") or 0) >= 1,
              f"TRUSTED_PROXIES={c.get('TRUSTED_PROXIES') or 0}" + ("" if c.get("TRUSTED_PROXIES") else
                                                                    " (every client has the proxy's address)")),
        Check("public address is https", bool(re.match(r"^https://[^/\s]+", c.get("BASE_URL", ""))),
              "BASE_URL=" + c.get("BASE_URL", "")),
    ]
    checks.extend(_database_checks(app))
    return checks


def _database_checks(app: Flask) -> list[Check]:


    with app.app_context():
        try:
            with db.engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        except SQLAlchemyError as error:
            return [Check("database reachable", False, type(error).__name__)]
        migrate = app.extensions["migrate"]
        config = migrate.migrate.get_config(migrate.directory)
        head = ScriptDirectory.from_config(config).get_current_head()
        return [Check("database reachable", True, db.engine.dialect.name),
                Check("schema up to date", current == head, f"database at {current}, code at {head}")]
