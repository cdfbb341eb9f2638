"""What `flask check-deploy` verifies before the service goes live: each check says what it found."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask

from config import DEV_SECRET_KEY

# Known secrets that must never protect a live service.
WEAK_SECRETS = {DEV_SECRET_KEY, "testing-secret-key", "secret", "changeme", "change-me", ""}
MIN_PBKDF2_ITERATIONS = 600_000  # OWASP 2023, PBKDF2-HMAC-SHA256
MIN_SCRYPT_N = 2**17
MAX_UPLOAD = 16 * 1024 * 1024


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def hash_parameters_ok(method: str) -> bool:
    """PBKDF2 with at least 600,000 iterations or scrypt with N >= 2^17 (werkzeug's method strings)."""
    parts = method.split(":")
    if parts[0] == "pbkdf2":
        iterations = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
        return len(parts) > 1 and parts[1] in ("sha256", "sha512") and iterations >= MIN_PBKDF2_ITERATIONS
    if parts[0] == "scrypt":
        n = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 2**15  # werkzeug's default N
        return n >= MIN_SCRYPT_N
    return False


def deployment_checks(app: Flask) -> list[Check]:
    """Every setting a production deployment depends on, with what it is now."""
    c = app.config
    secret = c.get("SECRET_KEY") or ""
    hosts = c.get("TRUSTED_HOSTS") or []
    limit = c.get("MAX_CONTENT_LENGTH")
    name = c.get("SESSION_COOKIE_NAME") or ""
    samesite = (c.get("SESSION_COOKIE_SAMESITE") or "").lower()
    checks = [
        Check("debug off", not app.debug and not app.testing, f"DEBUG={app.debug}, TESTING={app.testing}"),
        Check("strong secret key", secret not in WEAK_SECRETS and len(secret) >= 32 and len(set(secret)) >= 10,
              f"{len(secret)} characters" + (" (a known development or test secret)" if secret in WEAK_SECRETS else "")),
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
        Check("password hash parameters", hash_parameters_ok(c.get("PASSWORD_HASH_METHOD", "")),
              c.get("PASSWORD_HASH_METHOD", "")),
        Check("public address is https", bool(re.match(r"^https://[^/\s]+", c.get("BASE_URL", ""))),
              "BASE_URL=" + c.get("BASE_URL", "")),
    ]
    checks.extend(_database_checks(app))
    return checks


def _database_checks(app: Flask) -> list[Check]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from matchmaker.extensions import db

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
