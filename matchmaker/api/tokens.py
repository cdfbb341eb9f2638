"""Personal API tokens: create (the secret is shown once), find the user a token belongs to, revoke."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from matchmaker.errors import DomainError, NotPermitted
from matchmaker.extensions import db
from matchmaker.models import ApiToken, User
from matchmaker.models.base import utcnow
from matchmaker.permissions import can
from matchmaker.services.accounts import with_signed_in_user
from matchmaker.services.audit import record

TOKEN_PREFIX = "mmk_"  # noqa: S105  # a public prefix, not a secret  # nosec B105
MAX_ACTIVE_TOKENS = 20
# last_used_at is written at most this often, so that reading the API does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(actor: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``actor``; returns the row and the secret, which is never stored and cannot be shown again."""
    if not can(actor, "api_token.create"):
        raise NotPermitted(_("You may not create API tokens."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the token a name, so that you can tell it apart later."))
    active = db.session.scalar(select(func.count(ApiToken.id)).where(ApiToken.user_id == actor.id,
                                                                     ApiToken.revoked_at.is_(None)))
    if active >= MAX_ACTIVE_TOKENS:
        raise DomainError(_("You have %(n)d active tokens already; revoke one you no longer use first.",
                            n=MAX_ACTIVE_TOKENS))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.id, name=name[:80], token_hash=hash_token(secret), prefix=secret[:12])
    db.session.add(token)
    db.session.flush()
    record(actor, "api_token.created", token, name=token.name, prefix=token.prefix)
    return token, secret


def revoke_token(actor: User, token: ApiToken) -> None:
    """Revoke one of the actor's tokens; programs using it are refused from then on."""
    if not can(actor, "api_token.revoke", token):
        raise NotPermitted(_("You may not revoke this token."))
    if token.revoked_at is not None:
        raise DomainError(_("This token was already revoked."))
    token.revoked_at = utcnow()
    record(actor, "api_token.revoked", token, name=token.name, prefix=token.prefix)


def user_for_token(secret: str | None, touch: bool = True) -> User | None:
    """The active user a live token belongs to, else None; notes when the token was last used (unless ``touch`` is
    False: then the lookup writes nothing)."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).options(*with_signed_in_user(ApiToken.user))
                              .where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked_at is not None:
        return None
    user = token.user
    if user is None or not user.active:
        return None
    now = utcnow()
    if touch and (token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION):
        token.last_used_at = now
    return user


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())))
