"""The /api/v1/ endpoints: the same services, roles and object rules as the web pages, behind personal tokens. The
endpoints live in api/reference, offerings, needs and matches; this module sets the API up and documents it."""
from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import Flask, current_app, render_template, request
from flask_smorest import Api
from werkzeug.exceptions import MethodNotAllowed

from matchmaker.api import matches, needs, offerings, reference, schemas  # noqa: F401  (their routes join bp)
from matchmaker.api.common import bp
from matchmaker.errors import render_http_error
from matchmaker.extensions import csrf

# The human-readable documentation, rendered on the server from the OpenAPI description.
pages = FlaskBlueprint("api_pages", __name__, url_prefix="/api/v1")


class MatchmakerApi(Api):
    """flask-smorest's Api. It answers HTTP errors app-wide with ``handle_http_exception``: the API blueprint's own
    handlers (api/errors.py) answer its requests first, and everything else keeps the site's error pages."""

    ERROR_SCHEMA = schemas.ErrorSchema

    def handle_http_exception(self, error):
        return render_http_error(error)


def init_api(app: Flask) -> None:
    """Configure the OpenAPI description and register the API and its documentation page."""
    app.config.setdefault("API_TITLE", "TA Matchmaker API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Partner organisations keep their programmes in their own systems: this API lets "
                                "them create, update, publish and close offerings, and read the open needs that "
                                "fit them (anonymised as on the web). Delegates manage their member's needs. "
                                "Both parties answer the introductions a facilitator made and record what "
                                "followed (meeting and outcome, agreement, delivery, completion). "
                                "Authenticate with a personal token created on the account page: "
                                "`Authorization: Bearer <token>`."},
        "security": [{"bearerAuth": []}],
        "servers": [{"url": "/"}],
    })
    api = MatchmakerApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(bp)
    # The API reads no cookie: a request is authenticated by its token alone, so a forged cross-site request
    # carries no credentials and CSRF tokens have nothing to protect.
    csrf.exempt(bp)
    app.register_blueprint(pages)
    app.extensions["matchmaker-api"] = api
    app.after_request(_allow_header)


def _allow_header(response):
    """A 405 names the methods the URL does support (RFC 9110), also when an error page replaced the response."""
    routing = request.routing_exception
    if response.status_code == 405 and "Allow" not in response.headers and isinstance(routing, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(sorted(routing.valid_methods or []))
    return response


@pages.get("/docs")
def docs():
    """The API described for people, from the same OpenAPI description programs read."""
    spec = current_app.extensions["matchmaker-api"].spec.to_dict()
    return render_template("api/docs.html", spec=spec)
