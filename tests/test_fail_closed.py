"""Errors fail closed (no traceback, SQL or secret in any answer), and `flask check-deploy` guards production."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ProductionConfig
from matchmaker.app import create_app
from matchmaker.extensions import db

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-Xq7vB2pL9zR4mT8wK1nD6yF3hJ5sG0cA-never-shown"
DB_PASSWORD = "db-pa55word-never-shown"
# What no answer may contain: signs of a traceback, of SQL or of the driver, and the secrets themselves.
TELLTALES = ["Traceback", "File \"", "sqlalchemy", "psycopg", "sqlite3", "OperationalError", "SELECT ", "INSERT INTO",
             "Werkzeug Debugger", "RuntimeError", SECRET, DB_PASSWORD, "/work/", "site-packages"]


def _leaks(response) -> list[str]:
    body = response.get_data(as_text=True)
    headers = str(response.headers)
    return [t for t in TELLTALES if t in body or t in headers]


@pytest.fixture
def broken_db_app(monkeypatch, request):
    """Production settings, with the database gone (a closed port, or a file that cannot be opened)."""
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", SECRET)
    monkeypatch.setattr(ProductionConfig, "TRUSTED_HOSTS", ["matchmaker.test"])
    monkeypatch.setattr(ProductionConfig, "MAIL_PASSWORD", "mail-secret")
    url = {"postgresql": f"postgresql+psycopg://matchmaker:{DB_PASSWORD}@127.0.0.1:9/matchmaker",
           "sqlite": "sqlite:////nonexistent-directory/for/sure/matchmaker.db"}[request.param]
    monkeypatch.setattr(ProductionConfig, "SQLALCHEMY_DATABASE_URI", url)
    monkeypatch.setattr(ProductionConfig, "SQLALCHEMY_ENGINE_OPTIONS",
                        {"connect_args": {"connect_timeout": 2}} if request.param == "postgresql" else {})
    return create_app("production")


@pytest.mark.parametrize("broken_db_app", ["postgresql", "sqlite"], indirect=True)
def test_database_down_shows_no_internals(broken_db_app):
    client = broken_db_app.test_client()
    answers = []
    for method, url, kwargs in [("GET", "/", {}), ("GET", "/login", {}), ("GET", "/healthz", {}),
                                ("GET", "/needs/", {}), ("POST", "/login", {"data": {"email": "a@b.c",
                                                                                     "password": "x"}}),
                                ("GET", "/api/v1/needs", {"headers": {"Authorization": "Bearer abc"}}),
                                ("GET", "/api/v1/openapi.json", {})]:
        with client.open(url, method=method, base_url="https://matchmaker.test", **kwargs) as response:
            answers.append((url, response.status_code, _leaks(response)))
    assert all(leaks == [] for _url, _status, leaks in answers), answers
    statuses = dict((url, status) for url, status, _ in answers)
    assert statuses["/healthz"] >= 500  # the health check tells the truth
    assert statuses["/api/v1/needs"] in (401, 500, 503)


def test_exception_inside_a_view_shows_no_internals(production_app):
    @production_app.get("/boom")
    def boom():
        raise RuntimeError(f"SELECT password FROM users -- {production_app.config['SECRET_KEY']}")

    client = production_app.test_client()
    for accept in ("text/html", "application/json"):
        with client.get("/boom", base_url="https://matchmaker.test", headers={"Accept": accept}) as response:
            assert response.status_code == 500
            assert [t for t in TELLTALES + [production_app.config["SECRET_KEY"]]
                    if t in response.get_data(as_text=True)] == []


def test_bad_host_header_is_refused(production_app):
    client = production_app.test_client()
    for host in ("evil.example", "matchmaker.test.evil.example", "evil.example:443", "matchmaker.test@evil.example"):
        with client.get("/login", base_url=f"https://{host}") as response:
            assert response.status_code == 400, host
            assert _leaks(response) == [] and "evil" not in response.headers.get("Location", "")
    with client.get("/login", base_url="https://matchmaker.test") as response:
        assert response.status_code == 200


def test_check_deploy_passes_in_production(production_app):
    with production_app.app_context():
        from flask_migrate import upgrade

        upgrade()
    result = production_app.test_cli_runner().invoke(args=["check-deploy"])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output and "All 11 checks passed." in result.output


def test_check_deploy_fails_on_the_test_settings(app):
    result = app.test_cli_runner().invoke(args=["check-deploy"])
    assert result.exit_code != 0
    for name in ("debug off", "strong secret key", "trusted hosts", "secure session cookie", "CSRF protection on",
                 "password hash parameters", "client addresses through the proxy"):
        assert f"FAIL  {name}" in result.output, name
    for check in ("ok    request size limit", "ok    public address is https", "ok    schema up to date"):
        assert check in result.output


@pytest.mark.parametrize("memory,passes,lanes,ok", [
    (19456, 2, 1, True), (19455, 2, 1, False), (19456, 1, 1, False), (47104, 1, 1, True), (7168, 5, 1, True),
    (65536, 3, 4, True), (1024, 1, 1, False), (19456, 2, 0, False), (19456, "2", 1, False), (True, 2, 1, False)])
def test_hash_parameter_rule(memory, passes, lanes, ok):
    """OWASP's minimum Argon2id configurations, or stronger."""
    from matchmaker.deploy import hash_parameters_ok

    assert hash_parameters_ok({"memory_cost": memory, "time_cost": passes, "parallelism": lanes}) is ok
    assert hash_parameters_ok({}) is False


