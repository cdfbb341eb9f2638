"""Domain exceptions raised by services, and the HTTP error handlers that render them."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Conflict, HTTPException, RequestEntityTooLarge, SecurityError

from matchmaker.extensions import db
from matchmaker.uploads import too_large_message


class DomainError(Exception):
    """A rule of the service was broken; the message is shown to the user."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field          # the form field the rule is about, when there is one


class TransitionNotAllowed(DomainError):
    """The record is not in a state from which this action can be taken."""

    status_code = 409


class NotPermitted(DomainError):
    """The acting user may not do this to this record."""

    status_code = 403


class ConcurrentUpdate(DomainError):
    """Someone else changed the record first."""

    status_code = 409


class InvalidCredentials(DomainError):
    """Wrong e-mail or password (deliberately not saying which)."""

    status_code = 401


class LoginThrottled(DomainError):
    """Too many failed sign-ins for this device, account, address or pair of them (services/throttle.py)."""

    status_code = 429

    def __init__(self, message: str, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after  # a timedelta: when trying again makes sense


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_http_error(error: HTTPException):
    """An HTTP error as the site shows it: its error page, or a short JSON body for API paths and JSON clients."""
    db.session.rollback()
    if isinstance(error, SecurityError):
        # An untrusted Host header: no URL can be built for it, so no page either; say only that it is refused.
        return _("The request could not be understood"), 400, {"Content-Type": "text/plain; charset=utf-8"}
    if isinstance(error, RequestEntityTooLarge):  # also when Werkzeug stops reading a longer body than announced
        error.description = too_large_message()
    if _wants_json():
        return {"error": error.name, "message": error.description}, error.code
    return render_template("errors/error.html", error=error), error.code


def register_error_handlers(app: Flask) -> None:
    """Render every HTTP error with the site layout and roll back whatever the request left half-done."""
    app.register_error_handler(HTTPException, render_http_error)

    @app.errorhandler(StaleDataError)
    def handle_stale(error: StaleDataError):
        # Two saves of the same record crossed; the later one is refused rather than overwriting the other.
        db.session.rollback()
        if _wants_json():
            return {"error": "Conflict", "message": _("The record was changed by someone else; reload it.")}, 409
        return render_template("errors/error.html", error=Conflict(_("The record was changed by someone else; "
                                                                      "reload it and try again."))), 409

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return {"error": "Internal Server Error", "message": _("Something went wrong on our side.")}, 500
        return render_template("errors/500.html"), 500
