"""The API's JSON error bodies: {"error", "message", "errors"} for every refusal, from the API's own handlers."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from matchmaker.errors import DomainError, NotPermitted
from matchmaker.extensions import db

ERRORS = {
    400: _l("The request body is not valid JSON."),
    401: _l("No valid API token: send 'Authorization: Bearer <token>' with a token from your account page."),
    403: _l("Your role or organisation may not do this to this record."),
    404: _l("There is no such record."),
    409: _l("The record is not in a state where this can be done, or it changed since you read it."),
    422: _l("Some fields are missing or invalid; see the messages per field."),
}
_LOCATIONS = ("json", "query", "path", "form", "headers")


def _field_name(key: Any, prefix: str) -> str:
    if not prefix and key in _LOCATIONS:
        return ""
    if key == "_schema":
        return prefix or "body"
    return f"{prefix}.{key}" if prefix else str(key)


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow messages ({"json": {"field": {0: [...]}}}) as {"field.0": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        parts = [flatten(value, _field_name(key, prefix)) for key, value in messages.items()]
    elif isinstance(messages, (list, tuple)):
        parts = [flatten(item, prefix) if isinstance(item, (dict, list, tuple)) else {prefix or "body": [str(item)]}
                 for item in messages]
    else:
        parts = [{prefix or "body": [str(messages)]}]
    for part in parts:
        for field, texts in part.items():
            flat.setdefault(field, []).extend(texts)
    return flat


def error_response(status: int, message: str | None = None, errors: dict | None = None):
    body: dict[str, Any] = {"error": HTTP_STATUS_CODES.get(status, "Error"),
                            "message": str(message or ERRORS.get(status) or _("Error."))}
    if errors:
        body["errors"] = errors
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else {}
    return body, status, headers


def handle_http_error(error: HTTPException):
    db.session.rollback()
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or (flatten(data["messages"]) if "messages" in data else None)
    if error.code == 400 and errors:
        return error_response(400, _("The request body is not valid JSON."), errors)
    message = data.get("message") or (error.description if error.code not in ERRORS else None)
    response = error_response(error.code or 500, message, errors)
    if error.code == 405:
        response[2]["Allow"] = ", ".join(error.valid_methods or [])
    return response


def handle_too_deep(_error: RecursionError):
    # A body of thousands of nested brackets exhausts the JSON decoder's recursion: for us it is not valid JSON.
    db.session.rollback()
    return error_response(400, None, {"body": [str(ERRORS[400])]})


def handle_domain_error(error: DomainError):
    db.session.rollback()
    if isinstance(error, NotPermitted):
        return error_response(403, error.message)
    if error.field:  # a refused value (a deadline in the past...): named, as a schema error would be
        return error_response(422, error.message, {error.field: [error.message]})
    return error_response(409, error.message)


def register_error_handlers(blueprint: Blueprint) -> None:
    """The API blueprint's own handlers: its requests get JSON bodies, the web pages keep theirs."""
    blueprint.register_error_handler(HTTPException, handle_http_error)
    blueprint.register_error_handler(RecursionError, handle_too_deep)
    blueprint.register_error_handler(DomainError, handle_domain_error)