def test_production_refuses_the_development_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "MATCHMAKER_TEST_DB")}
    env.update(MATCHMAKER_ENV="production", FLASK_APP="wsgi.py", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    result = subprocess.run([sys.executable, "-m", "flask", "check-deploy"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "Refusing to start in production with the development SECRET_KEY" in result.stderr + result.stdout


def test_development_app_is_not_fit_for_production(database_url):
    application = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": False, "DEBUG": True})
    from matchmaker.deploy import deployment_checks

    failed = {c.name for c in deployment_checks(application) if not c.ok}
    assert "debug off" in failed
    with application.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("secret,reason", [
    ("secret", "a known development or test secret"),
    ("Xq7vB2pL9zR4mT8wK1nD6", "21 characters, fewer than 32"),
    ("0123456789abcdef0123456789abcdef", "the same 16 characters repeated"),
    ("abcdefghijklmnopqrstuvwxyz0123456789", "mostly runs of consecutive characters"),
    ("s3cret-" + "k" * 41, "only 8 different characters"),
    ("aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeeefghij", "about"),
    (None, None),
])
def test_production_refuses_a_guessable_secret_and_check_deploy_says_why(secret, reason, monkeypatch, database_url):
    import secrets

    from matchmaker.deploy import deployment_checks, secret_weakness

    secret = secret or secrets.token_urlsafe(36)
    assert secret_weakness(secrets.token_hex(16)) is None and secret_weakness(secrets.token_urlsafe(24)) is None
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", secret)
    monkeypatch.setattr(ProductionConfig, "SQLALCHEMY_DATABASE_URI", database_url)
    if reason is None:
        application = create_app("production")
        assert {c.name: c.ok for c in deployment_checks(application)}["strong secret key"]
        with application.app_context():
            db.engine.dispose()
        return
    assert reason in (secret_weakness(secret) or "")
    with pytest.raises(RuntimeError, match="Refusing to start in production with a guessable SECRET_KEY"):
        create_app("production")
    # check-deploy, on an app whose secret was changed after start, says why it fails.
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", secrets.token_urlsafe(36))
    application = create_app("production")
    application.config["SECRET_KEY"] = secret
    check = {c.name: c for c in deployment_checks(application)}["strong secret key"]
    assert not check.ok and reason in check.detail and "secrets.token_urlsafe" in check.detail
    with application.app_context():
        db.engine.dispose()
