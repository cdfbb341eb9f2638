"""Configuration classes; every setting that differs between machines comes from the environment."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
# Reviewed: a development default, refused in production (create_app, flask check-deploy).
DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105  # nosec B105


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'matchmaker.db'}")
    # Heroku-style and bare postgres:// URLs name the psycopg 3 driver explicitly.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # A pooled connection idle for longer than this is checked before use (a server restart or an idle timeout may
    # have closed it); one used more recently is trusted: SQLAlchemy's pool_pre_ping checked every one, a round trip
    # per request that cost 8 % of the workers' time in the load test (matchmaker/app.py, _ping_if_idle).
    DATABASE_PING_AFTER_SECONDS = float(os.environ.get("DATABASE_PING_AFTER_SECONDS", "10"))
    # Public address of the service: links in e-mails are built from it, never from the Host header.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    SERVER_NAME = None

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "TA Matchmaker <no-reply@localhost>")

    # OWASP's first choice for password storage: Argon2id, in the least memory of OWASP's five equivalent minimum
    # configurations (7 MiB, 5 passes, 1 lane; the others trade memory for passes: 19 MiB and 2, 46 MiB and 1). Here
    # 14.5 ms of CPU per verification against 18.7 ms for 19 MiB and 2 passes, and 7 MiB written instead of 19 evicts
    # less of the other workers' cached memory. PBKDF2-SHA256 at 600,000 iterations cost 184 ms. Older hashes (PBKDF2,
    # or Argon2 with other parameters) are still verified and replaced at the next sign-in.
    PASSWORD_ARGON2 = {"memory_cost": 7 * 1024, "time_cost": 5, "parallelism": 1}
    PASSWORD_MIN_LENGTH = 10
    INVITE_MAX_AGE = int(timedelta(days=7).total_seconds())
    RESET_MAX_AGE = int(timedelta(hours=1).total_seconds())

    # Sign-in throttling (services/throttle.py), counted in the database so it holds across gunicorn workers. Within
    # the window: a device that signed in to the account before is locked after its own failures only; unknown
    # devices wait longer after each failure beyond the free ones of an account and address pair (2, 4, 8 ... s),
    # are refused for an account after its failures from unknown devices, and from an address after its failures.
    LOGIN_WINDOW_SECONDS = 15 * 60
    LOGIN_MAX_FAILURES_PER_DEVICE = 5
    LOGIN_FREE_FAILURES = 3
    LOGIN_FIRST_DELAY_SECONDS = 2
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 10
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    # The device cookie: the user and a random nonce, signed; a browser that signed in keeps it this long.
    DEVICE_COOKIE_NAME = "device"
    DEVICE_COOKIE_MAX_AGE = int(timedelta(days=180).total_seconds())

    SESSION_IDLE_TIMEOUT = int(timedelta(hours=2).total_seconds())
    SESSION_ABSOLUTE_TIMEOUT = int(timedelta(hours=12).total_seconds())
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)

    # The largest request a page takes (matchmaker/uploads.py, checked before the body is read); the import pages
    # take files of up to IMPORT_MAX_BYTES.
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    IMPORT_MAX_BYTES = 10 * 1024 * 1024
    # How many proxies in front of gunicorn add X-Forwarded-For (and -Proto): 1 behind one HTTPS proxy. The client's
    # address (sign-in throttling, sessions) is read that many hops back; 0 ignores the headers, which anyone can send.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Host names the service answers to (comma-separated); any other Host header gets 400. Empty: any host
    # (development and tests); `flask check-deploy` requires it in production.
    TRUSTED_HOSTS = [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()] or None
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session; sessions have their own timeouts

    # Matching: a proposal needs at least this score; each need gets up to this many proposals,
    # chosen from this many candidates. Measured on the demo data and the devset (see benchmarks/).
    MATCH_THRESHOLD = float(os.environ.get("MATCH_THRESHOLD", "0.15"))
    MATCH_PER_NEED = int(os.environ.get("MATCH_PER_NEED", "3"))
    MATCH_CANDIDATES = int(os.environ.get("MATCH_CANDIDATES", "10"))
    # A need without proposal shows facilitators its best eligible programmes scoring at least this much (an LDC's
    # need also its best eligible programme sharing a policy area, whatever its score).
    MATCH_NEAR_MISS = float(os.environ.get("MATCH_NEAR_MISS", "0.05"))
    # Where the fitted matching index is saved for every worker to start from (default: instance/match-index)
    MATCH_INDEX_DIR = os.environ.get("MATCH_INDEX_DIR", "")

    # The dashboard and the public report are recomputed when the data change, and at least this often.
    REPORT_CACHE_SECONDS = int(os.environ.get("REPORT_CACHE_SECONDS", "300"))

    BABEL_DEFAULT_LOCALE = "en"
    # Absolute, so that the catalogues are found whatever the working directory (gunicorn, flask CLI, tests).
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = ("en", "fr", "es")
    PER_PAGE = 20


class DevelopmentConfig(Config):
    """Local use with `make run`."""


class TestingConfig(Config):
    """The test suite: a throwaway database, fast hashes, CSRF off unless a test turns it on."""

    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105  # the test suite only  # nosec B105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    PASSWORD_ARGON2 = {"memory_cost": 1024, "time_cost": 1, "parallelism": 1}  # tests only, for speed
    REPORT_CACHE_SECONDS = 0  # each test sees its own data


class ProductionConfig(Config):
    """Behind HTTPS; refuses to start with the development secret."""

    DEBUG = False
    SESSION_COOKIE_SECURE = True
    # __Host-: the browser keeps it only if it is Secure, has Path=/ and no Domain, so no sibling subdomain
    # can plant or overwrite it.
    SESSION_COOKIE_NAME = "__Host-session"
    SESSION_COOKIE_PATH = "/"
    DEVICE_COOKIE_NAME = "__Host-device"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
