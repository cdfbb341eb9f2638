"""Sending e-mail through SMTP when it is configured."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session


def mail_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send a plain-text message; returns False (and logs) when SMTP is not configured or fails."""
    config = current_app.config
    if not mail_configured():
        current_app.logger.info("Mail not configured; message to %s not sent: %s", to, subject)
        return False
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        current_app.logger.exception("Could not send mail to %s", to)
        return False
    return True


# Mail that belongs to a database change goes out only once the change is committed: nothing is announced that a
# rollback then undoes, and no write lock is held while an SMTP server answers.
_OUTBOX = "matchmaker_outbox"


def send_after_commit(session, to: str, subject: str, body: str, on_sent=None) -> None:
    """Queue a message on the session; it is sent after the next commit (and dropped on rollback).

    ``on_sent(ok)`` runs after the attempt, outside the committed transaction (e.g. to record that it went out).
    """
    session.info.setdefault(_OUTBOX, []).append((current_app._get_current_object(), to, subject, body, on_sent))


def _flush_outbox(session) -> None:
    outbox = session.info.pop(_OUTBOX, None)
    for app, to, subject, body, on_sent in outbox or ():
        with app.app_context():
            ok = send_mail(to, subject, body)
            if on_sent is not None:
                on_sent(ok)


def _drop_outbox(session, _transaction=None) -> None:
    session.info.pop(_OUTBOX, None)


def register_outbox() -> None:
    if not event.contains(Session, "after_commit", _flush_outbox):
        event.listen(Session, "after_commit", _flush_outbox)
        event.listen(Session, "after_soft_rollback", _drop_outbox)
