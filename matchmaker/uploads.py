"""How large a request each page takes, checked before anything reads the body (the CSRF check included).

Every page takes MAX_CONTENT_LENGTH (2 MB); a view marked @accepts_upload("SETTING") takes the file size that
setting names (IMPORT_MAX_BYTES: 10 MB on the import pages), plus room for the form around the file."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

FORM_ROOM = 64 * 1024  # the multipart envelope and the other fields of an upload form


def accepts_upload(setting: str) -> Callable:
    """Mark a view as taking a file of up to ``current_app.config[setting]`` bytes."""

    def decorator(view):
        view.upload_setting = setting
        return view

    return decorator


def declared_limit() -> int:
    """The size this request's page says it takes (the file's, on an upload page)."""
    view = current_app.view_functions.get(request.endpoint or "")
    setting = getattr(view, "upload_setting", None)
    return int(current_app.config[setting] if setting else current_app.config["MAX_CONTENT_LENGTH"])


def too_large_message() -> str:
    size = declared_limit()
    shown = (_("%(size)s MB", size=format_decimal(round(size / 1024 / 1024, 1))) if size >= 1024 * 1024
             else _("%(size)s KB", size=format_decimal(max(1, size // 1024))))
    return _("The upload is larger than %(size)s, the most this page takes. Split the file into smaller ones, or "
             "shorten the text.", size=shown)


def refuse_too_large() -> None:
    """A before_request hook: set this page's limit, and refuse a body announced larger at once, unread."""
    view = current_app.view_functions.get(request.endpoint or "")
    room = FORM_ROOM if getattr(view, "upload_setting", None) else 0
    request.max_content_length = declared_limit() + room
    if (request.content_length or 0) > request.max_content_length:
        raise RequestEntityTooLarge(too_large_message())


def register(app: Flask) -> None:
    """Call before CSRFProtect.init_app: before_request hooks run in the order they were registered."""
    app.before_request(refuse_too_large)
